-- Transfer with an internal note, and the team chat (
-- docs/ROUTING.md "Transfer and team chat", docs/STORE.md "transfer",
-- "team_append").

-- Internal notes on a conversation: operators only, never sent to visitors.
-- kind 'transfer': written by the operator who handed the chat on.
CREATE TABLE conversation_notes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id         uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    author_id       uuid REFERENCES operators(id) ON DELETE SET NULL,
    to_operator_id  uuid REFERENCES operators(id) ON DELETE SET NULL,
    kind            text NOT NULL CHECK (kind IN ('transfer')),
    body            text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversation_notes_conversation ON conversation_notes (site_id, conversation_id, created_at);

-- Team chat: one room per site. seq is gap-free per site: it comes from the
-- site's counter row, taken under its row lock in the same transaction as
-- the insert (as conversations.last_seq is for messages).
CREATE TABLE team_counters (
    site_id  uuid PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
    last_seq bigint NOT NULL DEFAULT 0
);

CREATE TABLE team_messages (
    site_id       uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    seq           bigint NOT NULL,
    client_msg_id text NOT NULL,
    author_id     uuid NOT NULL,          -- no foreign key: the room keeps what a deleted operator said
    author_name   text NOT NULL DEFAULT '',
    body          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, seq),
    UNIQUE (site_id, client_msg_id, author_id)
);

-- One idempotent team message. The counter row is locked before the
-- duplicate check, so two copies of one message sent at once are answered
-- one 'ok' and one duplicate with the first seq (never a unique violation),
-- and a duplicate consumes no seq. No row returned: the author is not an
-- operator of the site (the tenant wall; the router refuses it before).
-- beseda_team_append(): its current definition is store/sql/team_append.sql (applied on every start).

-- Transfer (docs/STORE.md "transfer"): one transaction that moves the
-- conversation from p_from to the target (compare-and-set on operator_id,
-- fenced by the epoch like beseda_assign), bumps route_stage (every change
-- of operator or state does; docs/ROUTING.md), ends any response deadline,
-- keeps the note and appends the system message "<name> joined the chat"
-- with the next seq. The message's client_msg_id is the transfer id: a retry
-- of a transfer that went through (the bus resends; maybe to another store)
-- finds it and answers applied again, with the same message.
-- Target: p_to, or with p_to NULL the least loaded of p_any with a free
-- place (open/max, then fewer open chats, then id: deterministic).
-- open_chats of both operators follow from the trigger of migration 0004.
-- refused: '' when applied, else why not (see proto StoreTransferReply).
-- beseda_transfer(): its current definition is store/sql/transfer.sql (applied on every start).
