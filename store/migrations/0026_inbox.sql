-- The operators' inbox (docs/ROUTING.md "Inbox"): every missed chat and
-- every offline message of a site is an item, new until an operator answers
-- it by e-mail (the reply goes through the mail outbox, kind 'reply') or
-- marks it done (a callback made). Items are made by triggers in the
-- transaction that missed the chat or stored the message, so none is lost,
-- and the ones from before this migration are filled in once.

CREATE TABLE inbox_items (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id         uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('missed', 'offline')),
    conversation_id uuid UNIQUE REFERENCES conversations(id) ON DELETE CASCADE,
    offline_id      uuid UNIQUE REFERENCES offline_messages(id) ON DELETE CASCADE,
    state           text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'done')),
    done_by         uuid REFERENCES operators(id) ON DELETE SET NULL,
    done_at         timestamptz,
    reply           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'missed') = (conversation_id IS NOT NULL)),
    CHECK ((kind = 'offline') = (offline_id IS NOT NULL))
);
CREATE INDEX inbox_items_site ON inbox_items (site_id, created_at DESC);

ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('offline', 'transcript', 'missed', 'reply'));
ALTER TABLE mail_outbox ADD COLUMN inbox_id uuid REFERENCES inbox_items(id) ON DELETE SET NULL;

INSERT INTO inbox_items (site_id, kind, conversation_id, created_at)
SELECT c.site_id, 'missed', c.id, coalesce(c.closed_at, c.updated_at) FROM conversations c WHERE c.missed;
INSERT INTO inbox_items (site_id, kind, offline_id, created_at)
SELECT o.site_id, 'offline', o.id, o.created_at FROM offline_messages o;

-- beseda_inbox_missed(): its current definition is store/sql/inbox_missed.sql (applied on every start).
-- trigger conversations_missed_inbox: created in store/sql/inbox_missed.sql (on every start).

-- beseda_inbox_offline(): its current definition is store/sql/inbox_offline.sql (applied on every start).
-- trigger offline_messages_inbox: created in store/sql/inbox_offline.sql (on every start).

-- One item as the API shows it (docs/PROTOCOL.md "Inbox"): the contact is
-- what the visitor gave (offline form; survey, else their visitor record,
-- for a chat), the text what they wrote (a chat: the visitor's messages).
-- beseda_inbox_json(): its current definition is store/sql/inbox_json.sql (applied on every start).

-- The site's newest items, new ones first: {"items":[...]} as text.
-- beseda_inbox_list(): its current definition is store/sql/inbox_list.sql (applied on every start).

-- Marks an item done; with p_text, first queues the e-mail answer to the
-- visitor's address (Reply-To the operator), in the same transaction.
-- status: 'ok' (item: the item after), 'not_found' (no such item in this
-- site), 'no_email' (nothing to answer to).
-- beseda_inbox_answer(): its current definition is store/sql/inbox_answer.sql (applied on every start).
