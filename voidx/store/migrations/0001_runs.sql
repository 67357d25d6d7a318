-- The run ledger: one row per command invocation (see ARCHITECTURE.md, "Runs").
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    command     TEXT NOT NULL,
    args        TEXT NOT NULL DEFAULT '{}',           -- JSON object of the options given
    as_of       TEXT,                                 -- observation time of the run (UTC ISO 8601)
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    status      TEXT NOT NULL CHECK (status IN
                    ('running', 'ok', 'partial', 'failed', 'interrupted', 'abandoned')),
    counters    TEXT NOT NULL DEFAULT '{}',           -- JSON object of integer/float counters
    error       TEXT,
    pid         INTEGER,
    host        TEXT
) STRICT;
CREATE INDEX runs_by_command ON runs (command, id);
CREATE INDEX runs_by_status ON runs (status);

-- Position of a stage that follows an append-only table by id (etl follows fetches, ...).
CREATE TABLE stage_cursors (
    stage       TEXT PRIMARY KEY,
    position    INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
