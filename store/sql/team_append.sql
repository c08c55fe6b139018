-- beseda_team_append(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0014.

-- From 0014_team.sql:
-- One idempotent team message. The counter row is locked before the
-- duplicate check, so two copies of one message sent at once are answered
-- one 'ok' and one duplicate with the first seq (never a unique violation),
-- and a duplicate consumes no seq. No row returned: the author is not an
-- operator of the site (the tenant wall; the router refuses it before).
CREATE OR REPLACE FUNCTION beseda_team_append(p_site uuid, p_author uuid, p_name text,
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
