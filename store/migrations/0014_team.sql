-- Transfer with an internal note, and the team chat (issue 6;
-- docs/ROUTING.md "Transfer and team chat", docs/STORE.md "transfer",
-- "team_append").

-- Internal notes on a conversation: operators only, never sent to visitors.
-- kind 'transfer': written by the operator who handed the chat on.
CREATE TABLE conversation_notes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id         uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    author_id       uuid REFERENCES operators(id) ON DELETE SET NULL,
    to_operator_id  uuid REFERENCES operators(id) ON DELETE SET NULL,
    kind            text NOT NULL CHECK (kind IN ('transfer')),
    body            text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversation_notes_conversation ON conversation_notes (site_id, conversation_id, created_at);

-- Team chat: one room per site. seq is gap-free per site: it comes from the
-- site's counter row, taken under its row lock in the same transaction as
-- the insert (as conversations.last_seq is for messages).
CREATE TABLE team_counters (
    site_id  uuid PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
    last_seq bigint NOT NULL DEFAULT 0
);

CREATE TABLE team_messages (
    site_id       uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    seq           bigint NOT NULL,
    client_msg_id text NOT NULL,
    author_id     uuid NOT NULL,          -- no foreign key: the room keeps what a deleted operator said
    author_name   text NOT NULL DEFAULT '',
    body          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, seq),
    UNIQUE (site_id, client_msg_id, author_id)
);

-- One idempotent team message. The counter row is locked before the
-- duplicate check, so two copies of one message sent at once are answered
-- one 'ok' and one duplicate with the first seq (never a unique violation),
-- and a duplicate consumes no seq. No row returned: the author is not an
-- operator of the site (the tenant wall; the router refuses it before).
CREATE FUNCTION beseda_team_append(p_site uuid, p_author uuid, p_name text,
                                   p_client_msg_id text, p_body text)
RETURNS TABLE (seq bigint, ts_ms bigint, duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    m team_messages%ROWTYPE;
    s bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM operators o WHERE o.id = p_author AND o.site_id = p_site) THEN
        RETURN;
    END IF;
    INSERT INTO team_counters (site_id) VALUES (p_site) ON CONFLICT (site_id) DO NOTHING;
    SELECT tc.last_seq INTO s FROM team_counters tc WHERE tc.site_id = p_site FOR UPDATE;
    SELECT * INTO m FROM team_messages tm
     WHERE tm.site_id = p_site AND tm.client_msg_id = p_client_msg_id AND tm.author_id = p_author;
    IF FOUND THEN
        RETURN QUERY SELECT m.seq, (extract(epoch FROM m.created_at) * 1000)::bigint, true;
        RETURN;
    END IF;
    UPDATE team_counters tc SET last_seq = s + 1 WHERE tc.site_id = p_site;
    RETURN QUERY
    INSERT INTO team_messages AS tm (site_id, seq, client_msg_id, author_id, author_name, body)
    VALUES (p_site, s + 1, p_client_msg_id, p_author, coalesce(p_name, ''), p_body)
    RETURNING tm.seq, (extract(epoch FROM tm.created_at) * 1000)::bigint, false;
END;
$$;

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
CREATE FUNCTION beseda_transfer(p_site uuid, p_conv uuid, p_from uuid, p_to uuid, p_any uuid[],
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
        SELECT o.id, o.name INTO target, target_name FROM operators o
         WHERE o.id = p_to AND o.site_id = p_site AND o.id <> p_from;
        IF NOT FOUND THEN
            refused := 'bad_value';
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
