-- The instructors of each cohort: an instructor sees the learners and runs of the cohorts they teach, and only
-- those (admins see all). Instructors who existed before this table taught every cohort; they keep that, so an
-- upgrade takes nothing away until an admin narrows it (`gauntlet cohort remove-instructor`).
CREATE TABLE cohort_staff (
    cohort_id INTEGER NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (cohort_id, user_id)
);

CREATE INDEX cohort_staff_user ON cohort_staff (user_id);

INSERT INTO cohort_staff (cohort_id, user_id, added_at)
SELECT c.id, u.id, u.created_at FROM cohorts c, users u WHERE u.role = 'instructor';
