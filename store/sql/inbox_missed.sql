-- beseda_inbox_missed(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0026.

CREATE OR REPLACE FUNCTION beseda_inbox_missed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbox_items (site_id, kind, conversation_id)
    VALUES (NEW.site_id, 'missed', NEW.id) ON CONFLICT (conversation_id) DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER conversations_missed_inbox
    AFTER UPDATE OF missed ON conversations
    FOR EACH ROW WHEN (NOT OLD.missed AND NEW.missed)
    EXECUTE FUNCTION beseda_inbox_missed();
