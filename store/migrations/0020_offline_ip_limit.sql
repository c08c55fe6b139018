-- Offline forms: at most 20 an hour from one client address per site
-- ('rate_limited'). Visitors are free to make and every form is a mail to
-- the site: without it a script fills the site's inbox and the table.
CREATE INDEX offline_messages_site_ip ON offline_messages (site_id, ip, created_at);

-- beseda_offline(): its current definition is store/sql/offline.sql (applied on every start).
