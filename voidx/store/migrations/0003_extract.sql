-- Processor state: one extraction per (url, content hash); quarantined ones keep the reason.
CREATE TABLE extractions (
    url               TEXT NOT NULL,
    content_hash      TEXT NOT NULL,
    source            TEXT NOT NULL,
    extractor_version INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('ok', 'no_product', 'quarantined')),
    method            TEXT,
    record            TEXT,                            -- JSON product record when status = 'ok'
    provenance        TEXT NOT NULL DEFAULT '{}',      -- JSON: field -> where it came from
    reason            TEXT,                            -- why not 'ok'
    extracted_at      TEXT NOT NULL,
    run_id            INTEGER,
    PRIMARY KEY (url, content_hash)
) STRICT;
CREATE INDEX extractions_by_status ON extractions (status);

CREATE VIEW quarantine AS
    SELECT url, content_hash, source, extractor_version, reason, extracted_at, run_id
    FROM extractions WHERE status = 'quarantined';
