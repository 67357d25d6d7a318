-- Warehouse: current products and their full history as SCD2 versions.
CREATE TABLE products (
    url          TEXT PRIMARY KEY,
    source       TEXT NOT NULL,
    name         TEXT,
    price        REAL,
    currency     TEXT,
    availability TEXT NOT NULL DEFAULT 'unknown',
    sku          TEXT,
    gtin         TEXT,
    brand        TEXT,
    category     TEXT,
    rating       REAL,
    review_count INTEGER,
    image        TEXT,
    method       TEXT,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    version_id   INTEGER NOT NULL,                     -- price_history.id of the current version
    record_hash  TEXT NOT NULL
) STRICT;

CREATE TABLE price_history (
    id           INTEGER PRIMARY KEY,
    url          TEXT NOT NULL,
    source       TEXT NOT NULL,
    valid_from   TEXT NOT NULL,
    valid_to     TEXT,                                 -- NULL: the current version
    price        REAL,
    currency     TEXT,
    availability TEXT NOT NULL,
    record       TEXT NOT NULL,                        -- JSON of the whole version
    record_hash  TEXT NOT NULL,
    fetch_id     INTEGER,
    run_id       INTEGER
) STRICT;
CREATE INDEX price_history_by_url ON price_history (url, valid_from);
