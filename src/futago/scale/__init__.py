"""Running on more than one process: NATS JetStream as the ingestion log that stateless ``futago worker``
processes consume, events fanned out to every process over NATS, and the lock that picks the one process running
the stateful parts (connectors, behaviours, alerts, notifications). See docs/scale.md."""
