-- Accounts, cohorts, sessions and per-lab progress.
-- Times are Unix milliseconds (INTEGER) so the same queries decode on SQLite and PostgreSQL.

CREATE TABLE cohorts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    invite_code TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'instructor', 'learner')),
    cohort_id     INTEGER REFERENCES cohorts (id),
    created_at    INTEGER NOT NULL
);

CREATE INDEX users_cohort ON users (cohort_id);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);

-- Best result per learner and lab; the course map's pillar progress is a query over this table.
CREATE TABLE lab_progress (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lab_id      TEXT    NOT NULL,
    best_score  REAL    NOT NULL,
    passed      INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, lab_id)
);
