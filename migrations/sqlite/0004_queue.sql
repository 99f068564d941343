-- The queue's fairness and archive retention: when an old submission's archive was dropped (its bytes are then
-- empty; its runs keep their results), the order in which runs were claimed (a learner served more recently
-- waits behind one who was not), and indexes for counting a learner's live runs and finding their submissions.
ALTER TABLE runs ADD COLUMN claim_seq INTEGER;
ALTER TABLE submissions ADD COLUMN archive_dropped_at INTEGER;

CREATE INDEX runs_user_state ON runs (user_id, state);
CREATE INDEX submissions_user_lab ON submissions (user_id, lab_id, id);
