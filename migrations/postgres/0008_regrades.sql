-- Who re-graded a run and why (issue 15): one row per re-grade run, linking it to the run it was started from,
-- so both run pages show the link and the reason. The requester's name is copied, like the audit log's actor,
-- so the record reads the same after the account changes.
CREATE TABLE regrades (
    run_id          BIGINT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    original_run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    requested_by    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    requester       TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE INDEX regrades_original ON regrades (original_run_id);
