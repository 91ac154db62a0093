-- The fencing token becomes a key column of the lease row, so that PostgreSQL's row locks tell a takeover from a
-- renewal: a side-effect write reads the lease FOR KEY SHARE (store/sql/db.py, fenced), which blocks an UPDATE that
-- changes a key column (a takeover raises the token) but not one that changes only ``expires`` (the leader's
-- renewal, its release). With FOR SHARE a renewal waited for every side-effect write in flight, and a write slowed
-- by a loaded host could make the leader miss its renewal and lose a lease nobody else had any reason to take.
CREATE UNIQUE INDEX IF NOT EXISTS leader_lease_token_key ON leader_lease (name, token);
