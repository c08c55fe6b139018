-- beseda_route_step(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0012, 0025.

-- From 0012_routing.sql:
-- One routing step (docs/STORE.md "route_step"): a compare-and-set on
-- route_stage. p_ops: the operators of this step (ring: notified; assign:
-- [0] gets it); each is added to tried. p_deadline_ms 0 = no deadline.
-- p_limit_s: the rule's response limit, kept for the accept that ends a ring.
-- Returns applied and who was ringing before and is not the new operator.
CREATE OR REPLACE FUNCTION beseda_route_step(
    p_site uuid, p_conv uuid, p_from_stage int, p_action text, p_ops uuid[],
    p_deadline_ms bigint, p_from uuid, p_rule text, p_limit_s int)
RETURNS TABLE (applied boolean, ended uuid[])
LANGUAGE plpgsql AS $$
DECLARE
    c conversations%ROWTYPE;
    new_op uuid;
    dl timestamptz := CASE WHEN p_deadline_ms > 0
                           THEN now() + p_deadline_ms * interval '1 millisecond' END;
BEGIN
    applied := false;
    ended := '{}';
    SELECT * INTO c FROM conversations cv
     WHERE cv.id = p_conv AND cv.site_id = p_site FOR UPDATE;
    IF NOT FOUND OR c.route_stage <> p_from_stage OR c.state = 'closed' THEN
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_action = 'ring' THEN
        new_op := NULL;
        IF c.operator_id IS DISTINCT FROM p_from OR cardinality(p_ops) = 0 THEN
            RETURN NEXT; RETURN;
        END IF;
    ELSIF p_action = 'assign' THEN
        new_op := p_ops[1];
        IF new_op IS NULL OR c.operator_id IS DISTINCT FROM p_from
           OR new_op IS NOT DISTINCT FROM c.operator_id THEN
            RETURN NEXT; RETURN;
        END IF;
    ELSIF p_action = 'queue' THEN
        new_op := NULL;
        IF c.operator_id IS DISTINCT FROM p_from THEN
            RETURN NEXT; RETURN;
        END IF;
    ELSIF p_action = 'miss' THEN
        -- Never missed while an operator holds it: that chat is theirs to
        -- answer ('hold' warns them instead).
        IF c.operator_id IS NOT NULL THEN
            RETURN NEXT; RETURN;
        END IF;
        new_op := NULL;
    ELSIF p_action = 'hold' THEN
        -- The response limit passed and nobody is left to escalate to: the
        -- operator keeps the chat (or gets back the one an escalation took
        -- from them), without a deadline.
        new_op := coalesce(c.operator_id, c.held_by);
        IF new_op IS NULL OR c.operator_id IS DISTINCT FROM p_from OR cardinality(p_ops) <> 0
           OR (c.operator_id IS NOT NULL AND c.state <> 'assigned')
           OR NOT EXISTS (SELECT 1 FROM operators o WHERE o.id = new_op AND o.site_id = p_site) THEN
            RETURN NEXT; RETURN;
        END IF;
    ELSE
        RETURN NEXT; RETURN;
    END IF;
    -- Every operator named must be of this site (the router computed them
    -- from this site's settings; this is the tenant wall, not trust).
    IF EXISTS (SELECT 1 FROM unnest(p_ops) u(op)
                WHERE NOT EXISTS (SELECT 1 FROM operators o WHERE o.id = u.op AND o.site_id = p_site)) THEN
        RETURN NEXT; RETURN;
    END IF;

    SELECT coalesce(array_agg(r), '{}') INTO ended
      FROM unnest(c.ringing) r WHERE r IS DISTINCT FROM new_op;
    UPDATE conversations cv SET
        route_stage = cv.route_stage + 1,
        route_rule = CASE WHEN p_action = 'hold' THEN cv.route_rule ELSE coalesce(p_rule, '') END,
        tried = cv.tried || ARRAY(SELECT u FROM unnest(p_ops) u WHERE u <> ALL (cv.tried)),
        updated_at = now(),
        operator_id = new_op,
        state = CASE p_action WHEN 'ring' THEN 'ringing' WHEN 'assign' THEN 'assigned'
                              WHEN 'hold' THEN 'assigned'
                              WHEN 'queue' THEN 'queued' ELSE 'closed' END,
        ringing = CASE WHEN p_action = 'ring' THEN p_ops ELSE '{}' END,
        deadline_at = CASE WHEN p_action IN ('miss', 'hold') THEN NULL ELSE dl END,
        response_limit_s = CASE WHEN p_action = 'hold' THEN cv.response_limit_s
                                ELSE greatest(coalesce(p_limit_s, 0), 0) END,
        accepted_at = CASE WHEN p_action = 'assign' THEN now() ELSE cv.accepted_at END,
        held_by = CASE WHEN p_action IN ('ring', 'queue') AND cv.operator_id IS NOT NULL THEN cv.operator_id
                       WHEN p_action IN ('assign', 'hold') THEN NULL ELSE cv.held_by END,
        missed = CASE WHEN p_action = 'miss' THEN true ELSE cv.missed END,
        closed_at = CASE WHEN p_action = 'miss' THEN now() ELSE cv.closed_at END
     WHERE cv.id = p_conv;
    applied := true;
    RETURN NEXT;
END;
$$;
