"""Versioned and repeatable schema migrations, the same way for every adapter (Flyway's naming).

An adapter keeps its SQL files in its own ``migrations`` folder:

- ``V<n>__<name>.sql`` runs once, in order of ``n``: the forward changes of the schema.
- ``R__<name>.sql`` runs after them whenever its text changes: what can be dropped and made again (triggers,
  functions).

Each file runs in one transaction together with the row that records it in ``schema_migrations``, so a failed
migration leaves nothing half done. Stores apply what is pending when they open; ``futago db upgrade`` does the
same and says what it applied.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

_FILE = re.compile(r"^(?:V(?P<version>\d+)|R)__(?P<name>[a-z0-9_]+)\.sql$")

BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    key TEXT PRIMARY KEY,
    version INTEGER,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Migration:
    version: int | None  # None: repeatable
    name: str
    sql: str

    @property
    def key(self) -> str:
        return f"V{self.version}__{self.name}" if self.version is not None else f"R__{self.name}"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def script(self, applied_at: str) -> str:
        """The migration's SQL followed by the statement that records it (the values are our own, not input)."""
        version = "NULL" if self.version is None else str(self.version)
        return (
            f"{self.sql.rstrip().rstrip(';')};\n"
            "INSERT INTO schema_migrations (key, version, name, checksum, applied) "
            f"VALUES ('{self.key}', {version}, '{self.name}', '{self.checksum}', '{applied_at}') "
            "ON CONFLICT (key) DO UPDATE SET checksum = excluded.checksum, applied = excluded.applied;"
        )


def load(package: str) -> list[Migration]:
    """The migrations in a package folder: versioned ones by number, then repeatable ones by name."""
    found: list[Migration] = []
    for entry in resources.files(package).iterdir():
        match = _FILE.match(entry.name)
        if match is None:
            continue
        version = match["version"]
        found.append(Migration(int(version) if version else None, match["name"], entry.read_text(encoding="utf-8")))
    versions = [m.version for m in found if m.version is not None]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations of {package} share a version number")
    return sorted(found, key=lambda m: (m.version is None, m.version or 0, m.name))


def pending(migrations: list[Migration], applied: dict[str, str]) -> list[Migration]:
    """What still has to run, given the recorded ``key -> checksum``: new versions, and changed repeatables."""
    return [m for m in migrations if m.key not in applied or (m.version is None and applied[m.key] != m.checksum)]


def upgrade(
    migrations: list[Migration], applied: dict[str, str], run_script: Callable[[str], None], applied_at: str
) -> list[str]:
    """Run what is pending, each file in its own transaction (``run_script``); the keys of what ran."""
    done = []
    for migration in pending(migrations, applied):
        run_script(migration.script(applied_at))
        done.append(migration.key)
    return done


def schema_version(migrations: list[Migration]) -> int:
    return max((m.version for m in migrations if m.version is not None), default=0)
