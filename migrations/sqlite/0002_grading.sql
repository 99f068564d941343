-- Grading: submissions, runs (the queue), their events, per-check results, and personal API tokens.

-- The uploaded archive, kept in the database so that workers on other machines can read it.
CREATE TABLE submissions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lab_id     TEXT    NOT NULL,
    archive    BLOB    NOT NULL,
    bytes      INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- A run is one grading of one submission; it is the queue's row and its lease.
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id    INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lab_id           TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('queued', 'building', 'starting', 'checking', 'passed', 'failed', 'error')),
    stage            TEXT,
    reason           TEXT,
    detail           TEXT,
    score            REAL,
    seed             INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    worker_id        TEXT,
    lease_expires_at INTEGER,
    heartbeat_at     INTEGER,
    build_log        TEXT    NOT NULL DEFAULT '',
    container_log    TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER
);

CREATE INDEX runs_queue ON runs (state, id);
CREATE INDEX runs_user_lab ON runs (user_id, lab_id, id);

-- What happened during a run, in order: stages, build log lines, check verdicts. The run page replays these on
-- load and then follows new ones, so a reload mid-run shows everything so far.
CREATE TABLE run_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX run_events_run ON run_events (run_id, id);

CREATE TABLE check_results (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    check_id    TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    hint        TEXT    NOT NULL,
    pillar      TEXT    NOT NULL,
    weight      REAL    NOT NULL,
    required    INTEGER NOT NULL,
    verdict     TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (run_id, check_id)
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- One row: this installation's id, which prefixes the run labels on Docker objects so that installations (and
-- test servers) sharing one Docker engine never touch each other's objects.
CREATE TABLE instance (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    id        TEXT    NOT NULL
);
