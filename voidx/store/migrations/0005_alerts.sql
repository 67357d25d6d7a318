-- Alerts found by analysis; the fingerprint makes each one unique (sent and stored once).
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    severity    TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    observed_at TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}',
    fingerprint TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    run_id      INTEGER
) STRICT;
CREATE INDEX alerts_by_time ON alerts (observed_at);
