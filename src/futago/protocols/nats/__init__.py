"""NATS (nats-py): the connection that the scale-out ingestion log, event relay and workers share."""
