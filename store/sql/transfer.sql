-- beseda_transfer(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0014, 0018.

-- From 0014_team.sql:
-- Transfer (docs/STORE.md "transfer"): one transaction that moves the
-- conversation from p_from to the target (compare-and-set on operator_id,
-- fenced by the epoch like beseda_assign), bumps route_stage (every change
-- of operator or state does; docs/ROUTING.md), ends any response deadline,
-- keeps the note and appends the system message "<name> joined the chat"
-- with the next seq. The message's client_msg_id is the transfer id: a retry
-- of a transfer that went through (the bus resends; maybe to another store)
-- finds it and answers applied again, with the same message.
-- Target: p_to, or with p_to NULL the least loaded of p_any with a free
-- place (open/max, then fewer open chats, then id: deterministic).
-- open_chats of both operators follow from the trigger of migration 0004.
-- refused: '' when applied, else why not (see proto StoreTransferReply).
-- From 0018_transfer_free_place.sql:
-- A transfer to one operator (to_operator) needs a free place, as one to
-- a group always did: an operator at max_chats is no_operator_available
-- (before, any number of chats could be handed to them).
CREATE OR REPLACE FUNCTION beseda_transfer(p_site uuid, p_conv uuid, p_from uuid, p_to uuid, p_any uuid[],
                                p_note text, p_epoch bigint, p_transfer_id text)
RETURNS TABLE (applied boolean, refused text, msg_seq bigint, msg_ts bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c conversations%ROWTYPE;
    m messages%ROWTYPE;
    target uuid;
    target_name text;
    s bigint;
BEGIN
    applied := false;
    refused := '';
    SELECT * INTO c FROM conversations cv WHERE cv.id = p_conv AND cv.site_id = p_site FOR UPDATE;
    IF NOT FOUND THEN
        refused := 'no_conversation';
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT * INTO m FROM messages mm
     WHERE mm.site_id = p_site AND mm.conversation_id = p_conv
       AND mm.client_msg_id = p_transfer_id AND mm.author_kind = 'system';
    IF FOUND THEN                                    -- a retry of this very transfer
        applied := true;
        msg_seq := m.seq;
        msg_ts := (extract(epoch FROM m.created_at) * 1000)::bigint;
        RETURN NEXT;
        RETURN;
    END IF;
    IF c.operator_id IS DISTINCT FROM p_from OR p_from IS NULL THEN
        refused := 'forbidden';
    ELSIF c.state <> 'assigned' THEN
        refused := 'closed';
    ELSIF c.owner_epoch > p_epoch THEN
        refused := 'stale_epoch';
    END IF;
    IF refused <> '' THEN
        RETURN NEXT;
        RETURN;
    END IF;

    IF p_to IS NOT NULL THEN
        -- Locked as for a group: the target needs a free place too
        -- (docs/PROTOCOL.md "transfer"), and two transfers at once cannot
        -- both take its last one.
        SELECT o.id, o.name INTO target, target_name FROM operators o
         WHERE o.id = p_to AND o.site_id = p_site AND o.id <> p_from
         FOR UPDATE;
        IF NOT FOUND THEN
            refused := 'bad_value';
        ELSIF (SELECT o.open_chats >= o.max_chats FROM operators o WHERE o.id = target) THEN
            refused := 'no_operator_available';
        END IF;
    ELSE
        -- Locked: two transfers into one group at once cannot both take
        -- the last free place of the same operator.
        SELECT o.id, o.name INTO target, target_name FROM operators o
         WHERE o.id = ANY (coalesce(p_any, '{}')) AND o.site_id = p_site AND o.id <> p_from
           AND o.open_chats < o.max_chats
         ORDER BY o.open_chats::float8 / greatest(o.max_chats, 1), o.open_chats, o.id
         LIMIT 1 FOR UPDATE;
        IF NOT FOUND THEN
            refused := 'no_operator_available';
        END IF;
    END IF;
    IF refused <> '' THEN
        RETURN NEXT;
        RETURN;
    END IF;

    UPDATE conversations cv SET
        operator_id = target, state = 'assigned',
        route_stage = cv.route_stage + 1, ringing = '{}', deadline_at = NULL,
        tried = cv.tried || ARRAY(SELECT target WHERE target <> ALL (cv.tried)),
        assign_id = p_transfer_id, accepted_at = now(), updated_at = now(),
        owner_epoch = greatest(cv.owner_epoch, p_epoch),
        last_seq = cv.last_seq + 1
     WHERE cv.id = p_conv
    RETURNING cv.last_seq INTO s;
    INSERT INTO conversation_notes (site_id, conversation_id, author_id, to_operator_id, kind, body)
    VALUES (p_site, p_conv, p_from, target, 'transfer', coalesce(p_note, ''));
    INSERT INTO messages AS mm (site_id, conversation_id, seq, client_msg_id, author_kind,
                                author_id, author_name, body)
    VALUES (p_site, p_conv, s, p_transfer_id, 'system', NULL, '', target_name || ' joined the chat')
    RETURNING mm.seq, (extract(epoch FROM mm.created_at) * 1000)::bigint INTO msg_seq, msg_ts;
    applied := true;
    RETURN NEXT;
END;
$$;
