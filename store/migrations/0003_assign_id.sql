-- Reassignment (docs/STORE.md "assign"): a conversation can move from one
-- operator to another, or back to the queue, by compare-and-set on
-- operator_id. assign_id names the assignment that last changed the row, so a
-- retried request (the bus resends, possibly to another store after a crash)
-- can tell "I did this" from "someone else did", and the router publishes the
-- change exactly once. Nullable, no default: adding it rewrites nothing.
ALTER TABLE conversations ADD COLUMN assign_id text;
