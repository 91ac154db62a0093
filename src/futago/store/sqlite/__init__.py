"""The SQLite adapter (the embedded default)."""

from futago.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
