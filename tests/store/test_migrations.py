"""Schema migrations: the pure rules of ``futago.store.migrations`` on synthetic migrations, then each adapter on a
real database (a fresh store records what it applied, reopening applies nothing, a changed repeatable migration or
a new version runs once, a failed one leaves nothing), and ``futago db upgrade --json``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from futago.cli import main
from futago.core.audit import AuditEntry
from futago.store import migrations
from futago.store.migrations import Migration, load, pending, schema_version, upgrade
from futago.store.postgres import PostgresStore
from futago.store.postgres.db import MIGRATIONS as POSTGRES_MIGRATIONS
from futago.store.sqlite.db import MIGRATIONS as SQLITE_MIGRATIONS
from futago.store.sqlite.store import SQLiteStore
from futago.testing.postgres import LocalPostgres
from tests.conftest import database_of_its_own

V1 = Migration(1, "initial", "CREATE TABLE a (x INTEGER)")
V2 = Migration(2, "more", "CREATE TABLE b (x INTEGER)")
R = Migration(None, "views", "CREATE VIEW v AS SELECT 1")


# -- the pure rules ------------------------------------------------------------------------------------------------


def test_keys_checksums_and_the_recording_script() -> None:
    assert (V1.key, V2.key, R.key) == ("V1__initial", "V2__more", "R__views")
    assert V1.checksum == Migration(1, "renamed", V1.sql).checksum != V2.checksum  # the text's, not the name's
    script = V2.script("2026-07-01T00:00:00Z")
    assert script.startswith("CREATE TABLE b (x INTEGER);\nINSERT INTO schema_migrations")
    assert f"VALUES ('V2__more', 2, 'more', '{V2.checksum}', '2026-07-01T00:00:00Z')" in script
    assert "VALUES ('R__views', NULL, 'views'" in R.script("t")
    assert schema_version([V2, R, V1]) == 2 and schema_version([R]) == 0 and schema_version([]) == 0


def test_what_is_pending() -> None:
    everything = [V1, V2, R]
    assert pending(everything, {}) == everything
    applied = {m.key: m.checksum for m in everything}
    assert pending(everything, applied) == []
    changed = Migration(None, "views", "CREATE OR REPLACE VIEW v AS SELECT 2")
    assert pending([V1, V2, changed], applied) == [changed]  # a repeatable runs again when its text changes
    edited = Migration(1, "initial", "CREATE TABLE a (x BIGINT)")
    assert pending([edited, V2, R], applied) == []  # a versioned one never runs twice
    assert pending(everything, {V1.key: V1.checksum}) == [V2, R]


def test_upgrade_runs_what_is_pending_in_order_and_says_what_ran() -> None:
    ran: list[str] = []
    done = upgrade([V1, V2, R], {V1.key: V1.checksum}, ran.append, "2026-07-01T00:00:00Z")
    assert done == ["V2__more", "R__views"]
    assert ran == [V2.script("2026-07-01T00:00:00Z"), R.script("2026-07-01T00:00:00Z")]
    assert upgrade([V1], {V1.key: V1.checksum}, ran.append, "t") == [] and len(ran) == 2

    def failing(script: str) -> None:
        if "TABLE b" in script:
            raise RuntimeError("syntax error")
        ran.append(script)

    with pytest.raises(RuntimeError):  # a failure stops the upgrade: what follows does not run
        upgrade([V1, V2, R], {}, failing, "t")
    assert ran[-1] == V1.script("t")


def test_load_orders_versions_by_number_then_repeatables_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "fake_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, sql in {
        "V10__tenth.sql": "SELECT 10",
        "V2__second.sql": "SELECT 2",
        "R__zeta.sql": "SELECT 'z'",
        "R__alpha.sql": "SELECT 'a'",
        "V1__first.sql": "SELECT 1",
        "notes.txt": "not a migration",
        "V3_one_underscore.sql": "not a migration either",
    }.items():
        (package / name).write_text(sql)
    monkeypatch.syspath_prepend(str(tmp_path))
    found = load("fake_migrations")
    assert [m.key for m in found] == ["V1__first", "V2__second", "V10__tenth", "R__alpha", "R__zeta"]
    assert found[2] == Migration(10, "tenth", "SELECT 10")
    (package / "V2__again.sql").write_text("SELECT 2")
    with pytest.raises(RuntimeError, match="share a version"):
        load("fake_migrations")


def test_each_adapter_ships_a_first_version_and_its_repeatables() -> None:
    # Versions are numbered without gaps, each adapter's in step with the other's (the same schema change under
    # the same number, named for what that adapter needs of it), and a shipped version is never edited.
    assert [m.key for m in load(SQLITE_MIGRATIONS)] == [
        "V1__initial", "V2__connection_states", "V3__shared_state", "V4__ngsild_subscriptions", "V5__fence_tokens",
        "V6__ngsild_contexts", "V7__lease_token_key", "V8__ngsild_temporal_instances", "V9__twin_extra_types",
        "V10__store_identity", "R__append_only",
    ]  # fmt: skip
    assert [m.key for m in load(POSTGRES_MIGRATIONS)] == [
        "V1__initial", "V2__leader_lease", "V3__shared_state", "V4__ngsild_subscriptions", "V5__fence_tokens",
        "V6__ngsild_contexts", "V7__lease_token_key", "V8__ngsild_temporal_instances", "V9__twin_extra_types",
        "V10__store_identity", "R__append_only", "R__twin_geometry",
    ]  # fmt: skip


# -- on a real database --------------------------------------------------------------------------------------------


@pytest.fixture
def empty_postgres_url(postgres_cluster: LocalPostgres) -> Iterator[str]:
    """A new database that no migration has touched (not a copy of the migrated template)."""
    with database_of_its_own(postgres_cluster) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store that has never been opened would live: a file path, or an empty database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "fresh.db")
    url: str = request.getfixturevalue("empty_postgres_url")
    return url


def _open(where: str) -> Any:
    return PostgresStore(where) if where.startswith("postgresql://") else SQLiteStore(where)


def _recorded(store: Any) -> dict[str, tuple[Any, str, str]]:
    rows = store.db.read().execute("SELECT key, version, name, checksum FROM schema_migrations").fetchall()
    return {key: (version, name, checksum) for key, version, name, checksum in rows}


def test_a_fresh_store_records_every_migration_and_reopening_applies_nothing(fresh: str) -> None:
    store = _open(fresh)
    try:
        shipped = load(store.db.migrations_package)
        assert store.db.applied_migrations == [m.key for m in shipped]
        assert _recorded(store) == {m.key: (m.version, m.name, m.checksum) for m in shipped}
        assert store.count_twins() == 0  # the schema is there
    finally:
        store.close()
    again = _open(fresh)
    try:
        assert again.db.applied_migrations == []
        assert again.db.upgrade() == []
    finally:
        again.close()


def test_a_changed_repeatable_migration_runs_again(fresh: str) -> None:
    store = _open(fresh)
    try:
        with store.db.write() as conn:  # as if R__append_only.sql had been edited since it was applied
            conn.execute("UPDATE schema_migrations SET checksum = 'older' WHERE key = 'R__append_only'")
        assert store.db.upgrade() == ["R__append_only"]
        shipped = {m.key: m for m in load(store.db.migrations_package)}
        assert _recorded(store)["R__append_only"][2] == shipped["R__append_only"].checksum
        assert store.db.upgrade() == []
        store.append_audit_batch([lambda seq, prev: AuditEntry(seq, "t", "me", "test", "x", {}, prev, "h")])
        with pytest.raises(Exception, match="append-only"), store.db.write() as conn:
            conn.execute("DELETE FROM audit")  # the re-created triggers still guard the audit
    finally:
        store.close()


def test_only_a_new_version_runs_on_an_upgraded_store(fresh: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _open(fresh).close()
    shipped = migrations.load
    v2 = Migration(2, "probe", "CREATE TABLE probe (x INTEGER)")
    monkeypatch.setattr(migrations, "load", lambda package: [*shipped(package), v2])
    store = _open(fresh)
    try:
        assert store.db.applied_migrations == ["V2__probe"]
        assert _recorded(store)["V2__probe"] == (2, "probe", v2.checksum)
        with store.db.write() as conn:
            conn.execute("INSERT INTO probe (x) VALUES (?)", (7,))
        assert store.db.read().execute("SELECT x FROM probe").fetchall() == [(7,)]
    finally:
        store.close()
    again = _open(fresh)
    assert again.db.applied_migrations == []
    again.close()


def test_a_failed_migration_leaves_nothing_behind(fresh: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _open(fresh).close()
    shipped = migrations.load
    broken = Migration(2, "broken", "CREATE TABLE half (x INTEGER);\nINSERT INTO no_such_table VALUES (1)")
    monkeypatch.setattr(migrations, "load", lambda package: [*shipped(package), broken])
    with pytest.raises(Exception, match="no_such_table"):
        _open(fresh)
    monkeypatch.setattr(migrations, "load", shipped)
    store = _open(fresh)
    try:
        assert store.db.applied_migrations == [] and "V2__broken" not in _recorded(store)
        with pytest.raises(Exception, match="half"):
            store.db.read().execute("SELECT x FROM half").fetchall()
    finally:
        store.close()


def test_db_upgrade_json_on_each_adapter(fresh: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no futago.toml of the caller's
    runner = CliRunner()
    first = runner.invoke(main, ["db", "upgrade", "--db", fresh, "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    adapter = "postgresql" if fresh.startswith("postgresql://") else "sqlite"
    shipped = [m.key for m in load(POSTGRES_MIGRATIONS if adapter == "postgresql" else SQLITE_MIGRATIONS)]
    assert set(report) == {"db", "adapter", "applied", "version", "migrations"}
    assert report["adapter"] == adapter and report["version"] == schema_version(
        load(POSTGRES_MIGRATIONS if adapter == "postgresql" else SQLITE_MIGRATIONS)
    )
    assert report["applied"] == report["migrations"] == shipped
    assert fresh.rsplit("/", 1)[-1] in report["db"]
    second = runner.invoke(main, ["db", "upgrade", "--db", fresh, "--json"])
    assert second.exit_code == 0, second.output
    assert json.loads(second.output) == {**report, "applied": []}
