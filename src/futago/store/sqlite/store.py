"""The embedded default store: one SQLite file (WAL) holding the twin graph and telemetry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from futago.core.secrets import SecretBox
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
from futago.store.sqlite.db import SQLiteDatabase
from futago.store.sqlite.telemetry import SQLiteTelemetry
from futago.store.sqlite.twins import SQLiteTwins


class SQLiteStore(
    SQLiteTwins,
    SQLiteTelemetry,
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
    def __init__(self, path: str | Path, secrets: SecretBox | None = None) -> None:
        db = SQLiteDatabase(path)
        db.secrets = secrets
        SQLiteTwins.__init__(self, db)
        SQLiteTelemetry.__init__(self, db)
        SqlIngest.__init__(self, db)
        SqlSim.__init__(self, db)
        SqlAlerts.__init__(self, db)
        SqlCommands.__init__(self, db)
        SqlNotifications.__init__(self, db)
        SqlNgsiLdSubscriptions.__init__(self, db)
        SqlNgsiLdContexts.__init__(self, db)
        SqlNgsiLdInstances.__init__(self, db)
        SqlDatasets.__init__(self, db)
        SqlAudit.__init__(self, db)
        SqlSecurity.__init__(self, db)
        SqlPrivacy.__init__(self, db)
        SqlPersonal.__init__(self, db)
        self.url = f"sqlite:///{path}"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.write():
            yield

    def close(self) -> None:
        self.db.close()
