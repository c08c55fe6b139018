-- beseda schema, version 1.
-- Every table that holds tenant data carries site_id and every query the store
-- runs filters on it (the tenant wall). Ids are UUIDs from gen_random_uuid()
-- (built into PostgreSQL 13+), so any process can also mint them.

CREATE TABLE sites (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL,
    allowed_origins text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operators (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id       uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    email         text NOT NULL,
    name          text NOT NULL,
    password_hash text NOT NULL,            -- libsodium crypto_pwhash_str (argon2id)
    max_chats     int  NOT NULL DEFAULT 5 CHECK (max_chats >= 0),
    role          text NOT NULL DEFAULT 'operator',
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, email)
);
-- Login is by e-mail alone, so an e-mail names one operator across all sites.
CREATE UNIQUE INDEX operators_email_global ON operators (lower(email));

CREATE TABLE operator_sessions (
    token_hash  bytea PRIMARY KEY,          -- SHA-256 of the token; the token itself is never stored
    operator_id uuid NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);

CREATE TABLE visitors (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id      uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    visits       int NOT NULL DEFAULT 1
);
CREATE INDEX visitors_site ON visitors (site_id, last_seen_at);

CREATE TABLE visits (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    visitor_id uuid NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    site_id    uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    url        text NOT NULL DEFAULT '',
    title      text NOT NULL DEFAULT '',
    referrer   text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    language   text NOT NULL DEFAULT '',
    ip         text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX visits_visitor ON visits (visitor_id, created_at);
CREATE INDEX visits_site ON visits (site_id, created_at);

CREATE TABLE conversations (
    id          uuid PRIMARY KEY,           -- minted by the router before the first message
    site_id     uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    visitor_id  uuid NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    operator_id uuid REFERENCES operators(id) ON DELETE SET NULL,
    state       text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'assigned', 'closed')),
    last_seq    bigint NOT NULL DEFAULT 0,
    owner_epoch bigint NOT NULL DEFAULT 0,  -- highest broker epoch that wrote (fencing)
    first_url   text NOT NULL DEFAULT '',
    first_title text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz
);
CREATE INDEX conversations_visitor ON conversations (site_id, visitor_id, created_at DESC);
CREATE INDEX conversations_operator_open ON conversations (operator_id) WHERE state = 'assigned';
CREATE INDEX conversations_unassigned ON conversations (site_id, created_at)
    WHERE operator_id IS NULL AND state <> 'closed';

CREATE TABLE messages (
    site_id         uuid NOT NULL,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    client_msg_id   text NOT NULL,
    author_kind     text NOT NULL CHECK (author_kind IN ('visitor', 'operator', 'system')),
    author_id       uuid,
    author_name     text NOT NULL DEFAULT '',
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (site_id, conversation_id, client_msg_id)
);

-- One idempotent append (docs/STORE.md). Returns a status instead of raising
-- for every expected refusal, so that one bad request never aborts the group
-- commit transaction that carries other clients' messages. It also returns the
-- conversation as it is after the append: a query wrapped around the call
-- could not see the function's own writes (same statement snapshot).
-- beseda_append(): its current definition is store/sql/append.sql (applied on every start).
