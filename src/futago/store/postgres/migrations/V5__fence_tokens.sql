-- The fencing token of the leader that wrote a side effect (issue 20): deliveries and their outbox bodies (the
-- webhook retry queue), and command records. NULL: written by a process alone, or not as the leader (an operator's
-- request). A write whose token is lower than leader_lease's is refused in its transaction (futago.store.sql.db).
ALTER TABLE notification_deliveries ADD COLUMN fence_token BIGINT;
ALTER TABLE notification_outbox ADD COLUMN fence_token BIGINT;
ALTER TABLE commands ADD COLUMN fence_token BIGINT;
