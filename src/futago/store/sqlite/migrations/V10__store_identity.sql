-- The store's own identity (issue 19): a random id drawn once, when the store is made, and read by every process on
-- it ever after, so that what names this deployment (the NGSI-LD contextSourceAlias) is one for all its hosts and
-- survives restarts.
CREATE TABLE IF NOT EXISTS store_identity (
    id TEXT PRIMARY KEY
);
INSERT INTO store_identity (id) SELECT lower(hex(randomblob(16))) WHERE NOT EXISTS (SELECT 1 FROM store_identity);
