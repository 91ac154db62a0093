-- What the leading process's connectors are doing, for the other processes of the machine (futago.scale.states); a
-- write with a lower fencing token than the row's (a leader that lost its lock) changes nothing.
CREATE TABLE IF NOT EXISTS connection_states (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    token INTEGER NOT NULL,
    updated TEXT NOT NULL
);
