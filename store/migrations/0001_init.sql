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
CREATE FUNCTION beseda_append(
    p_site uuid, p_conv uuid, p_author_kind text, p_author_id uuid,
    p_author_name text, p_client_msg_id text, p_body text, p_epoch bigint)
RETURNS TABLE (status text, seq bigint, ts_ms bigint, created boolean,
               c_visitor_id uuid, c_state text, c_operator_id uuid, c_operator_name text,
               c_last_seq bigint, c_created_ms bigint, c_first_url text, c_first_title text)
LANGUAGE plpgsql AS $$
DECLARE
    c conversations%ROWTYPE;
    m messages%ROWTYPE;
    n int;
BEGIN
    created := false;
    IF p_author_kind = 'visitor' AND EXISTS
       (SELECT 1 FROM visitors v WHERE v.id = p_author_id AND v.site_id = p_site) THEN
        INSERT INTO conversations AS cv (id, site_id, visitor_id, state, owner_epoch, first_url, first_title)
        SELECT p_conv, p_site, p_author_id, 'queued', p_epoch,
               coalesce(lv.url, ''), coalesce(lv.title, '')
          FROM (SELECT 1) one
          LEFT JOIN LATERAL (SELECT vs.url, vs.title FROM visits vs
                              WHERE vs.visitor_id = p_author_id AND vs.site_id = p_site
                              ORDER BY vs.created_at DESC LIMIT 1) lv ON true
        ON CONFLICT (id) DO NOTHING;
        GET DIAGNOSTICS n = ROW_COUNT;
        created := n > 0;
    END IF;

    SELECT * INTO c FROM conversations cv WHERE cv.id = p_conv AND cv.site_id = p_site FOR UPDATE;
    IF NOT FOUND THEN
        status := 'no_conversation';
        RETURN NEXT;
        RETURN;
    END IF;

    <<decide>>
    BEGIN
        IF NOT ((p_author_kind = 'visitor' AND p_author_id = c.visitor_id)
             OR (p_author_kind = 'operator' AND p_author_id IS NOT DISTINCT FROM c.operator_id
                 AND p_author_id IS NOT NULL)
             OR p_author_kind = 'system') THEN
            status := 'forbidden';
            EXIT decide;
        END IF;
        IF c.state = 'closed' THEN
            status := 'closed';
            EXIT decide;
        END IF;
        IF p_epoch < c.owner_epoch THEN
            status := 'stale_epoch';
            EXIT decide;
        END IF;

        SELECT * INTO m FROM messages mm
         WHERE mm.site_id = p_site AND mm.conversation_id = p_conv AND mm.client_msg_id = p_client_msg_id;
        IF FOUND THEN
            UPDATE conversations cv SET owner_epoch = greatest(cv.owner_epoch, p_epoch) WHERE cv.id = p_conv;
            status := 'duplicate';
            seq := m.seq;
            ts_ms := (extract(epoch FROM m.created_at) * 1000)::bigint;
            EXIT decide;
        END IF;

        UPDATE conversations cv
           SET last_seq = cv.last_seq + 1, owner_epoch = greatest(cv.owner_epoch, p_epoch),
               updated_at = now()
         WHERE cv.id = p_conv
        RETURNING cv.last_seq INTO seq;
        INSERT INTO messages (site_id, conversation_id, seq, client_msg_id, author_kind,
                              author_id, author_name, body)
        VALUES (p_site, p_conv, seq, p_client_msg_id, p_author_kind,
                CASE WHEN p_author_kind = 'system' THEN NULL ELSE p_author_id END,
                coalesce(p_author_name, ''), p_body)
        RETURNING (extract(epoch FROM messages.created_at) * 1000)::bigint INTO ts_ms;
        status := 'ok';
    END;

    SELECT cv.visitor_id, cv.state, cv.operator_id, coalesce(o.name, ''), cv.last_seq,
           (extract(epoch FROM cv.created_at) * 1000)::bigint, cv.first_url, cv.first_title
      INTO c_visitor_id, c_state, c_operator_id, c_operator_name, c_last_seq,
           c_created_ms, c_first_url, c_first_title
      FROM conversations cv LEFT JOIN operators o ON o.id = cv.operator_id
     WHERE cv.id = p_conv;
    RETURN NEXT;
END;
$$;
