-- The course schedule per cohort (issue 15): a cohort's start date, its overrides of a week's opening or a lab's
-- due date, weeks opened early for one learner, and whether a run was submitted late.

-- When the cohort's week 1 opens (Unix ms, UTC); NULL: no schedule, every week open and nothing due.
ALTER TABLE cohorts ADD COLUMN starts_at INTEGER;

-- A cohort's own dates where course.toml's offsets do not suit it: `kind` is 'week' (item: the week's number,
-- at: when it opens) or 'lab' (item: the lab's id, at: when it is due).
CREATE TABLE cohort_schedule (
    cohort_id INTEGER NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    kind      TEXT    NOT NULL,
    item      TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (cohort_id, kind, item)
);

-- A week an instructor opened early for one learner.
CREATE TABLE early_weeks (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    week      INTEGER NOT NULL,
    opened_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, week)
);

-- When the run's lab was due for its learner at submission (NULL: nothing was due), and whether the submission
-- came after it. A re-grade keeps its submission's.
ALTER TABLE runs ADD COLUMN due_at INTEGER;
ALTER TABLE runs ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
