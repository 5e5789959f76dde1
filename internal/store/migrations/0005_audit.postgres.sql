-- The tamper-evident audit log (internal/audit, docs/audit.md). Keep in
-- step with 0005_audit.sqlite.sql: the two differ in the key type, the
-- type checks SQLite needs (its columns take any type unless told) and the
-- spelling of the hexadecimal checks.

-- One row per audit record, appended in one linear hash chain and never
-- changed. The store only persists; internal/audit computes every hash and
-- checks the chain, so nothing here is trusted on its own.
CREATE TABLE audit_log (
    -- 1, 2, 3, … without gaps: a missing number is a removed record. Set
    -- by the appender under the head's lock, not by a sequence (which
    -- leaves gaps on rollback).
    seq       BIGINT  PRIMARY KEY CHECK (seq >= 1),
    -- The hash encoding's version (docs/audit.md); 1 today.
    version   INTEGER NOT NULL CHECK (version >= 1),
    -- Unix microseconds, UTC.
    at        BIGINT  NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    outcome   TEXT    NOT NULL,
    -- A NemID error code such as LOCK001, or '' for none.
    code      TEXT    NOT NULL,
    -- A JSON object of strings, written and read by internal/audit.
    detail    TEXT    NOT NULL,
    -- Lower-case hexadecimal SHA-256 values: the previous record's hash
    -- (64 zeros before the first) and this record's.
    prev_hash TEXT COLLATE "C" NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash      TEXT COLLATE "C" NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);

-- The end of the chain, in one row that every append locks first: appends
-- from any number of goroutines and processes are serialised on it, so the
-- chain never forks. Verify also checks the log against it, which catches a
-- log cut short without the head moved back (docs/audit.md: what it cannot).
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL CHECK (seq >= 0),
    hash TEXT COLLATE "C" NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);
-- Before the first record: seq 0 and the genesis hash, 64 zeros.
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
