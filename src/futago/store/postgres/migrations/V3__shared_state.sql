-- State that must outlive the leading process and be shared by every process (issue 20): the leader's suppression
-- windows and escalation plans, the rendered bodies of deliveries not yet sent (so the next leader can send them),
-- dashboard sessions, the shared refusal and rate budgets, and a stable key that makes dead letters idempotent.
CREATE TABLE IF NOT EXISTS alert_suppressions (
    rule TEXT NOT NULL,
    twin_id TEXT NOT NULL,
    until_us BIGINT NOT NULL,
    PRIMARY KEY (rule, twin_id)
);
CREATE TABLE IF NOT EXISTS alert_escalations (
    alert_id TEXT PRIMARY KEY,
    due_us BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS notification_outbox (
    delivery_id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notification_deliveries_by_outcome ON notification_deliveries (outcome, seq);
CREATE INDEX IF NOT EXISTS notification_deliveries_by_queued ON notification_deliveries (queued_at);
CREATE INDEX IF NOT EXISTS notification_dead_letters_by_failed ON notification_dead_letters (failed_at);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    expires_us BIGINT NOT NULL,
    key_id TEXT,
    principal TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_key ON sessions (key_id);
CREATE TABLE IF NOT EXISTS rate_counts (
    bucket TEXT NOT NULL,
    minute BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (bucket, minute)
);
ALTER TABLE dead_letters ADD COLUMN letter_key TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_by_key ON dead_letters (letter_key);
