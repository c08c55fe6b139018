-- beseda_assign(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0006, 0012.

-- From 0006_assign.sql:
-- assign in one round trip: the compare-and-set (docs/STORE.md "assign"),
-- whether the row's last change was this request's (assign_id), and the
-- conversation as it is afterwards. The store used to send these as two or
-- three statements; every new conversation pays one assign. The conditions
-- are those of store/assign.c before this function, unchanged.
-- p_operator NULL = back to the queue; p_from NULL = it has no operator now.
-- The conversation columns follow CONV_COLUMNS (store/rows.h); no row when
-- the conversation is not one of this site's.
CREATE OR REPLACE FUNCTION beseda_assign(
    p_site uuid, p_conv uuid, p_operator uuid, p_epoch bigint, p_from uuid, p_assign_id text)
RETURNS TABLE (updated boolean, mine boolean,
               id uuid, site_id uuid, visitor_id uuid, state text, operator_id text,
               operator_name text, last_seq bigint, created_ms bigint,
               first_url text, first_title text,
               r_missed boolean, r_visitor_name text, r_visitor_email text, r_visitor_phone text,
               r_survey_answer text, r_deadline_ms bigint, r_rule text, r_ringing text,
               r_referrer text, r_language text, r_country text, r_city text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n int;
BEGIN
    UPDATE conversations c
       SET operator_id = p_operator,
           state = CASE WHEN p_operator IS NULL THEN 'queued' ELSE 'assigned' END,
           assign_id = p_assign_id, updated_at = now(),
           owner_epoch = greatest(c.owner_epoch, p_epoch),
           route_stage = c.route_stage + 1,
           ringing = '{}',
           accepted_at = CASE WHEN p_operator IS NULL THEN c.accepted_at ELSE now() END
     WHERE c.site_id = p_site AND c.id = p_conv AND c.state <> 'closed'
       AND c.owner_epoch <= p_epoch
       AND c.operator_id IS NOT DISTINCT FROM p_from
       AND c.operator_id IS DISTINCT FROM p_operator
       AND (p_operator IS NULL OR EXISTS (SELECT 1 FROM operators o
                                           WHERE o.id = p_operator AND o.site_id = p_site));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY
    SELECT n > 0, p_assign_id IS NOT NULL AND c.assign_id IS NOT DISTINCT FROM p_assign_id,
           c.id, c.site_id, c.visitor_id, c.state, coalesce(c.operator_id::text, ''),
           coalesce(o.name, ''), c.last_seq, (extract(epoch FROM c.created_at) * 1000)::bigint,
           c.first_url, c.first_title,
           c.missed, c.visitor_name, c.visitor_email, c.visitor_phone, c.survey_answer,
           coalesce((extract(epoch FROM c.deadline_at) * 1000)::bigint, 0), c.route_rule,
           array_to_string(c.ringing, ','), c.first_referrer, c.first_language, c.country, c.city
      FROM conversations c LEFT JOIN operators o ON o.id = c.operator_id
     WHERE c.site_id = p_site AND c.id = p_conv;
END;
$$;
