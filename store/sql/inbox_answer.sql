-- beseda_inbox_answer(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0026.

-- From 0026_inbox.sql:
-- Marks an item done; with p_text, first queues the e-mail answer to the
-- visitor's address (Reply-To the operator), in the same transaction.
-- status: 'ok' (item: the item after), 'not_found' (no such item in this
-- site), 'no_email' (nothing to answer to).
CREATE OR REPLACE FUNCTION beseda_inbox_answer(p_site uuid, p_item uuid, p_operator uuid, p_text text)
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
