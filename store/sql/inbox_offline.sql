-- beseda_inbox_offline(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0026.

CREATE OR REPLACE FUNCTION beseda_inbox_offline() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbox_items (site_id, kind, offline_id)
    VALUES (NEW.site_id, 'offline', NEW.id) ON CONFLICT (offline_id) DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER offline_messages_inbox
    AFTER INSERT ON offline_messages
    FOR EACH ROW EXECUTE FUNCTION beseda_inbox_offline();
