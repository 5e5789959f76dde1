-- Registration (internal/registration): the person's PID, and which
-- certificate certifies which of a user's vault keys. Keep in step with
-- 0008_registration.sqlite.sql: the two differ only in collation.
--
-- A registration stores the user (0004), the first vault key (0006), the
-- POCES certificate (0001), the link from its PID to the CPR number (0003)
-- and the two letters (0007) in one transaction; these rows tie them
-- together, so that the invariants can be checked by SQL alone.

-- The PID (without "PID:") is the person's for life: a re-issued POCES
-- (after a reset or a block) carries the same one. NULL for a user made
-- by auth alone, without a key pair (tests of internal/auth).
ALTER TABLE users ADD COLUMN pid TEXT COLLATE "C";
-- Both engines treat NULLs as distinct in a unique index.
CREATE UNIQUE INDEX users_pid ON users (pid);

-- One row per certificate issued for a user's vault key: the serial, the
-- user and the key version it certifies (a certificate for a key that the
-- vault does not have cannot be recorded).
CREATE TABLE user_certificates (
    serial      TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES certificates (serial),
    user_id     BIGINT NOT NULL REFERENCES users (id),
    key_version BIGINT NOT NULL,
    FOREIGN KEY (user_id, key_version) REFERENCES vault_keys (user_id, version)
);
CREATE INDEX user_certificates_user ON user_certificates (user_id, key_version);
