"""The audit's external checkpoints (issue 15, item 6): truncation and forgery are caught without a third party.

Every attack is done as an insider with the store would do it: the append-only triggers dropped, then raw SQL.
The checkpoints written automatically outside the store (``<db>.audit-checkpoints.jsonl``, or ./futago-data for
a database server) are what ``futago audit verify`` holds the chain against.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, audit_checkpoints_path, build, open_store
from futago.cli import main
from futago.config import Settings, load_settings
from futago.core.audit import AuditEntry, Checkpoint
from futago.samples import demo_models
from futago.security.audit import AuditLog, CheckpointSink, verify_entries

BUILDING = "dtmi:futago:demo:Building;1"
TOTAL = len(demo_models()) + 5  # a model.created per demo model, then a twin.created per twin
COLUMNS = "seq, ts, actor, action, resource, detail, prev, hash"


@dataclass
class Closed:
    """A store whose App stopped cleanly, and raw SQL on it with the append-only triggers dropped."""

    db: str
    sink: Path

    @property
    def postgres(self) -> bool:
        return "://" in self.db

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.postgres:
            import psycopg

            with psycopg.connect(self.db, autocommit=True) as conn:
                conn.execute("DROP TRIGGER IF EXISTS audit_append_only ON audit")
                conn.execute("DROP TRIGGER IF EXISTS audit_checkpoints_append_only ON audit_checkpoints")
                cursor = conn.execute(statement.replace("?", "%s"), params)
                return cursor.fetchall() if cursor.description else []
        lite = sqlite3.connect(self.db, isolation_level=None)
        try:
            for trigger in ("no_update", "no_delete", "checkpoints_no_update", "checkpoints_no_delete"):
                lite.execute(f"DROP TRIGGER IF EXISTS audit_{trigger}")
            return lite.execute(statement, params).fetchall()
        finally:
            lite.close()

    def entries(self) -> list[AuditEntry]:
        rows = self.sql(f"SELECT {COLUMNS} FROM audit ORDER BY pos")
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], _detail(r[5]), r[6], r[7]) for r in rows]

    def append(self, entry: AuditEntry) -> None:
        values = (*list(entry.to_json().values())[:5], json.dumps(entry.detail), entry.prev, entry.hash)
        self.sql(f"INSERT INTO audit ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)


def _detail(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else dict(json.loads(value))


def _hashed(entry: AuditEntry) -> AuditEntry:
    return AuditEntry(**{**entry.to_json(), "hash": entry.computed_hash()})


@pytest.fixture(params=["sqlite", "postgres"])
def closed(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Closed]:
    """TOTAL audit entries, written by an App that then stopped cleanly (on each store adapter)."""
    monkeypatch.chdir(tmp_path)  # a database server's store keeps its key and checkpoints in ./futago-data
    db = str(tmp_path / "audited.db") if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    app = build(Settings(db=db))
    app.models.add_missing(demo_models())
    for i in range(5):
        app.twins.put(f"b{i}", {"$metadata": {"$model": BUILDING}, "height": 10.0 + i})
    app.close()
    sink = audit_checkpoints_path(Settings(db=db))
    assert sink is not None and sink.is_file()
    yield Closed(db, sink)


def verify(db: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["audit", "verify", "--db", db, "--json"])
    report: dict[str, Any] = json.loads(result.stdout)
    assert result.exit_code == (0 if report["ok"] else 1)
    return report


def sink_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_clean_shutdown_leaves_the_head_signed_outside_the_store(closed: Closed) -> None:
    report = verify(closed.db)
    assert report["ok"] is True and report["entries"] == TOTAL
    assert report["uncovered"] == 0 and report["truncated"] is False and report["external_checkpoints"] == 1
    assert [line["seq"] for line in sink_lines(closed.sink)] == [TOTAL]
    assert stat.S_IMODE(closed.sink.stat().st_mode) == 0o600


def test_deleting_the_newest_entry_after_a_clean_shutdown_makes_ok_false(closed: Closed) -> None:
    closed.sql("DELETE FROM audit WHERE seq = ?", (TOTAL,))
    report = verify(closed.db)
    assert report["ok"] is False and report["truncated"] is True
    assert report["first_bad"] == TOTAL and report["entries"] == TOTAL - 1 and "removed" in report["reason"]


def test_deleting_every_entry_makes_ok_false(closed: Closed) -> None:
    closed.sql("DELETE FROM audit")
    report = verify(closed.db)
    assert report["ok"] is False and report["truncated"] is True and report["entries"] == 0
    assert report["first_bad"] == 1


def test_a_forged_entry_appended_after_the_newest_checkpoint_is_uncovered(closed: Closed) -> None:
    head = closed.entries()[-1]
    forged = _hashed(AuditEntry(TOTAL + 1, head.ts, "system", "twin.deleted", "twins/b0", {}, head.hash))
    closed.append(forged)
    report = verify(closed.db)
    # The chain itself is well formed and no checkpoint outside the store vouches for the entry (uncovered);
    # a running server's newest entries look the same, but the server stopped cleanly (its last checkpoint is
    # FINAL) and no process resumed since: that is the tell.
    assert report["entries"] == TOTAL + 1 and report["uncovered"] == 1 and report["truncated"] is False
    assert report["ok"] is False and report["first_bad"] == TOTAL + 1
    assert "1 entries were appended after the server stopped cleanly" in report["reason"]


def test_deleting_the_stored_checkpoints_hides_nothing(closed: Closed) -> None:
    signed = CliRunner().invoke(main, ["audit", "checkpoint", "--db", closed.db])
    assert signed.exit_code == 0, signed.output
    closed.sql("DELETE FROM audit_checkpoints")
    closed.sql("DELETE FROM audit WHERE seq > ?", (TOTAL - 2,))
    assert closed.sql("SELECT COUNT(*) FROM audit_checkpoints") == [(0,)]
    report = verify(closed.db)
    assert report["ok"] is False and report["truncated"] is True and report["first_bad"] == TOTAL - 1


def test_a_recomputed_chain_differs_from_the_external_checkpoint(closed: Closed) -> None:
    prev = "0" * 64
    for entry in closed.entries():  # every entry rewritten and rehashed: the chain alone is consistent again
        fixed = _hashed(AuditEntry(entry.seq, entry.ts, "mallory", entry.action, entry.resource, entry.detail, prev))
        closed.sql(
            "UPDATE audit SET actor = ?, prev = ?, hash = ? WHERE seq = ?", ("mallory", prev, fixed.hash, fixed.seq)
        )
        prev = fixed.hash
    closed.sql("DELETE FROM audit_checkpoints")
    report = verify(closed.db)
    assert report["ok"] is False and report["first_bad"] == TOTAL and "rewritten" in report["reason"]


def test_a_checkpoint_signed_with_another_key_covers_nothing(closed: Closed) -> None:
    head = closed.entries()[-1]
    forged = _hashed(AuditEntry(TOTAL + 1, head.ts, "system", "twin.deleted", "twins/b0", {}, head.hash))
    closed.append(forged)
    # The forger signs a checkpoint of the forged head with a key of their own and appends it to the sink.
    stranger = AuditLog(open_store(":memory:"), Ed25519PrivateKey.generate())
    CheckpointSink(closed.sink).append(stranger.checkpoint_at(forged))
    report = verify(closed.db)
    assert report["ok"] is False and report["uncovered"] == 1
    assert any("another key" in problem for problem in report["checkpoint_problems"])


def test_signing_the_head_after_a_truncation_does_not_hide_it(closed: Closed) -> None:
    closed.sql("DELETE FROM audit WHERE seq = ?", (TOTAL,))
    lines = len(sink_lines(closed.sink))
    assert verify(closed.db)["ok"] is False
    assert len(sink_lines(closed.sink)) == lines  # verifying appends nothing: it must not sign what it found
    assert CliRunner().invoke(main, ["audit", "checkpoint", "--db", closed.db]).exit_code == 0
    assert [line["seq"] for line in sink_lines(closed.sink)] == [TOTAL, TOTAL - 1]
    report = verify(closed.db)  # the older checkpoint still names the entry that went
    assert report["ok"] is False and report["truncated"] is True


def test_checkpoints_are_written_every_n_entries_and_t_seconds_after_an_append(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "log.db"))
    sink = CheckpointSink(tmp_path / "outside" / "checkpoints.jsonl")
    audit = AuditLog(store, Ed25519PrivateKey.generate(), checkpoint_every=5, sink=sink, checkpoint_interval_s=0.2)
    for i in range(7):
        audit.record("tester", "x", f"r{i}")
    audit.flush()
    deadline = time.monotonic() + 10
    while [c.seq for c in sink.read()[0]] != [5, 7] and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the writer's timer, not asserting how long it took
    assert [c.seq for c in sink.read()[0]] == [5, 7]
    audit.close()  # nothing appended since the last checkpoint, but the shutdown is marked: the head again, FINAL
    assert [(c.seq, c.kind) for c in sink.read()[0]] == [(5, ""), (7, ""), (7, "final")]
    assert stat.S_IMODE(os.stat(sink.path).st_mode) == 0o600
    report = audit.verify()
    assert report.ok and report.uncovered == 0 and report.checkpoints_verified == 3
    store.close()


def test_closing_signs_the_head_once(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "log.db"))
    sink = CheckpointSink(tmp_path / "checkpoints.jsonl")
    audit = AuditLog(store, Ed25519PrivateKey.generate(), checkpoint_every=0, sink=sink, checkpoint_interval_s=3600)
    for i in range(3):
        audit.record("tester", "x", f"r{i}")
    audit.flush()
    assert sink.read() == ([], []) and audit.verify().uncovered == 3
    audit.close()
    assert [c.seq for c in sink.read()[0]] == [3] and audit.verify().uncovered == 0
    store.close()


def test_entries_appended_while_running_are_uncovered_but_ok(app: App) -> None:
    app.audit.checkpoint_interval_s = 3600
    for i in range(3):
        app.twins.put(f"live-{i}", {"$metadata": {"$model": BUILDING}})
    with TestClient(create_api(app)) as client:
        report = client.get("/audit/verify").json()
        assert report["ok"] is True and report["truncated"] is False
        assert report["uncovered"] == report["entries"] > 0  # nothing signed yet: the server is still running
        assert app.audit.checkpoint() is not None  # what the writer does every N entries or T seconds
        assert client.get("/audit/verify").json()["uncovered"] == 0


def test_the_sink_is_configurable(tmp_path: Path) -> None:
    elsewhere = tmp_path / "worm" / "futago.jsonl"
    settings = load_settings(environ={"FUTAGO_DB": str(tmp_path / "c.db"), "FUTAGO_AUDIT_CHECKPOINTS": str(elsewhere)})
    app = build(settings)
    app.audit.record("tester", "x", "r")
    app.close()
    assert [line["seq"] for line in sink_lines(elsewhere)] == [1]
    assert not Path(f"{tmp_path / 'c.db'}.audit-checkpoints.jsonl").exists()
    config = tmp_path / "futago.toml"
    config.write_text(f'[audit]\ncheckpoints = "{elsewhere}"\n')
    assert load_settings(config, environ={}).audit_checkpoints == str(elsewhere)


def test_a_database_servers_sink_is_named_after_its_database() -> None:
    url = "postgresql://futago:secret@db.example:5432/city?sslmode=require"
    assert (
        audit_checkpoints_path(Settings(db=url))
        == Path("futago-data/audit-checkpoints-db.example-5432-city.jsonl").absolute()
    )
    assert audit_checkpoints_path(Settings(db=":memory:")) is None
    assert audit_checkpoints_path(Settings(db="sqlite:///x/city.db")) == Path("x/city.db.audit-checkpoints.jsonl")


def test_lines_that_are_not_checkpoints_are_named(tmp_path: Path) -> None:
    sink = CheckpointSink(tmp_path / "checkpoints.jsonl")
    sink.path.write_text('{"seq": 1}\nnot json\n')
    checkpoints, problems = sink.read()
    assert checkpoints == [] and len(problems) == 2 and "line 2" in problems[1]


# -- a clean shutdown is marked, and so is the restart after it (issue 15 follow-up to item 6) -------------------


def reopen_and_write(db: str, twin: str) -> App:
    app = build(Settings(db=db))
    app.twins.put(twin, {"$metadata": {"$model": BUILDING}})
    app.audit.flush()
    return app


def test_a_normal_restart_resumes_where_the_shutdown_left(closed: Closed) -> None:
    reopen_and_write(closed.db, "after-restart").close()
    report = verify(closed.db)
    assert report["ok"] is True and report["uncovered"] == 0 and report["entries"] == TOTAL + 1
    lines = sink_lines(closed.sink)
    assert [(line["seq"], line.get("kind")) for line in lines] == [
        (TOTAL, "final"),
        (TOTAL, "resumed"),  # signed before the restarted process appended anything
        (TOTAL + 1, "final"),
    ]
    assert lines[1]["hash"] == lines[0]["hash"] and lines[1]["writer"] == lines[2]["writer"] != lines[0]["writer"]


def test_a_crash_then_a_restart_verifies(closed: Closed, monkeypatch: pytest.MonkeyPatch) -> None:
    crashed = reopen_and_write(closed.db, "before-the-crash")
    for signer in ("_sign_final", "_sign_unsigned"):  # a crash: the process ends without signing anything more
        monkeypatch.setattr(crashed.audit, signer, lambda: None)
    crashed.close()
    report = verify(closed.db)
    assert report["ok"] is True and report["uncovered"] == 1  # resumed, then no FINAL: a crash, not a forgery
    reopen_and_write(closed.db, "after-the-crash").close()
    report = verify(closed.db)
    assert report["ok"] is True and report["uncovered"] == 0 and report["entries"] == TOTAL + 2
    assert [line.get("kind") for line in sink_lines(closed.sink)] == ["final", "resumed", "resumed", "final"]


def test_a_restart_does_not_launder_entries_forged_while_it_was_stopped(closed: Closed) -> None:
    head = closed.entries()[-1]
    closed.append(_hashed(AuditEntry(TOTAL + 1, head.ts, "system", "twin.deleted", "twins/b0", {}, head.hash)))
    reopen_and_write(closed.db, "after-the-forgery").close()  # it resumes at the forged head, and signs past it
    report = verify(closed.db)
    assert report["ok"] is False and report["uncovered"] == 0 and report["first_bad"] == TOTAL + 1
    assert f"stopped cleanly at entry {TOTAL}, but restarted at entry {TOTAL + 1}" in report["reason"]


def test_the_final_checkpoint_is_signed_with_its_mark(closed: Closed) -> None:
    final = sink_lines(closed.sink)[-1]
    assert final["kind"] == "final"
    CheckpointSink(closed.sink).append(Checkpoint.from_json({**final, "kind": ""}))  # the mark struck off
    report = verify(closed.db)
    assert report["ok"] is False and any("signature" in p for p in report["checkpoint_problems"])


def test_an_old_checkpoint_without_marks_still_verifies(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    audit = AuditLog(open_store(":memory:"), key)
    audit.record("tester", "x", "r")
    old = audit.checkpoint()
    assert old is not None
    legacy = Checkpoint(old.seq, old.hash, old.ts, old.public_key, "")
    signature = base64.b64encode(key.sign(legacy.signed_bytes())).decode()  # signed as before marks existed
    legacy = Checkpoint.from_json({k: v for k, v in {**old.to_json(), "signature": signature}.items() if k != "writer"})
    assert legacy.kind == legacy.writer == "" and "writer" not in legacy.to_json()
    report = verify_entries(audit.entries(), external=[legacy], public_key=audit.public_key)
    assert report.ok and report.checkpoints_verified == 1 and report.uncovered == 0
    audit.close()


def test_one_of_several_writers_stopping_is_not_the_server_stopping(tmp_path: Path) -> None:
    """Processes of one deployment share the store and the sink: one stopping while another writes is no forgery,
    nor is the first restarting at the head the other left (a rolling restart)."""
    store = open_store(str(tmp_path / "shared.db"))
    sink, key = CheckpointSink(tmp_path / "checkpoints.jsonl"), Ed25519PrivateKey.generate()

    def writer() -> AuditLog:
        return AuditLog(store, key, checkpoint_every=0, sink=sink, checkpoint_interval_s=3600)

    first, second = writer(), writer()
    for log in (first, second, first):
        log.record("tester", "x", "r")
        log.flush()
    first.close()  # FINAL at 3
    second.record("tester", "x", "r")  # 4, by a process still running
    second.flush()
    restarted = writer()
    restarted.record("tester", "x", "r")  # resumes at 4, not at the 3 the first process left
    restarted.flush()
    second.checkpoint()  # the running process signs in its own time
    for log in (second, restarted):
        log.close()
    report = verify_entries(second.entries(), external=sink.read()[0], public_key=second.public_key)
    assert report.ok, report.reason
    assert report.uncovered == 0 and report.entries == 5
    store.close()
