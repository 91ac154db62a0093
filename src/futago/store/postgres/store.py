"""The scale-out store: PostgreSQL with PostGIS, shared by any number of API servers and ingestion workers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from futago.core.secrets import SecretBox
from futago.store.postgres.db import PostgresDatabase, redact
from futago.store.postgres.telemetry import PostgresTelemetry
from futago.store.postgres.twins import PostgresTwins
from futago.store.sql.alerts import SqlAlerts
from futago.store.sql.audit import SqlAudit
from futago.store.sql.commands import SqlCommands
from futago.store.sql.datasets import SqlDatasets
from futago.store.sql.identity import SqlStoreIdentity
from futago.store.sql.ingest import SqlIngest
from futago.store.sql.ngsild_contexts import SqlNgsiLdContexts
from futago.store.sql.ngsild_instances import SqlNgsiLdInstances
from futago.store.sql.ngsild_subscriptions import SqlNgsiLdSubscriptions
from futago.store.sql.notifications import SqlNotifications
from futago.store.sql.personal import SqlPersonal
from futago.store.sql.privacy import SqlPrivacy
from futago.store.sql.security import SqlSecurity
from futago.store.sql.sim import SqlSim


class PostgresStore(
    PostgresTwins,
    PostgresTelemetry,
    SqlIngest,
    SqlSim,
    SqlAlerts,
    SqlCommands,
    SqlNotifications,
    SqlNgsiLdSubscriptions,
    SqlNgsiLdContexts,
    SqlNgsiLdInstances,
    SqlDatasets,
    SqlAudit,
    SqlSecurity,
    SqlPrivacy,
    SqlPersonal,
    SqlStoreIdentity,
):
    def __init__(self, url: str, secrets: SecretBox | None = None) -> None:
        db = PostgresDatabase(url)
        db.secrets = secrets
        PostgresTwins.__init__(self, db)
        PostgresTelemetry.__init__(self, db)
        for part in (SqlIngest, SqlSim, SqlAlerts, SqlCommands, SqlNotifications, SqlNgsiLdSubscriptions,
                     SqlNgsiLdContexts, SqlNgsiLdInstances, SqlDatasets, SqlAudit, SqlSecurity, SqlPrivacy,
                     SqlPersonal):  # fmt: skip
            part.__init__(self, db)
        self.url = redact(url)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.write():
            yield

    def close(self) -> None:
        self.db.close()
