-- The JS client's flows (internal/idp) and the last step of a logon flow.
-- Keep in step with 0009_idp.sqlite.sql.

-- One row per run of the JS client, from the SP's parameters to the
-- response. The flow's secret is held by the browser only; the row keeps
-- its SHA-256 and, sealed under a key derived from the secret, what the
-- later steps need (the auth flow's secret, what the password unlocked in
-- the key vault). Rows end at step 'ended' and are deleted after expiry.
CREATE TABLE idp_flows (
    id_hash    TEXT COLLATE "C" PRIMARY KEY CHECK (length(id_hash) = 64),
    sp_id      BIGINT  NOT NULL REFERENCES service_providers (id),
    origin     TEXT    NOT NULL CHECK (origin <> ''),
    mode       TEXT    NOT NULL CHECK (mode IN ('lmt', 'std')),
    parameters TEXT    NOT NULL,
    step       TEXT    NOT NULL CHECK (step IN ('signtext', 'credentials', 'otp', 'activate', 'update', 'ended')),
    failures   INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0), -- wrong answers in this flow
    busy_until BIGINT  NOT NULL DEFAULT 0, -- a call is working on the flow until then
    sealed     BYTEA,
    version    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX idp_flows_expires ON idp_flows (expires_at);

-- A done logon flow signs once: the signature uses it up ('used').
ALTER TABLE logon_flows DROP CONSTRAINT logon_flows_step_check;
ALTER TABLE logon_flows ADD CONSTRAINT logon_flows_step_check
    CHECK (step IN ('otp', 'activate', 'done', 'used', 'cancelled', 'failed'));
