-- The operators' inbox (docs/ROUTING.md "Inbox"): every missed chat and
-- every offline message of a site is an item, new until an operator answers
-- it by e-mail (the reply goes through the mail outbox, kind 'reply') or
-- marks it done (a callback made). Items are made by triggers in the
-- transaction that missed the chat or stored the message, so none is lost,
-- and the ones from before this migration are filled in once.

CREATE TABLE inbox_items (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id         uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('missed', 'offline')),
    conversation_id uuid UNIQUE REFERENCES conversations(id) ON DELETE CASCADE,
    offline_id      uuid UNIQUE REFERENCES offline_messages(id) ON DELETE CASCADE,
    state           text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'done')),
    done_by         uuid REFERENCES operators(id) ON DELETE SET NULL,
    done_at         timestamptz,
    reply           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'missed') = (conversation_id IS NOT NULL)),
    CHECK ((kind = 'offline') = (offline_id IS NOT NULL))
);
CREATE INDEX inbox_items_site ON inbox_items (site_id, created_at DESC);

ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('offline', 'transcript', 'missed', 'reply'));
ALTER TABLE mail_outbox ADD COLUMN inbox_id uuid REFERENCES inbox_items(id) ON DELETE SET NULL;

INSERT INTO inbox_items (site_id, kind, conversation_id, created_at)
SELECT c.site_id, 'missed', c.id, coalesce(c.closed_at, c.updated_at) FROM conversations c WHERE c.missed;
INSERT INTO inbox_items (site_id, kind, offline_id, created_at)
SELECT o.site_id, 'offline', o.id, o.created_at FROM offline_messages o;

CREATE FUNCTION beseda_inbox_missed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbox_items (site_id, kind, conversation_id)
    VALUES (NEW.site_id, 'missed', NEW.id) ON CONFLICT (conversation_id) DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER conversations_missed_inbox
    AFTER UPDATE OF missed ON conversations
    FOR EACH ROW WHEN (NOT OLD.missed AND NEW.missed)
    EXECUTE FUNCTION beseda_inbox_missed();

CREATE FUNCTION beseda_inbox_offline() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbox_items (site_id, kind, offline_id)
    VALUES (NEW.site_id, 'offline', NEW.id) ON CONFLICT (offline_id) DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER offline_messages_inbox
    AFTER INSERT ON offline_messages
    FOR EACH ROW EXECUTE FUNCTION beseda_inbox_offline();

-- One item as the API shows it (docs/PROTOCOL.md "Inbox"): the contact is
-- what the visitor gave (offline form; survey, else their visitor record,
-- for a chat), the text what they wrote (a chat: the visitor's messages).
CREATE FUNCTION beseda_inbox_json(p_item uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', i.id, 'kind', i.kind, 'state', i.state,
        'created', (extract(epoch FROM i.created_at) * 1000)::bigint,
        'conversation', i.conversation_id,
        'visitor_id', coalesce(c.visitor_id, o.visitor_id),
        'name', coalesce(o.name, nullif(c.visitor_name, ''), v.name, ''),
        'email', coalesce(o.email, nullif(c.visitor_email, ''), v.email, ''),
        'phone', coalesce(o.phone, nullif(c.visitor_phone, ''), v.phone, ''),
        'page', coalesce(c.first_url, ''),
        'text', coalesce(o.body,
                         (SELECT left(string_agg(m.body, E'\n' ORDER BY m.seq), 4000)
                            FROM messages m
                           WHERE m.conversation_id = c.id AND m.author_kind = 'visitor'), ''),
        'done_by', CASE WHEN i.done_by IS NULL THEN NULL
                        ELSE json_build_object('id', d.id, 'name', d.name) END,
        'done_at', (extract(epoch FROM i.done_at) * 1000)::bigint,
        'reply', i.reply)
      FROM inbox_items i
      LEFT JOIN conversations c ON c.id = i.conversation_id
      LEFT JOIN offline_messages o ON o.id = i.offline_id
      LEFT JOIN visitors v ON v.id = c.visitor_id
      LEFT JOIN operators d ON d.id = i.done_by
     WHERE i.id = p_item;
$$;

-- The site's newest items, new ones first: {"items":[...]} as text.
CREATE FUNCTION beseda_inbox_list(p_site uuid, p_limit int) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('items', coalesce(json_agg(beseda_inbox_json(x.id) ORDER BY x.new DESC, x.created_at DESC), '[]'))::text
      FROM (SELECT i.id, i.created_at, i.state = 'new' AS new FROM inbox_items i
             WHERE i.site_id = p_site
             ORDER BY i.state = 'new' DESC, i.created_at DESC LIMIT p_limit) x;
$$;

-- Marks an item done; with p_text, first queues the e-mail answer to the
-- visitor's address (Reply-To the operator), in the same transaction.
-- status: 'ok' (item: the item after), 'not_found' (no such item in this
-- site), 'no_email' (nothing to answer to).
CREATE FUNCTION beseda_inbox_answer(p_site uuid, p_item uuid, p_operator uuid, p_text text)
RETURNS TABLE (status text, item text)
LANGUAGE plpgsql AS $$
DECLARE
    doc json;
    op operators%ROWTYPE;
    site_name text;
    addr text;
BEGIN
    SELECT * INTO op FROM operators o WHERE o.id = p_operator AND o.site_id = p_site;
    PERFORM 1 FROM inbox_items i WHERE i.id = p_item AND i.site_id = p_site FOR UPDATE;
    IF NOT FOUND OR op.id IS NULL THEN
        status := 'not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_text IS NOT NULL THEN
        doc := beseda_inbox_json(p_item);
        addr := doc->>'email';
        IF coalesce(addr, '') = '' THEN
            status := 'no_email';
            RETURN NEXT;
            RETURN;
        END IF;
        SELECT s.name INTO site_name FROM sites s WHERE s.id = p_site;
        INSERT INTO mail_outbox (site_id, kind, inbox_id, conversation_id, recipients, reply_to, subject, body)
        VALUES (p_site, 'reply', p_item, (doc->>'conversation')::uuid, ARRAY[addr], op.email,
                'Re: your message to ' || site_name,
                p_text || E'\n\n-- \n' || op.name || ', ' || site_name || E'\n\n'
                || '> ' || replace(left(doc->>'text', 4000), E'\n', E'\n> ') || E'\n');
    END IF;
    UPDATE inbox_items i SET state = 'done', done_by = p_operator, done_at = now(),
                             reply = CASE WHEN p_text IS NULL THEN i.reply ELSE p_text END
     WHERE i.id = p_item;
    status := 'ok';
    item := beseda_inbox_json(p_item)::text;
    RETURN NEXT;
END;
$$;
