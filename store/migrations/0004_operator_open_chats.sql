-- Each operator's count of open assigned conversations, kept by a trigger.
-- site_queue (asked for every new conversation) used to count them with a
-- join over every open assigned conversation of the site: with 250
-- operators and thousands of open chats that was milliseconds of PostgreSQL
-- time per new conversation on the store's one connection. Now it reads one
-- column per operator. The trigger changes the count in the same
-- transaction as the conversation, so it is exact (never drifts): row
-- changes are the only way a conversation becomes or stops being assigned.
ALTER TABLE operators ADD COLUMN open_chats int NOT NULL DEFAULT 0;

UPDATE operators o SET open_chats = n.cnt
  FROM (SELECT operator_id, count(*) AS cnt FROM conversations
         WHERE state = 'assigned' AND operator_id IS NOT NULL
         GROUP BY operator_id) n
 WHERE o.id = n.operator_id;

-- Adds d to the count of op (nothing for no operator). An operator row that
-- is being deleted (ON DELETE SET NULL on conversations) is simply not found.
CREATE FUNCTION beseda_open_chats_add(op uuid, d int) RETURNS void
LANGUAGE sql AS $$
    UPDATE operators SET open_chats = open_chats + d WHERE id = op AND op IS NOT NULL;
$$;

CREATE FUNCTION beseda_open_chats_trigger() RETURNS trigger
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

-- UPDATE OF: appends (last_seq, owner_epoch, updated_at) do not fire it.
CREATE TRIGGER conversations_open_chats
AFTER INSERT OR DELETE OR UPDATE OF operator_id, state ON conversations
FOR EACH ROW EXECUTE FUNCTION beseda_open_chats_trigger();
