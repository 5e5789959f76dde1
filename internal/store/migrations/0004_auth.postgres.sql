-- Users, their user-ids and credentials, key cards and logon flows
-- (internal/auth; spec section 10). Keep in step with
-- 0004_auth.sqlite.sql: the two differ in byte, boolean, key-generation
-- and collation types.
--
-- No secret is stored in a form that the database alone gives away:
-- passwords are Argon2id strings; temporary passwords and key-card codes
-- (10^6 values each, too few for a slow hash to protect) are HMAC-SHA256
-- under a key that is itself stored only sealed by the master key
-- (auth_secrets). See docs/auth.md.

-- One row per person with a NemID. The id is internal (the key other
-- tables refer to, never shown); the NemID number, the CPR number and the
-- alias are the three user-ids that work at the logon prompt.
CREATE TABLE users (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    nemid_number      TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(nemid_number) = 9),
    cpr               TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(cpr) = 10),
    alias             TEXT,            -- NULL: no alias
    -- The alias case-folded in Go (store.foldName): aliases are
    -- case-insensitive, and the engines' lower() disagree.
    alias_key         TEXT COLLATE "C" UNIQUE,
    name              TEXT    NOT NULL,
    address           TEXT    NOT NULL, -- JSON array of the letter's address lines
    state             TEXT    NOT NULL CHECK (state IN
        ('awaiting_activation', 'active', 'quarantined', 'locked', 'revoked', 'blocked')),
    quarantined_until BIGINT,          -- set while quarantined
    blocked_by        TEXT    NOT NULL DEFAULT '' CHECK (blocked_by IN ('', 'user', 'operator')),
    state_reason      TEXT    NOT NULL DEFAULT '',
    password_hash     TEXT    NOT NULL DEFAULT '', -- Argon2id PHC string; '' while awaiting activation
    -- Wrong passwords since the last right one (or the last quarantine).
    password_failures INTEGER NOT NULL DEFAULT 0 CHECK (password_failures >= 0),
    -- Password attempts admitted and still being checked: admitted only
    -- while failures + pending stay below the threshold, so parallel
    -- attempts never get more tries than allowed (see internal/auth).
    password_pending  INTEGER NOT NULL DEFAULT 0 CHECK (password_pending >= 0),
    -- When the pending attempts are stale (their checker died): a lease.
    pending_until     BIGINT,
    -- A quarantine has ended and no correct password has been given since:
    -- the next limit is the lock, not another quarantine.
    after_quarantine  BOOLEAN NOT NULL DEFAULT FALSE,
    temp_mac          BYTEA,           -- HMAC of the temporary password; NULL: none
    temp_expires_at   BIGINT,
    temp_used_at      BIGINT,          -- set when it was used to log on: it works once
    -- Counts the key-card challenges given; a flow answers only the latest.
    challenge_seq     BIGINT  NOT NULL DEFAULT 0,
    created_at        BIGINT  NOT NULL,
    CHECK ((alias IS NULL) = (alias_key IS NULL)),
    CHECK ((state = 'quarantined') = (quarantined_until IS NOT NULL)),
    CHECK ((state = 'blocked') = (blocked_by <> '')),
    CHECK ((temp_mac IS NULL) = (temp_expires_at IS NULL))
);

-- Every state change of a user, in order: never updated, never deleted.
CREATE TABLE user_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id),
    at           BIGINT  NOT NULL,
    from_state   TEXT    NOT NULL, -- '' for the creation
    to_state     TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    reason       TEXT    NOT NULL
);
CREATE INDEX user_events_user ON user_events (user_id, id);

-- Key cards. A user has at most one current card (the one challenges come
-- from) and at most one next card (ordered, on its way); spent and revoked
-- cards stay for the record.
CREATE TABLE key_cards (
    card_number  TEXT COLLATE "C" PRIMARY KEY CHECK (length(card_number) = 10),
    user_id      BIGINT  NOT NULL REFERENCES users (id),
    status       TEXT    NOT NULL CHECK (status IN ('current', 'next', 'spent', 'revoked')),
    -- Wrong codes given for this card since its last right one.
    failures     INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    issued_at    BIGINT  NOT NULL,
    activated_at BIGINT,           -- its first challenge
    finished_at  BIGINT,           -- spent or revoked
    reason       TEXT    NOT NULL DEFAULT '' -- why it was issued, then why it was revoked
);
CREATE INDEX key_cards_user ON key_cards (user_id, issued_at);
CREATE UNIQUE INDEX key_cards_one_current ON key_cards (user_id) WHERE status = 'current';
CREATE UNIQUE INDEX key_cards_one_next ON key_cards (user_id) WHERE status = 'next';

-- The keys of a card. code_mac is the HMAC of the code bound to the card
-- and key number; the code itself exists only on the printed card.
CREATE TABLE key_card_keys (
    card_number   TEXT COLLATE "C" NOT NULL REFERENCES key_cards (card_number),
    key_number    TEXT COLLATE "C" NOT NULL CHECK (length(key_number) = 4),
    code_mac      BYTEA  NOT NULL CHECK (length(code_mac) = 32),
    challenged_at BIGINT,          -- NULL until shown in a challenge; a key is shown once
    PRIMARY KEY (card_number, key_number)
);

-- Logon flows in progress, so that any instance can continue any flow. The
-- flow's id is a bearer secret held by the client's session: only its
-- SHA-256 is stored.
CREATE TABLE logon_flows (
    id_hash       TEXT COLLATE "C" PRIMARY KEY CHECK (length(id_hash) = 64),
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    step          TEXT    NOT NULL CHECK (step IN ('otp', 'activate', 'done', 'cancelled', 'failed')),
    activation    BOOLEAN NOT NULL, -- started with a temporary password
    card_number   TEXT    NOT NULL,
    key_number    TEXT    NOT NULL,
    challenge_seq BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);
CREATE INDEX logon_flows_expires ON logon_flows (expires_at);

-- Installation-wide secrets of internal/auth, sealed by the master key.
CREATE TABLE auth_secrets (
    name       TEXT COLLATE "C" PRIMARY KEY,
    sealed     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);

-- Rows that a logon with an unknown user-id writes to, as a logon with a
-- wrong password writes to its user's row: so both take the same time
-- (two committed writes and one Argon2id), and the time tells no one
-- whether a user-id exists. Spread over slots so that they are no hot row.
CREATE TABLE auth_decoys (
    slot     INTEGER PRIMARY KEY,
    attempts BIGINT  NOT NULL
);
