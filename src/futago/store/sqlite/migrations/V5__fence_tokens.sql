-- The fencing token of the leader that wrote a side effect (issue 20), in step with PostgreSQL's V5: deliveries,
-- their outbox bodies and command records. Beside SQLite a file lock decides who leads, so the token is recorded
-- (which process acted) but there is no lease row to refuse a write against. NULL: a process alone.
ALTER TABLE notification_deliveries ADD COLUMN fence_token INTEGER;
ALTER TABLE notification_outbox ADD COLUMN fence_token INTEGER;
ALTER TABLE commands ADD COLUMN fence_token INTEGER;
