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
-- beseda_open_chats_add(): its current definition is store/sql/open_chats_add.sql (applied on every start).

-- beseda_open_chats_trigger(): its current definition is store/sql/open_chats_trigger.sql (applied on every start).

-- UPDATE OF: appends (last_seq, owner_epoch, updated_at) do not fire it.
-- trigger conversations_open_chats: created in store/sql/open_chats_trigger.sql (on every start).
