-- The schema as it stood before versioned migrations: IF NOT EXISTS, so a store made before them upgrades in place.
-- twins
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    uploaded TEXT NOT NULL,
    decommissioned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS twins (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    etag TEXT NOT NULL,
    updated TEXT NOT NULL,
    properties TEXT NOT NULL,
    geometry TEXT
);
CREATE INDEX IF NOT EXISTS twins_by_model ON twins (model, id);
CREATE VIRTUAL TABLE IF NOT EXISTS twin_bounds USING rtree (rid, min_lon, max_lon, min_lat, max_lat);
CREATE TABLE IF NOT EXISTS relationships (
    source_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    target_id TEXT NOT NULL,
    etag TEXT NOT NULL,
    properties TEXT NOT NULL,
    PRIMARY KEY (source_id, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS relationships_by_name ON relationships (source_id, name);
CREATE INDEX IF NOT EXISTS relationships_by_target ON relationships (target_id);

-- telemetry
CREATE TABLE IF NOT EXISTS tseries (
    id INTEGER PRIMARY KEY,
    twin_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    UNIQUE (twin_id, name)
);
CREATE TABLE IF NOT EXISTS tchunk (
    series_id INTEGER NOT NULL,
    t_start INTEGER NOT NULL,
    t_end INTEGER NOT NULL,
    n INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ts BLOB NOT NULL,
    val BLOB NOT NULL,
    q BLOB NOT NULL,
    PRIMARY KEY (series_id, t_start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tlatest (
    series_id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value BLOB NOT NULL,
    quality INTEGER NOT NULL
);

-- alerts
CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    rule TEXT NOT NULL,
    twin_id TEXT NOT NULL,
    state TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_state ON alerts (state, seq);
CREATE INDEX IF NOT EXISTS alerts_by_rule ON alerts (rule, seq);
CREATE INDEX IF NOT EXISTS alerts_by_twin ON alerts (twin_id, seq);
CREATE TABLE IF NOT EXISTS alert_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_history_by_alert ON alert_history (alert_id, id);

-- audit
CREATE TABLE IF NOT EXISTS audit (
    pos INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    record TEXT NOT NULL
);

-- commands
CREATE TABLE IF NOT EXISTS command_bindings (
    twin_id TEXT NOT NULL,
    command TEXT NOT NULL,
    spec TEXT NOT NULL,
    PRIMARY KEY (twin_id, command)
);
CREATE TABLE IF NOT EXISTS commands (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    twin_id TEXT NOT NULL,
    command TEXT NOT NULL,
    state TEXT NOT NULL,
    admitted_us INTEGER,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS commands_by_state ON commands (state, seq);
CREATE INDEX IF NOT EXISTS commands_by_twin ON commands (twin_id, command, seq);
CREATE INDEX IF NOT EXISTS commands_admitted ON commands (twin_id, command, admitted_us)
    WHERE admitted_us IS NOT NULL;

-- datasets
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    updated TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS datasets_by_kind ON datasets (kind, id);

-- ingest
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connection TEXT NOT NULL,
    source TEXT NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL,
    pointer TEXT NOT NULL,
    received TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_connection ON dead_letters (connection, id);
CREATE TABLE IF NOT EXISTS calibrations (
    twin_id TEXT NOT NULL,
    telemetry TEXT NOT NULL,
    id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (twin_id, telemetry, id)
);
CREATE TABLE IF NOT EXISTS calibration_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    twin_id TEXT NOT NULL,
    telemetry TEXT NOT NULL,
    change TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calibration_changes_by_series ON calibration_changes (twin_id, telemetry, seq);

-- notifications
CREATE TABLE IF NOT EXISTS subscribers (
    id TEXT PRIMARY KEY,
    home TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS subscribers_by_home ON subscribers (home);
CREATE TABLE IF NOT EXISTS notification_deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    alert_id TEXT NOT NULL,
    subscriber_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    outcome TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    sent_at TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notification_deliveries_by_alert ON notification_deliveries (alert_id, seq);
CREATE INDEX IF NOT EXISTS notification_deliveries_by_subscriber ON notification_deliveries (subscriber_id, seq);
CREATE TABLE IF NOT EXISTS notification_dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL,
    subscriber_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    failed_at TEXT NOT NULL,
    letter TEXT NOT NULL
);

-- personal
CREATE TABLE IF NOT EXISTS personal_records (
    id INTEGER PRIMARY KEY,
    person TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    ts INTEGER NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS personal_records_by_person ON personal_records (person, kind, name, ts);
CREATE TABLE IF NOT EXISTS consents (
    person TEXT NOT NULL,
    purpose TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (person, purpose)
);

-- privacy
CREATE TABLE IF NOT EXISTS privacy_budgets (
    dataset TEXT PRIMARY KEY,
    epsilon REAL NOT NULL,
    delta REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS privacy_spends (
    id INTEGER PRIMARY KEY,
    dataset TEXT NOT NULL,
    epsilon REAL NOT NULL,
    delta REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS privacy_spends_by_dataset ON privacy_spends (dataset);

-- security
CREATE TABLE IF NOT EXISTS policies (
    id INTEGER PRIMARY KEY,
    entry TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL
);

-- sim
CREATE TABLE IF NOT EXISTS behaviour_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    behaviour TEXT NOT NULL,
    twin_id TEXT NOT NULL,
    started TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS behaviour_runs_by_behaviour ON behaviour_runs (behaviour, twin_id, id);
CREATE INDEX IF NOT EXISTS behaviour_runs_by_twin ON behaviour_runs (twin_id, id);

-- named specifications
CREATE TABLE IF NOT EXISTS connections (name TEXT PRIMARY KEY, spec TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS behaviours (name TEXT PRIMARY KEY, spec TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alert_rules (name TEXT PRIMARY KEY, spec TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notification_channels (name TEXT PRIMARY KEY, spec TEXT NOT NULL);
