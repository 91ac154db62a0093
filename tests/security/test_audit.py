"""The tamper-evident audit: every kind of tampering with the stored chain is found, and the first bad entry named.

The tampering is done as someone with the SQLite file would do it: drop the append-only triggers, then edit rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, build
from futago.cli import main
from futago.config import Settings
from futago.core.audit import AuditEntry, Checkpoint
from futago.samples import demo_models
from futago.security.audit import verify_entries

BUILDING = "dtmi:futago:demo:Building;1"
MODELS = len(demo_models())
TOTAL = MODELS + 10  # a model.created per demo model, then a twin.created per twin
COLUMNS = "seq, ts, actor, action, resource, detail, prev, hash"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    """A store with TOTAL audit entries (the demo models, 10 twins), closed: ready to be tampered with."""
    path = tmp_path / "audited.db"
    app = build(Settings(db=str(path)))
    app.models.add_missing(demo_models())
    for i in range(10):
        app.twins.put(f"b{i}", {"$metadata": {"$model": BUILDING}, "height": 10.0 + i})
    app.close()
    yield path


def raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for trigger in ("audit_no_update", "audit_no_delete", "audit_checkpoints_no_update", "audit_checkpoints_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    return conn


def verify(path: Path, *checkpoint_files: Path) -> dict[str, Any]:
    args = ["audit", "verify", "--db", str(path), "--json"]
    for file in checkpoint_files:
        args += ["--checkpoint", str(file)]
    result = CliRunner().invoke(main, args)
    report = json.loads(result.stdout)
    assert result.exit_code == (0 if report["ok"] else 1)
    return report


def entry_at(conn: sqlite3.Connection, seq: int) -> AuditEntry:
    row = conn.execute(f"SELECT {COLUMNS} FROM audit WHERE seq = ?", (seq,)).fetchone()
    return AuditEntry(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], row[7])


def test_an_untouched_chain_verifies(db: Path) -> None:
    report = verify(db)
    assert report["entries"] == TOTAL and report["ok"] is True and report["first_bad"] is None
    with raw(db) as conn:
        actions = [a for (a,) in conn.execute("SELECT action FROM audit ORDER BY pos")]
    assert actions == ["model.created"] * MODELS + ["twin.created"] * 10


def test_the_store_refuses_to_update_or_delete_an_entry(db: Path) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 3")
    conn.close()


def test_a_modified_entry_is_named(db: Path) -> None:
    with raw(db) as conn:
        conn.execute("""UPDATE audit SET actor = 'mallory' WHERE seq = 5""")
    report = verify(db)
    assert report["ok"] is False and report["first_bad"] == 5 and "modified" in report["reason"]


def test_a_deleted_entry_is_named_by_the_one_after_the_gap(db: Path) -> None:
    with raw(db) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 4")
    report = verify(db)
    assert report["ok"] is False and report["first_bad"] == 5 and "4 is missing" in report["reason"]
    assert report["entries"] == TOTAL - 1


def test_an_inserted_entry_is_found(db: Path) -> None:
    with raw(db) as conn:
        # A well-formed forgery linked to entry 3, slipped in before entry 4 (positions moved up to make room).
        third = entry_at(conn, 3)
        forged = AuditEntry(4, third.ts, "mallory", "twin.deleted", "twins/b0", {}, third.hash)
        forged = AuditEntry(*list(forged.to_json().values())[:-1], forged.computed_hash())
        conn.execute("UPDATE audit SET pos = -pos WHERE seq >= 4")
        conn.execute("UPDATE audit SET pos = 1 - pos WHERE pos < 0")
        values = (4, *list(forged.to_json().values())[:5], json.dumps(forged.detail), forged.prev, forged.hash)
        conn.execute(f"INSERT INTO audit (pos, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
    report = verify(db)
    assert report["ok"] is False and report["first_bad"] == 4 and report["entries"] == TOTAL + 1


def test_reordered_entries_are_found(db: Path) -> None:
    with raw(db) as conn:
        conn.execute("UPDATE audit SET pos = 1000 WHERE seq = 6")
        conn.execute("UPDATE audit SET pos = 6 WHERE seq = 7")
        conn.execute("UPDATE audit SET pos = 7 WHERE pos = 1000")
    report = verify(db)
    assert report["ok"] is False and report["first_bad"] == 7 and "where entry 6 should" in report["reason"]


def test_a_rewritten_chain_is_caught_by_a_checkpoint_kept_elsewhere(db: Path, tmp_path: Path) -> None:
    kept = tmp_path / "checkpoint.json"
    result = CliRunner().invoke(main, ["audit", "checkpoint", "--db", str(db), "--out", str(kept)])
    assert result.exit_code == 0, result.output
    checkpoint = Checkpoint.from_json(json.loads(kept.read_text()))
    assert checkpoint.seq == TOTAL
    with raw(db) as conn:
        # Change entry 5 and recompute every hash after it: the chain alone is consistent again...
        conn.execute("DELETE FROM audit_checkpoints")  # ...and the store's own checkpoint is gone too
        prev = entry_at(conn, 4).hash
        for seq in range(5, TOTAL + 1):
            entry = entry_at(conn, seq)
            actor = "mallory" if seq == 5 else entry.actor
            fixed = AuditEntry(seq, entry.ts, actor, entry.action, entry.resource, entry.detail, prev)
            prev = fixed.computed_hash()
            conn.execute("UPDATE audit SET actor = ?, prev = ?, hash = ? WHERE seq = ?", (actor, fixed.prev, prev, seq))
    Path(f"{db}.audit-checkpoints.jsonl").unlink()  # and the sink beside the store is lost with it
    assert verify(db)["ok"] is True  # without a checkpoint kept anywhere, nothing shows
    report = verify(db, kept)
    assert report["ok"] is False and report["first_bad"] == TOTAL and "rewritten" in report["reason"]


def test_a_truncated_chain_is_caught_by_its_checkpoint(db: Path) -> None:
    assert CliRunner().invoke(main, ["audit", "checkpoint", "--db", str(db)]).exit_code == 0
    with raw(db) as conn:
        conn.execute("DELETE FROM audit WHERE seq > ?", (TOTAL - 3,))
    report = verify(db)
    assert report["ok"] is False and report["first_bad"] == TOTAL - 2 and "removed" in report["reason"]


def test_a_forged_checkpoint_signature_is_refused(db: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["audit", "checkpoint", "--db", str(db)])
    good = json.loads(result.stdout)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**good, "ts": "2020-01-01T00:00:00Z"}))  # the signature no longer covers it
    report = verify(db, forged)
    assert report["ok"] is False and report["first_bad"] == TOTAL and "signature" in report["checkpoint_problems"][0]


def test_verify_entries_checks_in_memory_chains_too() -> None:
    assert verify_entries([]).to_json()["entries"] == 0
    first = AuditEntry(1, "t", "a", "x", "r", {}, "0" * 64)
    first = AuditEntry(1, "t", "a", "x", "r", {}, "0" * 64, first.computed_hash())
    assert verify_entries([first]).ok and not verify_entries([first, first]).ok


def test_automatic_checkpoints_are_signed_every_n_entries(app: App) -> None:
    app.audit.checkpoint_every = 5
    for i in range(11):
        app.twins.put(f"c{i}", {"$metadata": {"$model": BUILDING}})
    app.audit.flush()
    seqs = [c.seq for c in app.store.list_audit_checkpoints()]
    assert seqs and all(seq % 5 == 0 for seq in seqs)
    assert app.audit.verify().checkpoints_verified == len(seqs)


def test_api_writes_and_refusals_are_audited_with_the_caller(app: App) -> None:
    app.settings = app.settings.with_overrides(api_token="s3cret")
    auth = {"Authorization": "Bearer s3cret"}
    with TestClient(create_api(app)) as client:
        assert client.put("/twins/api-1", json={"$metadata": {"$model": BUILDING}}, headers=auth).status_code == 201
        assert client.delete("/twins/api-1").status_code == 401
        verified = client.get("/audit/verify", headers=auth)
        assert verified.status_code == 200 and verified.json()["ok"] is True
        entries = client.get("/audit", params={"limit": 1000}, headers=auth).json()["value"]
    by_action = {(e["action"], e["resource"]): e for e in entries}
    assert by_action[("api.put", "/twins/api-1")]["actor"] == "token"
    assert by_action[("api.put", "/twins/api-1")]["detail"]["status"] == 201
    assert by_action[("twin.created", "twins/api-1")]["actor"] == "system"
    refused = by_action[("api.refused", "clients/testclient")]  # refusals are counted per client and minute
    assert refused["actor"] == "anonymous" and refused["detail"]["statuses"] == {"401": 1}
    assert refused["detail"]["examples"] == ["DELETE /twins/api-1"]
    assert ("twin.deleted", "twins/api-1") not in by_action


def test_a_scenario_store_verifies(tmp_path: Path) -> None:
    db = tmp_path / "flood.db"
    result = CliRunner().invoke(main, ["scenario", "flood", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    report = verify(db)
    assert report["ok"] is True and report["entries"] > 100  # twins, the proposal, its approval, notifications


def test_a_detail_json_cannot_hold_as_it_is_is_stored_as_text_and_its_batch_kept(app: App) -> None:
    app.audit.record("tester", "odd", "x", {"big": 2**70, 1: "non-string key", "obj": object()})
    app.audit.record("tester", "plain", "y", {"ok": True})
    assert app.audit.verify().ok
    entries = {e.action: e for e in app.audit.entries()}
    assert entries["odd"].detail["big"] == str(2**70) and entries["odd"].detail["1"] == "non-string key"
    assert "plain" in entries
