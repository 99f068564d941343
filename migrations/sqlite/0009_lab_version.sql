-- The version of its lab's files (a SHA-256 of the lab folder, public and hidden files alike) a run was
-- submitted under: a worker whose lab files hash differently leaves the run for one that has the same version,
-- so a half-deployed course change cannot grade a run with other checks. NULL for runs queued before versions
-- were recorded (and runs queued by tools that do not know them): any worker grades those.
ALTER TABLE runs ADD COLUMN lab_version TEXT;
