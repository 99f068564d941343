-- Grading metrics for /metrics, read by whichever process serves it, so that one scrape covers the workers of
-- every host sharing the database. A run records when its current attempt entered each live state, and its end
-- adds its stage durations to a histogram kept as counts per bucket (a tiny table: a scrape reads a few rows,
-- never the runs).
ALTER TABLE runs ADD COLUMN building_at INTEGER;
ALTER TABLE runs ADD COLUMN starting_at INTEGER;
ALTER TABLE runs ADD COLUMN checking_at INTEGER;

-- How many finished runs spent a duration in (bound[bucket-1], bound[bucket]] in a stage; the bounds are fixed in
-- the code (store/grading_stats.rs), the last bucket is everything above them.
CREATE TABLE stage_buckets (
    stage  TEXT    NOT NULL,
    bucket INTEGER NOT NULL,
    runs   INTEGER NOT NULL,
    PRIMARY KEY (stage, bucket)
);

-- The histograms' sums and counts.
CREATE TABLE stage_totals (
    stage    TEXT    PRIMARY KEY,
    runs     INTEGER NOT NULL,
    total_ms INTEGER NOT NULL
);

-- Runs ended by a worker or given up on, per outcome, counted when they end (so the count only grows, as a
-- Prometheus counter must, even when accounts and their runs are deleted later).
CREATE TABLE run_outcomes (
    outcome TEXT    PRIMARY KEY,
    runs    INTEGER NOT NULL
);
