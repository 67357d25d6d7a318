-- Message Batches submitted to the LLM provider, kept from the moment they are accepted: a run
-- killed while it waits for one collects it when resumed instead of paying for it twice.
CREATE TABLE llm_batches (
    batch_id      TEXT PRIMARY KEY,                   -- the provider's id
    model         TEXT NOT NULL,
    schema_hash   TEXT NOT NULL,                      -- the answers' schema (their cache key)
    pages         TEXT NOT NULL,                      -- JSON: content hash (custom_id) -> URL
    status        TEXT NOT NULL CHECK (status IN ('submitted', 'collected', 'failed')),
    error         TEXT,                               -- why a batch could not be collected
    submitted_at  TEXT NOT NULL,
    collected_at  TEXT,
    run_id        INTEGER
) STRICT;
