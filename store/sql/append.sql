-- beseda_append(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0001, 0002, 0010, 0011, 0012.

-- From 0001_init.sql:
-- One idempotent append (docs/STORE.md). Returns a status instead of raising
-- for every expected refusal, so that one bad request never aborts the group
-- commit transaction that carries other clients' messages. It also returns the
-- conversation as it is after the append: a query wrapped around the call
-- could not see the function's own writes (same statement snapshot).
-- From 0002_append_other_site_forbidden.sql:
-- beseda_append(): an append to a conversation of another site answers
-- 'forbidden' instead of 'no_conversation', matching the client protocol's
-- meaning of the two codes. Otherwise unchanged from 0001.
-- From 0010_append_duplicate_first.sql:
-- beseda_append(): a retry of a stored message answers 'duplicate' with its
-- first sequence even after the conversation was closed or (for an operator)
-- handed to someone else, instead of 'closed' / 'forbidden'. A client that
-- re-sends its unacknowledged messages after a reconnect must learn they were
-- stored, not that they failed. Otherwise unchanged from 0002.
-- From 0011_append_one_open_per_visitor.sql:
-- beseda_append(): a visitor's message creates its conversation only while
-- the visitor has no other open (not closed) conversation on the site;
-- otherwise it is 'forbidden'. A visitor chose any number of fresh ids
-- before, each one a new queued chat for the operators (a flood by one
-- client). A new chat after a close still works: the closed one does not
-- count. Otherwise unchanged from 0010.
-- From 0012_routing.sql:
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
