-- Collector state: the frontier, crawl cycles, fetched pages and their bodies.
CREATE TABLE crawl_cycles (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    run_id      INTEGER REFERENCES runs (id),
    started_at  TEXT NOT NULL,
    finished_at TEXT
) STRICT;
CREATE INDEX crawl_cycles_by_source ON crawl_cycles (source, id);

CREATE TABLE frontier (
    url           TEXT PRIMARY KEY,                   -- canonical URL
    source        TEXT NOT NULL,
    depth         INTEGER NOT NULL DEFAULT 0,
    priority      INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'queued' CHECK (status IN
                      ('queued', 'claimed', 'done', 'failed', 'skipped_robots', 'skipped_filter')),
    cycle_id      INTEGER,                            -- cycle in which the status was set
    claimed_by    INTEGER,                            -- run id holding the lease
    lease_until   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    discovered_at TEXT NOT NULL,
    parent_url    TEXT,
    last_error    TEXT
) STRICT;
CREATE INDEX frontier_pending ON frontier (source, status, priority DESC, depth);

-- Bodies are stored once per content hash, zlib-compressed.
CREATE TABLE bodies (
    hash        TEXT PRIMARY KEY,
    compression TEXT NOT NULL DEFAULT 'zlib',
    size        INTEGER NOT NULL,
    body        BLOB NOT NULL
) STRICT;

-- Latest fetch of each URL (conditional request validators live here).
CREATE TABLE pages (
    url              TEXT PRIMARY KEY,
    source           TEXT NOT NULL,
    final_url        TEXT,
    status_code      INTEGER,
    content_type     TEXT,
    content_hash     TEXT,
    etag             TEXT,
    last_modified    TEXT,
    fetched_at       TEXT NOT NULL,
    first_fetched_at TEXT NOT NULL,
    changed_at       TEXT,
    renderer         TEXT NOT NULL DEFAULT 'http',
    bytes            INTEGER NOT NULL DEFAULT 0,
    elapsed_ms       INTEGER,
    error            TEXT,
    run_id           INTEGER
) STRICT;

-- Every observation, append-only: later stages follow it by id.
CREATE TABLE fetches (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL,
    cycle_id     INTEGER,
    url          TEXT NOT NULL,
    source       TEXT NOT NULL,
    fetched_at   TEXT NOT NULL,
    status_code  INTEGER,
    content_type TEXT,
    content_hash TEXT,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    renderer     TEXT NOT NULL DEFAULT 'http',
    bytes        INTEGER NOT NULL DEFAULT 0,
    elapsed_ms   INTEGER,
    error        TEXT
) STRICT;
CREATE INDEX fetches_by_url ON fetches (url, id);
CREATE INDEX fetches_by_cycle ON fetches (cycle_id, url);
CREATE INDEX fetches_by_hash ON fetches (content_hash);
