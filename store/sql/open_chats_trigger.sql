-- beseda_open_chats_trigger(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0004.

CREATE OR REPLACE FUNCTION beseda_open_chats_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    was_open boolean := TG_OP <> 'INSERT' AND OLD.state = 'assigned' AND OLD.operator_id IS NOT NULL;
    is_open  boolean := TG_OP <> 'DELETE' AND NEW.state = 'assigned' AND NEW.operator_id IS NOT NULL;
BEGIN
    IF was_open AND is_open AND OLD.operator_id = NEW.operator_id THEN
        RETURN NULL;                              -- still the same operator's open chat
    END IF;
    IF was_open THEN
        PERFORM beseda_open_chats_add(OLD.operator_id, -1);
    END IF;
    IF is_open THEN
        PERFORM beseda_open_chats_add(NEW.operator_id, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER conversations_open_chats
AFTER INSERT OR DELETE OR UPDATE OF operator_id, state ON conversations
FOR EACH ROW EXECUTE FUNCTION beseda_open_chats_trigger();
