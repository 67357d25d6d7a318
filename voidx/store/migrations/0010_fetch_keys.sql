-- The extract stage pages through fetched pages by (url, content_hash): an index in that
-- order lets each batch start at its key instead of grouping every pending row again.
CREATE INDEX fetches_by_key ON fetches (url, content_hash);
