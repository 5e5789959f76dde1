-- The outbox of the simulated post and SMS channels (internal/outbox).
-- Keep in step with 0007_outbox.sqlite.sql: the two differ in byte,
-- key-generation and collation types.

-- One row per message sent. The body and the attachment (a PDF letter) hold
-- secrets — temporary passwords, key codes — so they are stored sealed
-- under the operator's master key by internal/outbox; this table never
-- sees them in clear. Rows are never changed.
CREATE TABLE outbox (
    -- Insertion order: among messages of one microsecond, the later is newer.
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Random, chosen by the outbox before sealing (the seals bind it).
    id         TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(id) = 16),
    kind       TEXT    NOT NULL CHECK (kind IN ('post', 'sms')),
    -- The user the message is for; listings select by it.
    user_id    TEXT COLLATE "C" NOT NULL CHECK (user_id <> ''),
    -- Where it goes: a postal address (lines separated by newlines) or a phone number.
    recipient  TEXT    NOT NULL CHECK (recipient <> ''),
    subject    TEXT    NOT NULL,
    body       BYTEA   NOT NULL,
    attachment BYTEA, -- NULL: no attachment
    created_at BIGINT  NOT NULL
);
-- Listing newest first, in all and for one user, reads an index in order.
CREATE INDEX outbox_newest ON outbox (created_at, seq);
CREATE INDEX outbox_user_newest ON outbox (user_id, created_at, seq);
