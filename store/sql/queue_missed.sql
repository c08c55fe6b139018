-- beseda_queue_missed(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0016.

-- From 0016_mail.sql:
-- A chat that became missed (beseda_route_step 'miss', or whatever else sets
-- missed) queues one notice to the site, in the transaction that missed it;
-- a site that names no offline.to asked for none.
CREATE OR REPLACE FUNCTION beseda_queue_missed() RETURNS trigger
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

CREATE OR REPLACE TRIGGER conversations_missed_mail
    AFTER UPDATE OF missed ON conversations
    FOR EACH ROW WHEN (NOT OLD.missed AND NEW.missed)
    EXECUTE FUNCTION beseda_queue_missed();
