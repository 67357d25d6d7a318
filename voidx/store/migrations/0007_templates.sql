-- Selector rules learned by the LLM for a page template (structural fingerprint) of a source.
CREATE TABLE template_rules (
    source          TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    rules           TEXT NOT NULL,                     -- JSON: field -> {css, attr, regex}
    model           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'stale', 'failed')),
    sample_url      TEXT,
    validated_pages INTEGER NOT NULL DEFAULT 0,
    pages_applied   INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    learned_at      TEXT NOT NULL,
    PRIMARY KEY (source, fingerprint)
) STRICT;

-- Block and error pages are a status of their own: a failed observation, never a product.
CREATE TABLE extractions_new (
    url               TEXT NOT NULL,
    content_hash      TEXT NOT NULL,
    source            TEXT NOT NULL,
    extractor_version INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('ok', 'no_product', 'quarantined',
                                                      'blocked')),
    method            TEXT,
    record            TEXT,
    provenance        TEXT NOT NULL DEFAULT '{}',
    reason            TEXT,
    extracted_at      TEXT NOT NULL,
    run_id            INTEGER,
    template          TEXT,                            -- structural fingerprint of the page
    PRIMARY KEY (url, content_hash)
) STRICT;
INSERT INTO extractions_new (url, content_hash, source, extractor_version, status, method, record,
                             provenance, reason, extracted_at, run_id)
    SELECT url, content_hash, source, extractor_version, status, method, record, provenance,
           reason, extracted_at, run_id FROM extractions;
DROP VIEW quarantine;
DROP TABLE extractions;
ALTER TABLE extractions_new RENAME TO extractions;
CREATE INDEX extractions_by_status ON extractions (status);
CREATE VIEW quarantine AS
    SELECT url, content_hash, source, extractor_version, reason, extracted_at, run_id
    FROM extractions WHERE status = 'quarantined';
