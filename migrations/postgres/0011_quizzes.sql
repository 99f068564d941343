-- Graded quizzes (issue 15): every attempt at a module's quiz, with what was answered, so the learner sees
-- their history and staff see the best score; the best per week counts toward the module's pillars.

CREATE TABLE quiz_attempts (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The module's week: a quiz is the module's, and modules are keyed by week.
    week       BIGINT  NOT NULL,
    -- JSON object: question id -> the values sent (choice numbers, or the typed text).
    answers    TEXT    NOT NULL,
    correct    BIGINT  NOT NULL,
    total      BIGINT  NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE INDEX quiz_attempts_user_week ON quiz_attempts (user_id, week, id);
