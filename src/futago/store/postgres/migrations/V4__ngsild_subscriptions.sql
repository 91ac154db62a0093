-- NGSI-LD subscriptions (issue 19): the document, and apart from it the leader's delivery counters, per tenant
-- ('' for the default tenant).
CREATE TABLE IF NOT EXISTS ngsild_subscriptions (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    spec TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE IF NOT EXISTS ngsild_subscription_status (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    spec TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);
