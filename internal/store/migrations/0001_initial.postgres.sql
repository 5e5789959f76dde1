-- The first schema: the installation, its authorities, every issued
-- certificate with its status, and the CRL partition allocator.
-- Times are unix microseconds (UTC). Keep in step with 0001_initial.sqlite.sql:
-- the two differ only in byte and collation types. COLLATE "C" makes text
-- keys order by bytes, as SQLite does, whatever the database's locale.

CREATE TABLE installation (
    id          INTEGER PRIMARY KEY CHECK (id = 1), -- one row, ever
    environment TEXT    NOT NULL,
    config      BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE cas (
    name       TEXT COLLATE "C" PRIMARY KEY,
    kind       TEXT   NOT NULL CHECK (kind IN ('root', 'issuing', 'ocsp')),
    cert_der   BYTEA  NOT NULL,
    key_ref    TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE certificates (
    serial        TEXT COLLATE "C" PRIMARY KEY,
    issuer        TEXT COLLATE "C" NOT NULL,
    profile       TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    not_before    BIGINT  NOT NULL,
    not_after     BIGINT  NOT NULL,
    crl_partition INTEGER NOT NULL CHECK (crl_partition >= 0), -- 0: in no partition (e.g. the OCSP responder)
    der           BYTEA   NOT NULL,
    issued_at     BIGINT  NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('good', 'revoked')),
    revoked_at    BIGINT,
    reason        INTEGER CHECK (reason IN (0, 1, 2, 3, 4, 5, 9, 10)),
    -- A revocation always has its time and reason; a good certificate has neither.
    CHECK ((status = 'good' AND revoked_at IS NULL AND reason IS NULL)
        OR (status = 'revoked' AND revoked_at IS NOT NULL AND reason IS NOT NULL))
);

-- A CRL partition (CN=CRL<n>) and the full CRL of one issuer. Partial, so they
-- hold only the ~1% revoked rows, and covering, so a CRL is read from the index alone.
CREATE INDEX certificates_revoked_partition
    ON certificates (issuer, crl_partition, serial, revoked_at, reason) WHERE status = 'revoked';
CREATE INDEX certificates_revoked_issuer
    ON certificates (issuer, serial, revoked_at, reason) WHERE status = 'revoked';
-- ListCertificates by issuer, in serial order.
CREATE INDEX certificates_issuer ON certificates (issuer, serial);

-- One row per issuer: the partition being filled and how many places it has given out.
CREATE TABLE crl_partitions (
    issuer            TEXT COLLATE "C" PRIMARY KEY,
    current_partition INTEGER NOT NULL CHECK (current_partition >= 1),
    used              INTEGER NOT NULL CHECK (used >= 1)
);
