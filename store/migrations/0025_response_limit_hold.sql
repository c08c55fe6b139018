-- A chat an operator holds is never missed (docs/ROUTING.md "Response
-- limit on an accepted chat"). beseda_route_step() refuses 'miss' while the
-- conversation has an operator, and gains 'hold': the response limit passed
-- with nobody left to escalate to, so the operator keeps the chat (state
-- assigned, no deadline, route_stage + 1 so a step computed before is
-- refused) and the router warns them. held_by remembers who had it when an
-- escalation rang others ('ring'/'queue' from an operator): when nobody
-- takes it, 'hold' gives it back to them rather than missing it. Otherwise
-- unchanged from 0012. (0021-0024 are left to other branches.)
ALTER TABLE conversations ADD COLUMN held_by uuid REFERENCES operators(id) ON DELETE SET NULL;

-- beseda_route_step(): its current definition is store/sql/route_step.sql (applied on every start).

-- Whoever gets the chat next (accept, assign, transfer, hold) holds it now:
-- the one it was taken from has no claim on it any more.
-- beseda_clear_held_by(): its current definition is store/sql/clear_held_by.sql (applied on every start).
-- trigger conversations_clear_held_by: created in store/sql/clear_held_by.sql (on every start).
