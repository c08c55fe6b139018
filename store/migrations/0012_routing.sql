-- Routing (docs/ROUTING.md, docs/STORE.md "Routing").
-- Settings are one row per site (three JSON sections, validated by the store
-- before they are written, store/settings.c). A conversation's routing state
-- lives on its row: every routing step is a compare-and-set on route_stage,
-- and deadlines are a column polled by every router, not a timer in one.

CREATE TABLE site_settings (
    site_id    uuid PRIMARY KEY REFERENCES sites ON DELETE CASCADE,
    routing    jsonb NOT NULL DEFAULT '{}',   -- {"timezone":..,"groups":[..],"rules":[..]}
    survey     jsonb NOT NULL DEFAULT '{}',
    offline    jsonb NOT NULL DEFAULT '{}',
    version    bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid
);

-- route_stage: bumped by EVERY change of operator_id or state (assign, close,
-- route steps, accept, transfer) and by the assigned operator's first reply
-- within a response limit, so a step computed from an older read is refused.
ALTER TABLE conversations
    ADD COLUMN route_stage int NOT NULL DEFAULT 0,
    ADD COLUMN route_rule text NOT NULL DEFAULT '',
    ADD COLUMN ringing uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN tried uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN deadline_at timestamptz,
    ADD COLUMN response_limit_s int NOT NULL DEFAULT 0,
    ADD COLUMN missed boolean NOT NULL DEFAULT false,
    ADD COLUMN accepted_at timestamptz,
    ADD COLUMN first_response_at timestamptz,
    ADD COLUMN visitor_name text NOT NULL DEFAULT '',
    ADD COLUMN visitor_email text NOT NULL DEFAULT '',
    ADD COLUMN visitor_phone text NOT NULL DEFAULT '',
    ADD COLUMN survey_answer text NOT NULL DEFAULT '',
    -- The rest of the segment, taken from the visit the chat started on.
    ADD COLUMN first_referrer text NOT NULL DEFAULT '',
    ADD COLUMN first_language text NOT NULL DEFAULT '',
    ADD COLUMN country text NOT NULL DEFAULT '',
    ADD COLUMN city text NOT NULL DEFAULT '';

ALTER TABLE conversations DROP CONSTRAINT conversations_state_check;
ALTER TABLE conversations ADD CONSTRAINT conversations_state_check
    CHECK (state IN ('queued', 'ringing', 'assigned', 'closed'));

CREATE INDEX conversations_deadline ON conversations (deadline_at) WHERE deadline_at IS NOT NULL;
CREATE INDEX conversations_ringing ON conversations USING gin (ringing) WHERE state = 'ringing';

ALTER TABLE visitors
    ADD COLUMN name text NOT NULL DEFAULT '',
    ADD COLUMN email text NOT NULL DEFAULT '',
    ADD COLUMN phone text NOT NULL DEFAULT '',
    ADD COLUMN survey_answer text NOT NULL DEFAULT '';

ALTER TABLE visits
    ADD COLUMN country text NOT NULL DEFAULT '',
    ADD COLUMN city text NOT NULL DEFAULT '';

-- beseda_assign(): also bumps route_stage (the stage rule above), ends a
-- ring, and returns the conversation with every column of CONV_COLUMNS
-- (store/rows.h; keep the two lists alike). Otherwise unchanged from 0006.
DROP FUNCTION IF EXISTS beseda_assign(uuid, uuid, uuid, bigint, uuid, text);
-- beseda_assign(): its current definition is store/sql/assign.sql (applied on every start).

-- One routing step (docs/STORE.md "route_step"): a compare-and-set on
-- route_stage. p_ops: the operators of this step (ring: notified; assign:
-- [0] gets it); each is added to tried. p_deadline_ms 0 = no deadline.
-- p_limit_s: the rule's response limit, kept for the accept that ends a ring.
-- Returns applied and who was ringing before and is not the new operator.
-- beseda_route_step(): its current definition is store/sql/route_step.sql (applied on every start).

-- Ring accept (docs/STORE.md "accept"): the one winner is whoever locks the
-- row first while it still rings with them notified. Fenced by epoch as
-- beseda_assign is.
-- beseda_accept(): its current definition is store/sql/accept.sql (applied on every start).

-- beseda_append(): a conversation a visitor starts copies the visitor's
-- survey data (name, e-mail, phone, answer); the assigned operator's message
-- ends the response-time limit (deadline_at NULL, first_response_at set, and
-- route_stage+1 when a deadline was running, so an escalation computed
-- before the reply is refused). Otherwise unchanged from 0011.
-- beseda_append(): its current definition is store/sql/append.sql (applied on every start).

-- Minutes since Monday 00:00 in the site's time zone (docs/ROUTING.md
-- "timezone"): "UTC+03:00" is three hours east, computed here because
-- PostgreSQL reads the POSIX-style 'UTC+3' as three hours WEST. An IANA name
-- follows its daylight saving. A name the server does not know (it was
-- valid when stored; the tz database changed since) counts as UTC rather than
-- failing the request.
-- beseda_local_minute(): its current definition is store/sql/local_minute.sql (applied on every start).
