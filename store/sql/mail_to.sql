-- beseda_mail_to(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0016.

-- From 0016_mail.sql:
-- The site's offline.to as an array ('{}' when it has none).
CREATE OR REPLACE FUNCTION beseda_mail_to(p_site uuid) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT array_agg(t) FROM site_settings ss,
                            jsonb_array_elements_text(
                                CASE WHEN jsonb_typeof(ss.offline->'to') = 'array'
                                     THEN ss.offline->'to' ELSE '[]' END) t
                      WHERE ss.site_id = p_site), '{}');
$$;
