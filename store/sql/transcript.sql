-- beseda_transcript(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0016, 0019.

-- From 0016_mail.sql:
-- The visitor's own conversation, mailed to p_email. status: 'ok',
-- 'no_conversation' (no conversation has this id), 'forbidden' (another
-- visitor's or another site's), 'empty' (no messages), 'rate_limited'
-- (p_max transcripts of it queued already).
CREATE OR REPLACE FUNCTION beseda_transcript(p_site uuid, p_visitor uuid, p_conv uuid, p_email text, p_max int)
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
    -- The address is the visitor's to choose and visitors are free to
    -- make: without these a script mails its own text through the site's
    -- mail server to anyone. 10 a day to one address, 100 an hour a site.
    IF (SELECT count(*) FROM mail_outbox o
         WHERE o.site_id = p_site AND o.kind = 'transcript'
           AND o.created_at > now() - interval '1 day'
           AND lower(o.recipients[1]) = lower(p_email)) >= 10
       OR (SELECT count(*) FROM mail_outbox o
            WHERE o.site_id = p_site AND o.kind = 'transcript'
              AND o.created_at > now() - interval '1 hour') >= 100 THEN
        RETURN 'rate_limited_site';
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
