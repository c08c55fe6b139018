-- beseda_clear_held_by(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0025.

-- From 0025_response_limit_hold.sql:
-- Whoever gets the chat next (accept, assign, transfer, hold) holds it now:
-- the one it was taken from has no claim on it any more.
CREATE OR REPLACE FUNCTION beseda_clear_held_by() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.held_by := NULL;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER conversations_clear_held_by
    BEFORE UPDATE OF operator_id ON conversations
    FOR EACH ROW WHEN (NEW.operator_id IS NOT NULL AND NEW.operator_id IS DISTINCT FROM OLD.operator_id)
    EXECUTE FUNCTION beseda_clear_held_by();
