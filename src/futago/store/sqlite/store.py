"""The embedded default store: one SQLite file (WAL) holding the twin graph and telemetry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from futago.store.sqlite.alerts import SQLiteAlerts
from futago.store.sqlite.audit import SQLiteAudit
from futago.store.sqlite.commands import SQLiteCommands
from futago.store.sqlite.datasets import SQLiteDatasets
from futago.store.sqlite.db import SQLiteDatabase
from futago.store.sqlite.ingest import SQLiteIngest
from futago.store.sqlite.notifications import SQLiteNotifications
from futago.store.sqlite.personal import SQLitePersonal
from futago.store.sqlite.privacy import SQLitePrivacy
from futago.store.sqlite.security import SQLiteSecurity
from futago.store.sqlite.sim import SQLiteSim
from futago.store.sqlite.telemetry import SQLiteTelemetry
from futago.store.sqlite.twins import SQLiteTwins


class SQLiteStore(
    SQLiteTwins,
    SQLiteTelemetry,
    SQLiteIngest,
    SQLiteSim,
    SQLiteAlerts,
    SQLiteCommands,
    SQLiteNotifications,
    SQLiteDatasets,
    SQLiteAudit,
    SQLiteSecurity,
    SQLitePrivacy,
    SQLitePersonal,
):
    def __init__(self, path: str | Path) -> None:
        db = SQLiteDatabase(path)
        SQLiteTwins.__init__(self, db)
        SQLiteTelemetry.__init__(self, db)
        SQLiteIngest.__init__(self, db)
        SQLiteSim.__init__(self, db)
        SQLiteAlerts.__init__(self, db)
        SQLiteCommands.__init__(self, db)
        SQLiteNotifications.__init__(self, db)
        SQLiteDatasets.__init__(self, db)
        SQLiteAudit.__init__(self, db)
        SQLiteSecurity.__init__(self, db)
        SQLitePrivacy.__init__(self, db)
        SQLitePersonal.__init__(self, db)
        self.url = f"sqlite:///{path}"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.write():
            yield

    def close(self) -> None:
        self.db.close()
