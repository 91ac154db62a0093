-- Hosted NGSI-LD @contexts (issue 19, /ngsi-ld/v1/jsonldContexts), shared by every tenant and every process: the
-- @context as the JSON text it was POSTed as, when, and how often a process loaded it.
CREATE TABLE IF NOT EXISTS ngsild_contexts (
    id TEXT PRIMARY KEY,
    context TEXT NOT NULL,
    created_at TEXT NOT NULL,
    hits BIGINT NOT NULL DEFAULT 0,
    last_usage TEXT
);
