-- Revocation publishing: what the CRL and OCSP publishers need to find their
-- work and to keep what they signed. Keep in step with
-- 0002_revocation.postgres.sql: the two differ only in byte and collation types.

-- When the certificate's OCSP response must next be signed, in unix
-- microseconds; 0 means at once (never signed, or revoked since it was).
-- Rows already stored start due, as they have no response yet.
ALTER TABLE certificates ADD COLUMN ocsp_refresh_at BIGINT NOT NULL DEFAULT 0;
-- OCSPDue reads the first rows of this index for an issuer and stops: most
-- overdue first, serial breaking ties so the order is the same every time.
CREATE INDEX certificates_ocsp_due ON certificates (issuer, ocsp_refresh_at, serial);
-- Partitions reads one entry at the end of the issuer's range.
CREATE INDEX certificates_partition ON certificates (issuer, crl_partition);

-- The last CRL number handed out per issuer; all of an issuer's CRLs share it.
CREATE TABLE crl_numbers (
    issuer      TEXT   PRIMARY KEY,
    last_number BIGINT NOT NULL CHECK (last_number >= 1)
);

-- The latest CRL of each (issuer, partition); partition 0 is the full CRL.
CREATE TABLE crls (
    issuer        TEXT    NOT NULL,
    crl_partition INTEGER NOT NULL CHECK (crl_partition >= 0),
    crl_number    BIGINT  NOT NULL CHECK (crl_number >= 1),
    this_update   BIGINT  NOT NULL,
    next_update   BIGINT  NOT NULL,
    der           BLOB    NOT NULL,
    PRIMARY KEY (issuer, crl_partition),
    CHECK (next_update > this_update)
);

-- CRLs a revocation has made out of date. A row is never deleted: generation
-- counts the revocations that marked it, cleared is the generation last
-- published, and the CRL is stale while generation > cleared. Keeping the
-- row keeps generations from restarting at 1, so a publisher that read an
-- old mark can never clear a newer one with the same number.
CREATE TABLE crl_stale (
    issuer        TEXT    NOT NULL,
    crl_partition INTEGER NOT NULL CHECK (crl_partition >= 0),
    generation    BIGINT  NOT NULL CHECK (generation >= 1),
    cleared       BIGINT  NOT NULL DEFAULT 0 CHECK (cleared >= 0 AND cleared <= generation),
    PRIMARY KEY (issuer, crl_partition)
);

-- The pre-signed OCSP response of each certificate that has one.
CREATE TABLE ocsp_responses (
    serial      TEXT   PRIMARY KEY REFERENCES certificates (serial),
    status      TEXT   NOT NULL CHECK (status IN ('good', 'revoked')),
    this_update BIGINT NOT NULL,
    next_update BIGINT NOT NULL,
    der         BLOB   NOT NULL,
    CHECK (next_update > this_update)
);
