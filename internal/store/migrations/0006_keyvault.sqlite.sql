-- The key vault's wrapped user private keys (internal/keyvault; format in
-- docs/keyvault.md). Keep in step with 0006_keyvault.postgres.sql: the two
-- differ only in the byte type.
--
-- user_id is not yet a foreign key to the users table: that table (0004)
-- was written alongside this one, and a later migration adds the reference
-- once both exist.

-- One row per version of a user's key pair. The active version holds the
-- wrapped private key; superseded and destroyed versions keep only their
-- public key and times, for the record: their blob is erased.
CREATE TABLE vault_keys (
    user_id    BIGINT NOT NULL CHECK (user_id > 0),
    version    BIGINT NOT NULL CHECK (version > 0),
    state      TEXT   NOT NULL CHECK (state IN ('active', 'superseded', 'destroyed')),
    -- DER SubjectPublicKeyInfo, in clear: the certificate side needs it
    -- without a password; the vault authenticates it (the blob binds its hash).
    public_key BLOB   NOT NULL,
    -- The wrapped private key; NULL once the key is superseded or destroyed.
    blob       BLOB,
    -- Re-wrappings of this version (password changes): the compare-and-swap
    -- token that keeps a stale re-wrap from overwriting a newer one.
    generation BIGINT NOT NULL CHECK (generation >= 0),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ended_at   BIGINT, -- NULL while active
    PRIMARY KEY (user_id, version),
    CHECK ((state = 'active') = (blob IS NOT NULL)),
    CHECK ((state = 'active') = (ended_at IS NULL))
);
-- At most one active key per user, whatever races the writers run.
CREATE UNIQUE INDEX vault_keys_one_active ON vault_keys (user_id) WHERE state = 'active';
