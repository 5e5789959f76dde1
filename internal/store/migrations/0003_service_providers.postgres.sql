-- Service providers, the CPR numbers behind OCES identities, and the
-- answered PID/RID-CPR queries. Keep in step with
-- 0003_service_providers.sqlite.sql: the two differ in byte, boolean,
-- key-generation and collation types, and in a column of the cpr_queries
-- indexes that only SQLite needs (see there).

-- One row per service-provider agreement. Rows are never deleted: an SPID,
-- a name and a certificate, once registered, always mean this agreement
-- (RequestIssuer in old signatures, serviceId in old CPR logs).
CREATE TABLE service_providers (
    -- The SPID. An identity rather than MAX+1: concurrent registrations
    -- never collide; a refused registration may leave a gap.
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             TEXT    NOT NULL,
    -- The name case-folded in Go (store.foldName), unique: the engines'
    -- own lower() disagree outside ASCII (SQLite's only knows ASCII).
    name_key         TEXT COLLATE "C" NOT NULL UNIQUE,
    -- A JSON array of origins: always read and written with the row, never searched.
    origins          TEXT    NOT NULL,
    cert_der         BYTEA   NOT NULL,
    cert_sha256      TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(cert_sha256) = 64),
    subject          TEXT    NOT NULL,
    allow_cpr_match  BOOLEAN NOT NULL,
    allow_cpr_lookup BOOLEAN NOT NULL,
    created_at       BIGINT  NOT NULL,
    disabled_at      BIGINT, -- NULL while the agreement is active
    -- Looking a CPR number up is a wider right than matching one.
    CHECK (allow_cpr_match OR NOT allow_cpr_lookup)
);

-- Which CPR number an OCES identity ("PID:…", "CVR:…-RID:…") belongs to.
-- One CPR per identity; one person may have several identities (a PID and
-- a RID in each company that employs them).
CREATE TABLE cpr_links (
    identity   TEXT COLLATE "C" PRIMARY KEY,
    cpr        TEXT   NOT NULL CHECK (length(cpr) = 10),
    created_at BIGINT NOT NULL
);

-- Every answered PID/RID-CPR match or look-up, kept to detect systematic
-- searching (status 16, BRUTE_FORCE_ATTEMPT_DETECTED).
CREATE TABLE cpr_queries (
    sp         BIGINT  NOT NULL REFERENCES service_providers (id),
    identity   TEXT COLLATE "C" NOT NULL,
    failed     BOOLEAN NOT NULL,
    queried_at BIGINT  NOT NULL
);
-- CPRQueryCounts counts only failed queries, so the indexes hold only those
-- (partial) and the count is read from an index range alone: an SP's
-- failures since a time, in all and for one identity.
CREATE INDEX cpr_queries_failed_sp ON cpr_queries (sp, queried_at) WHERE failed;
CREATE INDEX cpr_queries_failed_identity ON cpr_queries (sp, identity, queried_at) WHERE failed;
