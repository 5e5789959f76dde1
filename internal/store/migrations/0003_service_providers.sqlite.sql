-- Service providers, the CPR numbers behind OCES identities, and the
-- answered PID/RID-CPR queries. Keep in step with
-- 0003_service_providers.postgres.sql: the two differ in byte, boolean,
-- key-generation and collation types, and in a column of the cpr_queries
-- indexes that only SQLite needs (see there).

-- One row per service-provider agreement. Rows are never deleted: an SPID,
-- a name and a certificate, once registered, always mean this agreement
-- (RequestIssuer in old signatures, serviceId in old CPR logs).
CREATE TABLE service_providers (
    -- The SPID. AUTOINCREMENT, so that an id is never handed out twice,
    -- even if the highest row were ever removed by hand.
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL,
    -- The name case-folded in Go (store.foldName), unique: the engines'
    -- own lower() disagree outside ASCII (SQLite's only knows ASCII).
    name_key         TEXT    NOT NULL UNIQUE,
    -- A JSON array of origins: always read and written with the row, never searched.
    origins          TEXT    NOT NULL,
    cert_der         BLOB    NOT NULL,
    cert_sha256      TEXT    NOT NULL UNIQUE CHECK (length(cert_sha256) = 64),
    subject          TEXT    NOT NULL,
    -- SQLite has no boolean type: 0 or 1, as the driver writes Go bools.
    allow_cpr_match  BOOLEAN NOT NULL CHECK (allow_cpr_match IN (0, 1)),
    allow_cpr_lookup BOOLEAN NOT NULL CHECK (allow_cpr_lookup IN (0, 1)),
    created_at       BIGINT  NOT NULL,
    disabled_at      BIGINT, -- NULL while the agreement is active
    -- Looking a CPR number up is a wider right than matching one.
    CHECK (allow_cpr_match OR NOT allow_cpr_lookup)
);

-- Which CPR number an OCES identity ("PID:…", "CVR:…-RID:…") belongs to.
-- One CPR per identity; one person may have several identities (a PID and
-- a RID in each company that employs them).
CREATE TABLE cpr_links (
    identity   TEXT   PRIMARY KEY,
    cpr        TEXT   NOT NULL CHECK (length(cpr) = 10),
    created_at BIGINT NOT NULL
);

-- Every answered PID/RID-CPR match or look-up, kept to detect systematic
-- searching (status 16, BRUTE_FORCE_ATTEMPT_DETECTED).
CREATE TABLE cpr_queries (
    sp         BIGINT  NOT NULL REFERENCES service_providers (id),
    identity   TEXT    NOT NULL,
    failed     BOOLEAN NOT NULL CHECK (failed IN (0, 1)),
    queried_at BIGINT  NOT NULL
);
-- CPRQueryCounts counts only failed queries, so the indexes hold only those
-- (partial) and the count is read from an index range alone: an SP's
-- failures since a time, in all and for one identity. The trailing failed
-- column is for SQLite alone, which reads the table for a column named in
-- the query unless the index holds it, even one the index's WHERE fixes.
CREATE INDEX cpr_queries_failed_sp ON cpr_queries (sp, queried_at, failed) WHERE failed;
CREATE INDEX cpr_queries_failed_identity ON cpr_queries (sp, identity, queried_at, failed) WHERE failed;
