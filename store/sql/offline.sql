-- beseda_offline(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0016, 0020.

-- From 0016_mail.sql:
-- An offline message and its mail, at once. status: 'ok' (stored and
-- queued), 'duplicate' (this client id was stored before: nothing new),
-- 'no_visitor'. The fields are validated by the store first.
CREATE OR REPLACE FUNCTION beseda_offline(p_site uuid, p_visitor uuid, p_client text, p_name text,
                               p_email text, p_phone text, p_body text, p_ip text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    new_id uuid;
    site_name text;
    who text := coalesce(nullif(p_name, ''), nullif(p_email, ''), p_phone);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM visitors v WHERE v.id = p_visitor AND v.site_id = p_site) THEN
        RETURN 'no_visitor';
    END IF;
    IF EXISTS (SELECT 1 FROM offline_messages o WHERE o.site_id = p_site
                 AND o.visitor_id = p_visitor AND o.client_msg_id = p_client) THEN
        RETURN 'duplicate';                          -- a retry is never limited
    END IF;
    IF p_ip <> '' AND (SELECT count(*) FROM offline_messages o
                        WHERE o.site_id = p_site AND o.ip = p_ip
                          AND o.created_at > now() - interval '1 hour') >= 20 THEN
        RETURN 'rate_limited';
    END IF;
    INSERT INTO offline_messages (site_id, visitor_id, client_msg_id, name, email, phone, body, ip)
    VALUES (p_site, p_visitor, p_client, p_name, p_email, p_phone, p_body, p_ip)
    ON CONFLICT (site_id, visitor_id, client_msg_id) DO NOTHING
    RETURNING id INTO new_id;
    IF new_id IS NULL THEN
        RETURN 'duplicate';
    END IF;
    SELECT s.name INTO site_name FROM sites s WHERE s.id = p_site;
    INSERT INTO mail_outbox (site_id, kind, offline_id, recipients, reply_to, subject, body)
    VALUES (p_site, 'offline', new_id, beseda_mail_to(p_site), p_email,
            'Offline message from ' || who || ' (' || site_name || ')',
            'Name: ' || p_name || E'\n' || 'E-mail: ' || p_email || E'\n'
            || 'Phone: ' || p_phone || E'\n' || 'IP: ' || p_ip || E'\n'
            || 'Visitor: ' || p_visitor || E'\n\n' || p_body || E'\n');
    RETURN 'ok';
END;
$$;
