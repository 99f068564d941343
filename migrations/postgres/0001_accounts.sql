-- Accounts, cohorts, sessions and per-lab progress.
-- Times are Unix milliseconds (BIGINT) so the same queries decode on SQLite and PostgreSQL.

CREATE TABLE cohorts (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT      NOT NULL UNIQUE,
    invite_code TEXT      NOT NULL UNIQUE,
    created_at  BIGINT    NOT NULL
);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT      NOT NULL UNIQUE,
    display_name  TEXT      NOT NULL,
    password_hash TEXT      NOT NULL,
    role          TEXT      NOT NULL CHECK (role IN ('admin', 'instructor', 'learner')),
    cohort_id     BIGINT    REFERENCES cohorts (id),
    created_at    BIGINT    NOT NULL
);

CREATE INDEX users_cohort ON users (cohort_id);

CREATE TABLE sessions (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);

-- Best result per learner and lab; the course map's pillar progress is a query over this table.
CREATE TABLE lab_progress (
    user_id     BIGINT           NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lab_id      TEXT             NOT NULL,
    best_score  DOUBLE PRECISION NOT NULL,
    passed      BIGINT           NOT NULL DEFAULT 0,
    attempts    BIGINT           NOT NULL DEFAULT 0,
    updated_at  BIGINT           NOT NULL,
    PRIMARY KEY (user_id, lab_id)
);
