-- E-mail (issue 6; docs/ROUTING.md "E-mail", docs/STORE.md "Mail"):
-- offline messages and the outbox every store's mailer thread sends from.
-- A request that sends mail commits its outbox row in the same transaction
-- as what it reports, so a mail is never lost and never queued for something
-- that did not happen. (0013 and 0015 are left to the branches using them.)

-- A visitor's message left while nobody was there to chat. client_msg_id is
-- minted by the widget: a retry of the same form stores nothing new.
CREATE TABLE offline_messages (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id       uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    visitor_id    uuid NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    client_msg_id text NOT NULL,
    name          text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    phone         text NOT NULL DEFAULT '',
    body          text NOT NULL,
    ip            text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, visitor_id, client_msg_id)
);
CREATE INDEX offline_messages_site ON offline_messages (site_id, created_at);

-- The outbox. recipients empty: the site's offline.to when it is sent (a
-- site may set up its mail after the row was queued). A row is claimed by
-- setting lease_until (attempts + 1); one whose lease ran out (its store
-- died mid-send) is claimed again. state: pending -> sent | failed.
CREATE TABLE mail_outbox (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id         uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('offline', 'transcript', 'missed')),
    conversation_id uuid REFERENCES conversations(id) ON DELETE SET NULL,
    offline_id      uuid REFERENCES offline_messages(id) ON DELETE SET NULL,
    recipients      text[] NOT NULL DEFAULT '{}',
    reply_to        text NOT NULL DEFAULT '',
    subject         text NOT NULL,
    body            text NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX mail_outbox_conversation ON mail_outbox (conversation_id, kind)
    WHERE conversation_id IS NOT NULL;

-- The site's offline.to as an array ('{}' when it has none).
CREATE FUNCTION beseda_mail_to(p_site uuid) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT array_agg(t) FROM site_settings ss,
                            jsonb_array_elements_text(
                                CASE WHEN jsonb_typeof(ss.offline->'to') = 'array'
                                     THEN ss.offline->'to' ELSE '[]' END) t
                      WHERE ss.site_id = p_site), '{}');
$$;

-- A conversation's messages as mail text, one line per message (UTC).
CREATE FUNCTION beseda_mail_transcript(p_conv uuid, p_visitor_label text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(
               to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' '
               || CASE m.author_kind WHEN 'visitor' THEN p_visitor_label
                                     WHEN 'system' THEN '*'
                                     ELSE nullif(m.author_name, '') END
               || ': ' || m.body, E'\n' ORDER BY m.seq), '')
      FROM messages m WHERE m.conversation_id = p_conv;
$$;

-- An offline message and its mail, at once. status: 'ok' (stored and
-- queued), 'duplicate' (this client id was stored before: nothing new),
-- 'no_visitor'. The fields are validated by the store first.
CREATE FUNCTION beseda_offline(p_site uuid, p_visitor uuid, p_client text, p_name text,
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

-- The visitor's own conversation, mailed to p_email. status: 'ok',
-- 'no_conversation' (no conversation has this id), 'forbidden' (another
-- visitor's or another site's), 'empty' (no messages), 'rate_limited'
-- (p_max transcripts of it queued already).
CREATE FUNCTION beseda_transcript(p_site uuid, p_visitor uuid, p_conv uuid, p_email text, p_max int)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    site_name text;
    body text;
BEGIN
    -- The row lock makes two requests at once count each other.
    PERFORM 1 FROM conversations c
      WHERE c.id = p_conv AND c.site_id = p_site AND c.visitor_id = p_visitor FOR UPDATE;
    IF NOT FOUND THEN
        RETURN CASE WHEN EXISTS (SELECT 1 FROM conversations c WHERE c.id = p_conv)
                    THEN 'forbidden' ELSE 'no_conversation' END;
    END IF;
    IF (SELECT count(*) FROM mail_outbox o
         WHERE o.conversation_id = p_conv AND o.kind = 'transcript') >= p_max THEN
        RETURN 'rate_limited';
    END IF;
    body := beseda_mail_transcript(p_conv, 'You');
    IF body = '' THEN
        RETURN 'empty';
    END IF;
    SELECT s.name INTO site_name FROM sites s WHERE s.id = p_site;
    INSERT INTO mail_outbox (site_id, kind, conversation_id, recipients, subject, body)
    VALUES (p_site, 'transcript', p_conv, ARRAY[p_email],
            'Your chat with ' || site_name,
            'The transcript of your chat with ' || site_name || ' (times in UTC):' || E'\n\n'
            || left(body, 1000000) || E'\n');
    RETURN 'ok';
END;
$$;

-- A chat that became missed (beseda_route_step 'miss', or whatever else sets
-- missed) queues one notice to the site, in the transaction that missed it;
-- a site that names no offline.to asked for none.
CREATE FUNCTION beseda_queue_missed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    site_name text;
    who text := coalesce(nullif(NEW.visitor_name, ''), nullif(NEW.visitor_email, ''),
                         nullif(NEW.visitor_phone, ''), 'a visitor');
    to_list text[] := beseda_mail_to(NEW.site_id);
BEGIN
    IF cardinality(to_list) = 0 THEN
        RETURN NULL;
    END IF;
    SELECT s.name INTO site_name FROM sites s WHERE s.id = NEW.site_id;
    INSERT INTO mail_outbox (site_id, kind, conversation_id, recipients, reply_to, subject, body)
    VALUES (NEW.site_id, 'missed', NEW.id, to_list, NEW.visitor_email,
            'Missed chat from ' || who || ' (' || site_name || ')',
            'Nobody answered this chat.' || E'\n\n'
            || 'Name: ' || NEW.visitor_name || E'\n' || 'E-mail: ' || NEW.visitor_email || E'\n'
            || 'Phone: ' || NEW.visitor_phone || E'\n' || 'Page: ' || NEW.first_url || E'\n'
            || 'Conversation: ' || NEW.id || E'\n\n'
            || left(beseda_mail_transcript(NEW.id, 'Visitor'), 1000000) || E'\n');
    RETURN NULL;
END;
$$;

CREATE TRIGGER conversations_missed_mail
    AFTER UPDATE OF missed ON conversations
    FOR EACH ROW WHEN (NOT OLD.missed AND NEW.missed)
    EXECUTE FUNCTION beseda_queue_missed();
