-- beseda_mail_transcript(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0016.

-- From 0016_mail.sql:
-- A conversation's messages as mail text, one line per message (UTC).
CREATE OR REPLACE FUNCTION beseda_mail_transcript(p_conv uuid, p_visitor_label text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(
               to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' '
               || CASE m.author_kind WHEN 'visitor' THEN p_visitor_label
                                     WHEN 'system' THEN '*'
                                     ELSE nullif(m.author_name, '') END
               || ': ' || m.body, E'\n' ORDER BY m.seq), '')
      FROM messages m WHERE m.conversation_id = p_conv;
$$;
