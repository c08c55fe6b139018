-- Routing (issue 6; docs/ROUTING.md, docs/STORE.md "Routing").
-- Settings are one row per site (three JSON sections, validated by the store
-- before they are written, store/settings.c). A conversation's routing state
-- lives on its row: every routing step is a compare-and-set on route_stage,
-- and deadlines are a column polled by every router, not a timer in one.

CREATE TABLE site_settings (
    site_id    uuid PRIMARY KEY REFERENCES sites ON DELETE CASCADE,
    routing    jsonb NOT NULL DEFAULT '{}',   -- {"timezone":..,"groups":[..],"rules":[..]}
    survey     jsonb NOT NULL DEFAULT '{}',
    offline    jsonb NOT NULL DEFAULT '{}',
    version    bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid
);

-- route_stage: bumped by EVERY change of operator_id or state (assign, close,
-- route steps, accept, transfer) and by the assigned operator's first reply
-- within a response limit, so a step computed from an older read is refused.
ALTER TABLE conversations
    ADD COLUMN route_stage int NOT NULL DEFAULT 0,
    ADD COLUMN route_rule text NOT NULL DEFAULT '',
    ADD COLUMN ringing uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN tried uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN deadline_at timestamptz,
    ADD COLUMN response_limit_s int NOT NULL DEFAULT 0,
    ADD COLUMN missed boolean NOT NULL DEFAULT false,
    ADD COLUMN accepted_at timestamptz,
    ADD COLUMN first_response_at timestamptz,
    ADD COLUMN visitor_name text NOT NULL DEFAULT '',
    ADD COLUMN visitor_email text NOT NULL DEFAULT '',
    ADD COLUMN visitor_phone text NOT NULL DEFAULT '',
    ADD COLUMN survey_answer text NOT NULL DEFAULT '',
    -- The rest of the segment, taken from the visit the chat started on.
    ADD COLUMN first_referrer text NOT NULL DEFAULT '',
    ADD COLUMN first_language text NOT NULL DEFAULT '',
    ADD COLUMN country text NOT NULL DEFAULT '',
    ADD COLUMN city text NOT NULL DEFAULT '';

ALTER TABLE conversations DROP CONSTRAINT conversations_state_check;
ALTER TABLE conversations ADD CONSTRAINT conversations_state_check
    CHECK (state IN ('queued', 'ringing', 'assigned', 'closed'));

CREATE INDEX conversations_deadline ON conversations (deadline_at) WHERE deadline_at IS NOT NULL;
CREATE INDEX conversations_ringing ON conversations USING gin (ringing) WHERE state = 'ringing';

ALTER TABLE visitors
    ADD COLUMN name text NOT NULL DEFAULT '',
    ADD COLUMN email text NOT NULL DEFAULT '',
    ADD COLUMN phone text NOT NULL DEFAULT '',
    ADD COLUMN survey_answer text NOT NULL DEFAULT '';

ALTER TABLE visits
    ADD COLUMN country text NOT NULL DEFAULT '',
    ADD COLUMN city text NOT NULL DEFAULT '';

-- beseda_assign(): also bumps route_stage (the stage rule above), ends a
-- ring, and returns the conversation with every column of CONV_COLUMNS
-- (store/rows.h; keep the two lists alike). Otherwise unchanged from 0006.
DROP FUNCTION beseda_assign(uuid, uuid, uuid, bigint, uuid, text);
CREATE FUNCTION beseda_assign(
    p_site uuid, p_conv uuid, p_operator uuid, p_epoch bigint, p_from uuid, p_assign_id text)
