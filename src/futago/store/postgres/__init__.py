"""The PostgreSQL adapter (scale-out): PostGIS geometry, time-partitioned telemetry, COPY appends."""

from futago.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
