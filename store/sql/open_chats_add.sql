-- beseda_open_chats_add(): current definition, applied with CREATE OR REPLACE on every
-- start after the migrations (docs/STORE.md "SQL functions"). History:
-- migrations 0004.

-- From 0004_operator_open_chats.sql:
-- Adds d to the count of op (nothing for no operator). An operator row that
-- is being deleted (ON DELETE SET NULL on conversations) is simply not found.
CREATE OR REPLACE FUNCTION beseda_open_chats_add(op uuid, d int) RETURNS void
LANGUAGE sql AS $$
    UPDATE operators SET open_chats = open_chats + d WHERE id = op AND op IS NOT NULL;
$$;
