-- NGSI-LD temporal instances that are not telemetry readings (issue 19): Relationship, GeoProperty, LanguageProperty,
-- JsonProperty, VocabProperty, ListProperty, ListRelationship instances, and Property instances with a datasetId,
-- a unitCode or sub-attributes. One row per instance: the instance as expanded JSON (without its system members),
-- its times in microseconds since the epoch, and its datasetId ('' for the default instance). Telemetry readings
-- stay in the telemetry tables.
CREATE TABLE IF NOT EXISTS ngsild_temporal_instances (
    twin_id TEXT NOT NULL,
    attr TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL DEFAULT '',
    observed_us BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    modified_us BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (twin_id, attr, instance_id)
);
CREATE INDEX IF NOT EXISTS ngsild_temporal_instances_time ON ngsild_temporal_instances (twin_id, attr, observed_us);
