-- Leadership of a scaled-out deployment (futago.scale.lease): one row per lease, judged by the database's clock so
-- that hosts with skewed clocks agree on who holds it. ``token`` grows at each change of holder: the fencing token.
CREATE TABLE IF NOT EXISTS leader_lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token BIGINT NOT NULL,
    address TEXT,
    expires TIMESTAMPTZ NOT NULL
);
-- What the leader's connectors are doing, for the processes that do not run them; a write with a lower fencing
-- token than the row's (a leader that lost its lease) changes nothing.
CREATE TABLE IF NOT EXISTS connection_states (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    token BIGINT NOT NULL,
    updated TEXT NOT NULL
);