RETURNS TABLE (updated boolean, mine boolean,
               id uuid, site_id uuid, visitor_id uuid, state text, operator_id text,
               operator_name text, last_seq bigint, created_ms bigint,
               first_url text, first_title text,
               r_missed boolean, r_visitor_name text, r_visitor_email text, r_visitor_phone text,
               r_survey_answer text, r_deadline_ms bigint, r_rule text, r_ringing text,
               r_referrer text, r_language text, r_country text, r_city text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n int;
BEGIN
    UPDATE conversations c
       SET operator_id = p_operator,
           state = CASE WHEN p_operator IS NULL THEN 'queued' ELSE 'assigned' END,
           assign_id = p_assign_id, updated_at = now(),
           owner_epoch = greatest(c.owner_epoch, p_epoch),
           route_stage = c.route_stage + 1,
           ringing = '{}',
           accepted_at = CASE WHEN p_operator IS NULL THEN c.accepted_at ELSE now() END
     WHERE c.site_id = p_site AND c.id = p_conv AND c.state <> 'closed'
       AND c.owner_epoch <= p_epoch
       AND c.operator_id IS NOT DISTINCT FROM p_from
       AND c.operator_id IS DISTINCT FROM p_operator
       AND (p_operator IS NULL OR EXISTS (SELECT 1 FROM operators o
                                           WHERE o.id = p_operator AND o.site_id = p_site));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY
    SELECT n > 0, p_assign_id IS NOT NULL AND c.assign_id IS NOT DISTINCT FROM p_assign_id,
           c.id, c.site_id, c.visitor_id, c.state, coalesce(c.operator_id::text, ''),
           coalesce(o.name, ''), c.last_seq, (extract(epoch FROM c.created_at) * 1000)::bigint,
           c.first_url, c.first_title,
           c.missed, c.visitor_name, c.visitor_email, c.visitor_phone, c.survey_answer,
           coalesce((extract(epoch FROM c.deadline_at) * 1000)::bigint, 0), c.route_rule,
           array_to_string(c.ringing, ','), c.first_referrer, c.first_language, c.country, c.city
      FROM conversations c LEFT JOIN operators o ON o.id = c.operator_id
     WHERE c.site_id = p_site AND c.id = p_conv;
END;
$$;

-- One routing step (docs/STORE.md "route_step"): a compare-and-set on
-- route_stage. p_ops: the operators of this step (ring: notified; assign:
-- [0] gets it); each is added to tried. p_deadline_ms 0 = no deadline.
-- p_limit_s: the rule's response limit, kept for the accept that ends a ring.
-- Returns applied and who was ringing before and is not the new operator.
CREATE FUNCTION beseda_route_step(
    p_site uuid, p_conv uuid, p_from_stage int, p_action text, p_ops uuid[],
    p_deadline_ms bigint, p_from uuid, p_rule text, p_limit_s int)
RETURNS TABLE (applied boolean, ended uuid[])
LANGUAGE plpgsql AS $$
DECLARE
    c conversations%ROWTYPE;
    new_op uuid;
    dl timestamptz := CASE WHEN p_deadline_ms > 0
                           THEN now() + p_deadline_ms * interval '1 millisecond' END;
BEGIN
    applied := false;
    ended := '{}';
    SELECT * INTO c FROM conversations cv
     WHERE cv.id = p_conv AND cv.site_id = p_site FOR UPDATE;
    IF NOT FOUND OR c.route_stage <> p_from_stage OR c.state = 'closed' THEN
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_action = 'ring' THEN
        new_op := NULL;
        IF c.operator_id IS DISTINCT FROM p_from OR cardinality(p_ops) = 0 THEN
            RETURN NEXT; RETURN;
        END IF;
    ELSIF p_action = 'assign' THEN
        new_op := p_ops[1];
        IF new_op IS NULL OR c.operator_id IS DISTINCT FROM p_from
           OR new_op IS NOT DISTINCT FROM c.operator_id THEN
            RETURN NEXT; RETURN;
        END IF;
    ELSIF p_action = 'queue' THEN
        new_op := NULL;
        IF c.operator_id IS DISTINCT FROM p_from THEN
            RETURN NEXT; RETURN;
        END IF;
    ELSIF p_action = 'miss' THEN
        new_op := c.operator_id;
    ELSE
        RETURN NEXT; RETURN;
    END IF;
    -- Every operator named must be of this site (the router computed them
    -- from this site's settings; this is the tenant wall, not trust).
    IF EXISTS (SELECT 1 FROM unnest(p_ops) u(op)
                WHERE NOT EXISTS (SELECT 1 FROM operators o WHERE o.id = u.op AND o.site_id = p_site)) THEN
        RETURN NEXT; RETURN;
    END IF;

    SELECT coalesce(array_agg(r), '{}') INTO ended
      FROM unnest(c.ringing) r WHERE r IS DISTINCT FROM new_op;
    UPDATE conversations cv SET
        route_stage = cv.route_stage + 1,
        route_rule = coalesce(p_rule, ''),
        tried = cv.tried || ARRAY(SELECT u FROM unnest(p_ops) u WHERE u <> ALL (cv.tried)),
        updated_at = now(),
        operator_id = new_op,
        state = CASE p_action WHEN 'ring' THEN 'ringing' WHEN 'assign' THEN 'assigned'
                              WHEN 'queue' THEN 'queued' ELSE 'closed' END,
        ringing = CASE WHEN p_action = 'ring' THEN p_ops ELSE '{}' END,
        deadline_at = CASE WHEN p_action = 'miss' THEN NULL ELSE dl END,
        response_limit_s = greatest(coalesce(p_limit_s, 0), 0),
        accepted_at = CASE WHEN p_action = 'assign' THEN now() ELSE cv.accepted_at END,
        missed = CASE WHEN p_action = 'miss' THEN true ELSE cv.missed END,
        closed_at = CASE WHEN p_action = 'miss' THEN now() ELSE cv.closed_at END
     WHERE cv.id = p_conv;
    applied := true;
    RETURN NEXT;
END;
$$;

-- Ring accept (docs/STORE.md "accept"): the one winner is whoever locks the
-- row first while it still rings with them notified. Fenced by epoch as
-- beseda_assign is.
CREATE FUNCTION beseda_accept(p_site uuid, p_conv uuid, p_operator uuid, p_epoch bigint)
RETURNS TABLE (won boolean, ended uuid[])
LANGUAGE plpgsql AS $$
DECLARE
    c conversations%ROWTYPE;
BEGIN
    won := false;
    ended := '{}';
    SELECT * INTO c FROM conversations cv
     WHERE cv.id = p_conv AND cv.site_id = p_site FOR UPDATE;
    IF NOT FOUND OR c.state <> 'ringing' OR c.operator_id IS NOT NULL
       OR NOT (p_operator = ANY (c.ringing)) OR c.owner_epoch > p_epoch THEN
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT coalesce(array_agg(r), '{}') INTO ended FROM unnest(c.ringing) r WHERE r <> p_operator;
    UPDATE conversations cv SET
        operator_id = p_operator, state = 'assigned',
        route_stage = cv.route_stage + 1, ringing = '{}',
        deadline_at = CASE WHEN cv.response_limit_s > 0
                           THEN now() + cv.response_limit_s * interval '1 second' END,
        accepted_at = now(), updated_at = now(),
        owner_epoch = greatest(cv.owner_epoch, p_epoch)
     WHERE cv.id = p_conv;
    won := true;
    RETURN NEXT;
END;
$$;

-- beseda_append(): a conversation a visitor starts copies the visitor's
-- survey data (name, e-mail, phone, answer); the assigned operator's message
-- ends the response-time limit (deadline_at NULL, first_response_at set, and
-- route_stage+1 when a deadline was running, so an escalation computed
-- before the reply is refused). Otherwise unchanged from 0011.
CREATE OR REPLACE FUNCTION beseda_append(
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
    -- The visitor's row is locked while it creates, so two first messages
    -- sent at once under two new ids cannot both find "no other open one".
    IF p_author_kind = 'visitor'
       AND NOT EXISTS (SELECT 1 FROM conversations cv WHERE cv.id = p_conv)
       AND EXISTS (SELECT 1 FROM visitors v WHERE v.id = p_author_id AND v.site_id = p_site
                   FOR UPDATE) THEN
        IF EXISTS (SELECT 1 FROM conversations cv
                    WHERE cv.site_id = p_site AND cv.visitor_id = p_author_id
                      AND cv.state <> 'closed' AND cv.id <> p_conv) THEN
            status := 'forbidden';
            RETURN NEXT;
            RETURN;
        END IF;
        INSERT INTO conversations AS cv (id, site_id, visitor_id, state, owner_epoch, first_url, first_title,
                                         first_referrer, first_language, country, city,
                                         visitor_name, visitor_email, visitor_phone, survey_answer)
        SELECT p_conv, p_site, p_author_id, 'queued', p_epoch,
               coalesce(lv.url, ''), coalesce(lv.title, ''), coalesce(lv.referrer, ''),
               coalesce(lv.language, ''), coalesce(lv.country, ''), coalesce(lv.city, ''),
               vi.name, vi.email, vi.phone, vi.survey_answer
          FROM visitors vi
          LEFT JOIN LATERAL (SELECT vs.url, vs.title, vs.referrer, vs.language, vs.country, vs.city
                               FROM visits vs
                              WHERE vs.visitor_id = p_author_id AND vs.site_id = p_site
                              ORDER BY vs.created_at DESC LIMIT 1) lv ON true
         WHERE vi.id = p_author_id AND vi.site_id = p_site
        ON CONFLICT (id) DO NOTHING;
        GET DIAGNOSTICS n = ROW_COUNT;
        created := n > 0;
    END IF;

    SELECT * INTO c FROM conversations cv WHERE cv.id = p_conv AND cv.site_id = p_site FOR UPDATE;
    IF NOT FOUND THEN
        -- Another site's conversation is "forbidden" (as docs/PROTOCOL.md
        -- says), not "no_conversation"; its data stays unread either way.
        IF EXISTS (SELECT 1 FROM conversations cv WHERE cv.id = p_conv) THEN
            status := 'forbidden';
        ELSE
            status := 'no_conversation';
        END IF;
        RETURN NEXT;
        RETURN;
    END IF;

    <<decide>>
    BEGIN
        IF NOT ((p_author_kind = 'visitor' AND p_author_id = c.visitor_id)
             OR (p_author_kind = 'operator' AND p_author_id IS NOT DISTINCT FROM c.operator_id
                 AND p_author_id IS NOT NULL)
             OR p_author_kind = 'system') THEN
            -- An operator's retry of their own message after the chat was
            -- handed on is a duplicate, not a refusal. Only their own
            -- message is looked up, so nobody reads another's.
            IF p_author_kind = 'operator' THEN
                SELECT * INTO m FROM messages mm
                 WHERE mm.site_id = p_site AND mm.conversation_id = p_conv
                   AND mm.client_msg_id = p_client_msg_id
                   AND mm.author_kind = 'operator' AND mm.author_id = p_author_id;
                IF FOUND THEN
                    status := 'duplicate';
                    seq := m.seq;
                    ts_ms := (extract(epoch FROM m.created_at) * 1000)::bigint;
                    EXIT decide;
                END IF;
            END IF;
            status := 'forbidden';
            EXIT decide;
        END IF;

        -- A retry of a stored message is answered with its first sequence
        -- whatever happened since (closed, ownership moved): idempotency is
        -- the promise, so this check comes before closed and stale_epoch.
        SELECT * INTO m FROM messages mm
         WHERE mm.site_id = p_site AND mm.conversation_id = p_conv AND mm.client_msg_id = p_client_msg_id;
        IF FOUND THEN
            UPDATE conversations cv SET owner_epoch = greatest(cv.owner_epoch, p_epoch) WHERE cv.id = p_conv;
            status := 'duplicate';
            seq := m.seq;
            ts_ms := (extract(epoch FROM m.created_at) * 1000)::bigint;
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

        UPDATE conversations cv
           SET last_seq = cv.last_seq + 1, owner_epoch = greatest(cv.owner_epoch, p_epoch),
               updated_at = now()
         WHERE cv.id = p_conv
        RETURNING cv.last_seq INTO seq;
        IF p_author_kind = 'operator' THEN
            UPDATE conversations cv
               SET first_response_at = coalesce(cv.first_response_at, now()),
                   deadline_at = NULL,
                   route_stage = cv.route_stage + CASE WHEN cv.deadline_at IS NULL THEN 0 ELSE 1 END
             WHERE cv.id = p_conv;
        END IF;
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

-- Minutes since Monday 00:00 in the site's time zone (docs/ROUTING.md
-- "timezone"): "UTC+03:00" is three hours east, computed here because
-- PostgreSQL reads the POSIX-style 'UTC+3' as three hours WEST. An IANA name
-- follows its daylight saving. A name the server does not know (it was
-- valid when stored; the tz database changed since) counts as UTC rather than
-- failing the request.
CREATE FUNCTION beseda_local_minute(p_tz text) RETURNS int
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t timestamp;
    m text[];
BEGIN
    m := regexp_match(coalesce(p_tz, ''), '^UTC([+-])([0-9]{2}):([0-9]{2})$');
    IF m IS NOT NULL THEN
        t := (now() AT TIME ZONE 'UTC')
             + (CASE WHEN m[1] = '-' THEN -1 ELSE 1 END)
               * (m[2]::int * 60 + m[3]::int) * interval '1 minute';
    ELSIF coalesce(p_tz, '') IN ('', 'UTC') THEN
        t := now() AT TIME ZONE 'UTC';
    ELSE
        BEGIN
            t := now() AT TIME ZONE p_tz;
        EXCEPTION WHEN OTHERS THEN
            t := now() AT TIME ZONE 'UTC';
        END;
    END IF;
    RETURN (extract(isodow FROM t)::int - 1) * 1440
           + extract(hour FROM t)::int * 60 + extract(minute FROM t)::int;
END;
$$;
