-- Graded quizzes (issue 15): every attempt at a module's quiz, with what was answered, so the learner sees
-- their history and staff see the best score; the best per week counts toward the module's pillars.

CREATE TABLE quiz_attempts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The module's week: a quiz is the module's, and modules are keyed by week.
    week       INTEGER NOT NULL,
    -- JSON object: question id -> the values sent (choice numbers, or the typed text).
    answers    TEXT    NOT NULL,
    correct    INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    score      REAL    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX quiz_attempts_user_week ON quiz_attempts (user_id, week, id);
