-- Transcripts are mailed to an address the visitor types: besides 3 per
-- conversation, at most 10 a day to one address and 100 an hour per site
-- ('rate_limited_site'), so the site's mail server is no relay for anyone
-- who opens chats in a loop (docs/PROTOCOL.md "transcript").
CREATE INDEX mail_outbox_site_kind ON mail_outbox (site_id, kind, created_at);

-- beseda_transcript(): its current definition is store/sql/transcript.sql (applied on every start).
