-- Cohort-wide re-grades (issue 15). A run's priority orders the claim before everything else: 0 for a learner's
-- own submission, 1 (low) for a run of a cohort re-grade, so a learner's run queued after a whole cohort's
-- re-grade is still graded first. Low-priority runs do not count against a learner's cap on live runs.
ALTER TABLE runs ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;

-- One row per cohort re-grade: who started it, why, when, which lab of which cohort. Names are copied, like the
-- audit log's actor, so the record reads the same after the account changes.
CREATE TABLE regrade_batches (
    id           BIGSERIAL PRIMARY KEY,
    cohort_id    BIGINT NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    lab_id       TEXT    NOT NULL,
    requested_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    requester    TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    created_at   BIGINT NOT NULL
);

-- The batch's runs: for each learner, the run re-graded (the "before") and the re-grade run (the "after").
CREATE TABLE regrade_batch_runs (
    batch_id        BIGINT NOT NULL REFERENCES regrade_batches (id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    original_run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    run_id          BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    PRIMARY KEY (batch_id, user_id)
);

CREATE INDEX regrade_batches_cohort ON regrade_batches (cohort_id, id);
