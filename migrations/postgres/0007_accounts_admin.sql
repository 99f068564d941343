-- Managing cohorts and accounts (issue 15): archived cohorts, invite codes that expire or are capped, deactivated
-- accounts, one-time password-reset codes and the audit log of every staff action.

-- An archived cohort keeps its learners and runs but opens to no one new.
ALTER TABLE cohorts ADD COLUMN archived_at BIGINT;
-- When the invite code stops working (Unix ms, UTC); NULL: never.
ALTER TABLE cohorts ADD COLUMN invite_expires_at BIGINT;
-- How many accounts the invite code may create; NULL: no cap.
ALTER TABLE cohorts ADD COLUMN invite_max_uses BIGINT;
-- How many accounts the current invite code has created (a rotated code starts again at 0).
ALTER TABLE cohorts ADD COLUMN invite_uses BIGINT NOT NULL DEFAULT 0;
UPDATE cohorts SET invite_uses = (SELECT COUNT(*) FROM users u WHERE u.cohort_id = cohorts.id);

-- A deactivated account cannot sign in; its sessions and tokens were ended when it was deactivated.
ALTER TABLE users ADD COLUMN deactivated_at BIGINT;

-- One-time codes an admin issues so a person can set a new password (no e-mail server is assumed). Only a
-- SHA-256 hash of each code is kept.
CREATE TABLE password_resets (
    code_hash  TEXT    PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE INDEX password_resets_user ON password_resets (user_id);

-- Who did what to whom, and when. The actor's name is copied so the entry reads the same after the account
-- changes; actor_id is NULL for the command line.
CREATE TABLE audit_log (
    id       BIGSERIAL PRIMARY KEY,
    at       BIGINT NOT NULL,
    actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    details  TEXT    NOT NULL
);
