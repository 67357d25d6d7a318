-- Answers of the LLM extractor, by (content hash, schema, model): an unchanged page never costs twice.
CREATE TABLE llm_cache (
    content_hash  TEXT NOT NULL,
    schema_hash   TEXT NOT NULL,
    model         TEXT NOT NULL,
    answer        TEXT NOT NULL,                       -- JSON: the validated tool input
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd      REAL NOT NULL,
    created_at    TEXT NOT NULL,
    run_id        INTEGER,
    PRIMARY KEY (content_hash, schema_hash, model)
) STRICT;
