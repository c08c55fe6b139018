-- beseda_accept(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0012.

-- From 0012_routing.sql:
-- Ring accept (docs/STORE.md "accept"): the one winner is whoever locks the
-- row first while it still rings with them notified. Fenced by epoch as
-- beseda_assign is.
CREATE OR REPLACE FUNCTION beseda_accept(p_site uuid, p_conv uuid, p_operator uuid, p_epoch bigint)
RETURNS TABLE (won boolean, ended uuid[])
LANGUAGE plpgsql AS $$
DECLARE
    c conversations%ROWTYPE;
BEGIN
    won := false;
    ended := '{}';
    SELECT * INTO c FROM conversations cv
     WHERE cv.id = p_conv AND cv.site_id = p_site FOR UPDATE;
    IF NOT FOUND OR c.state <> 'ringing' OR c.operator_id IS NOT NULL
       OR NOT (p_operator = ANY (c.ringing)) OR c.owner_epoch > p_epoch THEN
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT coalesce(array_agg(r), '{}') INTO ended FROM unnest(c.ringing) r WHERE r <> p_operator;
    UPDATE conversations cv SET
        operator_id = p_operator, state = 'assigned',
        route_stage = cv.route_stage + 1, ringing = '{}',
        deadline_at = CASE WHEN cv.response_limit_s > 0
                           THEN now() + cv.response_limit_s * interval '1 second' END,
        accepted_at = now(), updated_at = now(),
        owner_epoch = greatest(cv.owner_epoch, p_epoch)
     WHERE cv.id = p_conv;
    won := true;
    RETURN NEXT;
END;
$$;
