-- The archive (docs/PROTOCOL.md "Archive", docs/STORE.md "Archive and
-- search"): full-text search of messages and offline messages in Russian and
-- English, and the indexes its filters and keyset pages use. No functions:
-- the queries are store/archive.c's, with parameters.
--
-- One tsvector per row, built with the `russian` configuration: it sends
-- Cyrillic words to the russian_stem (Snowball) dictionary and Latin ones to
-- english_stem, the dictionary of the `english` configuration (see
-- `\dF+ russian`). So «доставки» is stored as 'доставк' and "delivered" as
-- 'deliv', each with its own language's stop words. A query is parsed with
-- the same configuration, so «доставка» finds «доставки» and "delivery"
-- finds "delivered". A generated column: it is computed in the statement that
-- writes the row, so no trigger and nothing to keep in step.

ALTER TABLE messages
    ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('russian'::regconfig, body)) STORED;
CREATE INDEX messages_tsv ON messages USING gin (tsv);

ALTER TABLE offline_messages
    ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('russian'::regconfig, body)) STORED;
CREATE INDEX offline_messages_tsv ON offline_messages USING gin (tsv);

-- Pages newest first, keyset (created_at, id); and one operator's.
CREATE INDEX conversations_site_created ON conversations (site_id, created_at DESC, id DESC);
CREATE INDEX conversations_site_operator ON conversations (site_id, operator_id, created_at DESC, id DESC);
CREATE INDEX offline_messages_site_created ON offline_messages (site_id, created_at DESC, id DESC);
