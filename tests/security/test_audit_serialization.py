"""The audit serializes each entry's detail once, as it is recorded, and hashes and stores those very bytes.

What ``verify`` recomputes from a stored row (its parsed detail, as canonical JSON) must be exactly what the writer
hashed, for an NGSI-LD entity's twin and for details that JSON cannot hold as they are; and a detail changed after
it was recorded must not change what was stored.
"""

from __future__ import annotations

import enum
import hashlib
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App
from futago.core.audit import AuditEntry, canonical_json, chain_hash
from futago.security.audit import _canonical, _plain
from tests.ngsild.test_smart_data_models import ID, water_observed


class Level(enum.Enum):
    HIGH = "high"


@dataclass
class Reading:  # orjson writes a dataclass's fields in declaration order, not sorted
    value: float
    unit: str


def odd_details() -> dict[str, dict[str, Any]]:
    """Details the one-pass serialization writes itself, and ones it hands to the JSON copy."""
    return {
        "text": {"name": "多摩川 (田園調布)", "quote": 'a "b" \\ c\n', "emoji": "🌊"},
        "numbers": {"small": 0.1, "huge": 1e300, "negative zero": -0.0, "max": 2**63 - 1, "nan": float("nan")},
        "objects": {
            "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "id": uuid.UUID(int=7),
            "level": Level.HIGH,
            "set": {3},
            "tuple": (1, "two"),
        },
        "non-string keys": {1: "one", "nested": {2.5: [None]}},
        "beyond 64 bits": {"big": 2**70},
        "dataclass": {"reading": Reading(13.4, "CEL")},
    }


@pytest.mark.parametrize("name", list(odd_details()))
def test_the_one_pass_bytes_are_the_canonical_json_of_the_json_copy(name: str) -> None:
    detail = odd_details()[name]
    _, written = _canonical(detail)
    assert written == canonical_json(_plain(detail))  # what the audit hashed before: unchanged
    assert canonical_json(orjson.loads(written)) == written  # what verify recomputes from the stored row


def test_chain_hash_is_the_hash_of_the_canonical_body() -> None:
    entry = AuditEntry(
        7, "2026-01-01T00:00:00.000001Z", "アリス", "twin.created", "twins/x", water_observed(), "ab" * 32
    )
    expected = hashlib.sha256(canonical_json(entry.body())).hexdigest()
    detail_json = canonical_json(entry.detail)
    assert chain_hash(7, entry.ts, entry.actor, entry.action, entry.resource, detail_json, entry.prev) == expected
    assert entry.computed_hash() == expected
    # the bytes, when carried, are what the hash covers; they are never part of the entry's JSON
    carried = AuditEntry(*list(entry.to_json().values())[:-1], detail_json=b'{"changed":1}')
    assert carried.computed_hash() != expected and "detail_json" not in carried.to_json()


def test_an_ngsi_ld_entity_and_odd_details_verify_from_their_stored_rows(app: App) -> None:
    with TestClient(create_api(app)) as client:
        assert client.post("/ngsi-ld/v1/entities", json=water_observed()).status_code == 201
    for name, detail in odd_details().items():
        app.audit.record("tester", "odd", name, detail)
    report = app.audit.verify()
    assert report.ok and report.reason is None
    stored = {e.resource: e for e in app.audit.entries()}
    twin = stored[f"twins/{ID}"].detail["data"]["twin"]
    assert twin["$dtId"] == ID and twin["temperature"] == 13.4 and twin["geometry"]["type"] == "Point"
    assert stored["text"].detail["name"] == "多摩川 (田園調布)" and stored["objects"].detail["level"] == "high"
    assert stored["dataclass"].detail == {"reading": {"value": 13.4, "unit": "CEL"}}
    assert stored["non-string keys"].detail == {"1": "one", "nested": {"2.5": [None]}}
    with sqlite3.connect(app.settings.db) as conn:
        rows = conn.execute("SELECT resource, detail FROM audit").fetchall()
    for resource, text in rows:  # the row holds the bytes the writer hashed: canonical, sorted
        assert text.encode() == canonical_json(orjson.loads(text)), resource


def test_a_detail_changed_after_it_was_recorded_is_stored_as_recorded(app: App) -> None:
    detail = {"data": {"twin": {"temperature": 13.4, "tags": ["river"]}}}
    app.audit.record("tester", "twin.updated", "twins/changing", detail)
    detail["data"]["twin"]["temperature"] = 99.0
    detail["data"]["twin"]["tags"].append("forged")
    app.audit.flush()
    stored = [e for e in app.audit.entries() if e.resource == "twins/changing"]
    assert [e.detail for e in stored] == [{"data": {"twin": {"temperature": 13.4, "tags": ["river"]}}}]
    assert app.audit.verify().ok


def test_a_changed_twin_in_a_stored_row_is_named(app: App) -> None:
    with TestClient(create_api(app)) as client:
        assert client.post("/ngsi-ld/v1/entities", json=water_observed()).status_code == 201
    app.audit.flush()
    with sqlite3.connect(app.settings.db, isolation_level=None) as conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
        seq, text = conn.execute("SELECT seq, detail FROM audit WHERE resource = ?", (f"twins/{ID}",)).fetchone()
        forged = text.replace('"temperature":13.4', '"temperature":31.4')
        assert forged != text
        conn.execute("UPDATE audit SET detail = ? WHERE seq = ?", (forged, seq))
    report = app.audit.verify()
    assert report.ok is False and report.first_bad == seq and "modified" in (report.reason or "")
