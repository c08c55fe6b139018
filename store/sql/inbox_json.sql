-- beseda_inbox_json(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0026.

-- From 0026_inbox.sql:
-- One item as the API shows it (docs/PROTOCOL.md "Inbox"): the contact is
-- what the visitor gave (offline form; survey, else their visitor record,
-- for a chat), the text what they wrote (a chat: the visitor's messages).
CREATE OR REPLACE FUNCTION beseda_inbox_json(p_item uuid) RETURNS json
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
