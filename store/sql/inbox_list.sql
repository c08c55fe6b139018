-- beseda_inbox_list(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0026.

-- From 0026_inbox.sql:
-- The site's newest items, new ones first: {"items":[...]} as text.
CREATE OR REPLACE FUNCTION beseda_inbox_list(p_site uuid, p_limit int) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('items', coalesce(json_agg(beseda_inbox_json(x.id) ORDER BY x.new DESC, x.created_at DESC), '[]'))::text
      FROM (SELECT i.id, i.created_at, i.state = 'new' AS new FROM inbox_items i
             WHERE i.site_id = p_site
             ORDER BY i.state = 'new' DESC, i.created_at DESC LIMIT p_limit) x;
$$;
