-- E-mail (docs/ROUTING.md "E-mail", docs/STORE.md "Mail"):
-- offline messages and the outbox every store's mailer thread sends from.
-- A request that sends mail commits its outbox row in the same transaction
-- as what it reports, so a mail is never lost and never queued for something
-- that did not happen. (0013 and 0015 are left to the branches using them.)

-- A visitor's message left while nobody was there to chat. client_msg_id is
-- minted by the widget: a retry of the same form stores nothing new.
CREATE TABLE offline_messages (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id       uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    visitor_id    uuid NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    client_msg_id text NOT NULL,
    name          text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    phone         text NOT NULL DEFAULT '',
    body          text NOT NULL,
    ip            text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, visitor_id, client_msg_id)
);
CREATE INDEX offline_messages_site ON offline_messages (site_id, created_at);

-- The outbox. recipients empty: the site's offline.to when it is sent (a
-- site may set up its mail after the row was queued). A row is claimed by
-- setting lease_until (attempts + 1); one whose lease ran out (its store
-- died mid-send) is claimed again. state: pending -> sent | failed.
CREATE TABLE mail_outbox (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id         uuid NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('offline', 'transcript', 'missed')),
    conversation_id uuid REFERENCES conversations(id) ON DELETE SET NULL,
    offline_id      uuid REFERENCES offline_messages(id) ON DELETE SET NULL,
    recipients      text[] NOT NULL DEFAULT '{}',
    reply_to        text NOT NULL DEFAULT '',
    subject         text NOT NULL,
    body            text NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX mail_outbox_conversation ON mail_outbox (conversation_id, kind)
    WHERE conversation_id IS NOT NULL;

-- The site's offline.to as an array ('{}' when it has none).
-- beseda_mail_to(): its current definition is store/sql/mail_to.sql (applied on every start).

-- A conversation's messages as mail text, one line per message (UTC).
-- beseda_mail_transcript(): its current definition is store/sql/mail_transcript.sql (applied on every start).

-- An offline message and its mail, at once. status: 'ok' (stored and
-- queued), 'duplicate' (this client id was stored before: nothing new),
-- 'no_visitor'. The fields are validated by the store first.
-- beseda_offline(): its current definition is store/sql/offline.sql (applied on every start).

-- The visitor's own conversation, mailed to p_email. status: 'ok',
-- 'no_conversation' (no conversation has this id), 'forbidden' (another
-- visitor's or another site's), 'empty' (no messages), 'rate_limited'
-- (p_max transcripts of it queued already).
-- beseda_transcript(): its current definition is store/sql/transcript.sql (applied on every start).

-- A chat that became missed (beseda_route_step 'miss', or whatever else sets
-- missed) queues one notice to the site, in the transaction that missed it;
-- a site that names no offline.to asked for none.
-- beseda_queue_missed(): its current definition is store/sql/queue_missed.sql (applied on every start).

-- trigger conversations_missed_mail: created in store/sql/queue_missed.sql (on every start).
