"""Where the store lives, read once from the ``db`` setting.

The setting is a SQLite file (a path or ``sqlite:///path``), SQLite in memory (``:memory:``), or a database server
(``postgresql://...``). Everything that depends on which of these it is (the adapter, and the files kept beside
the store: keys, checkpoints, the leader lock) asks a ``StoreUrl`` rather than taking the text apart again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
MEMORY = ":memory:"


@dataclass(frozen=True)
class StoreUrl:
    text: str  # as given: a server's may hold credentials, so it is never shown as it is
    path: str  # without a ``sqlite://`` prefix: a file path, ``:memory:``, or a server's URL

    @classmethod
    def parse(cls, text: str) -> StoreUrl:
        return cls(text, text.removeprefix("sqlite:///").removeprefix("sqlite://"))

    @property
    def is_postgres(self) -> bool:
        """Served by the PostgreSQL adapter."""
        return self.text.startswith(POSTGRES_SCHEMES)

    @property
    def is_server(self) -> bool:
        """A database server (any ``scheme://``, once SQLite's own prefix is gone): no file to keep things next to."""
        return "://" in self.path

    @property
    def in_memory(self) -> bool:
        return self.path == MEMORY

    @property
    def file(self) -> Path | None:
        """The SQLite file; None for a server or an in-memory store."""
        return None if self.is_server or self.in_memory else Path(self.path)
