-- The fair claim order reads the highest claim sequence number overall and per learner on every claim and
-- every queue position; without an index both scan the whole runs table, which only grows.
CREATE INDEX runs_claim_seq ON runs (claim_seq);
CREATE INDEX runs_user_claim_seq ON runs (user_id, claim_seq);
