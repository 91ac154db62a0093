"""Personal data: marked in the model, sealed per person at rest, read only with consent, exported on request, and
erased by destroying the person's key (crypto-shredding)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import build
from futago.config import Settings
from futago.core.dtdl.model_set import validate
from futago.core.events import Event
from futago.security.vault import KeyDestroyed, KeyVault
from futago.store.sqlite import SQLiteStore

PERSON = "dtmi:futago:test:Wearer;1"
CONTEXT = ["dtmi:dtdl:context;3", "dtmi:futago:extension:privacy;1"]
WEARER = {
    "@context": CONTEXT,
    "@id": PERSON,
    "@type": "Interface",
    "contents": [
        {"@type": ["Property", "Personal"], "name": "fullName", "schema": "string", "writable": True},
        {"@type": "Property", "name": "ward", "schema": "string", "writable": True},
        {"@type": ["Telemetry", "Personal"], "name": "heartRate", "schema": "double"},
        {"@type": "Telemetry", "name": "battery", "schema": "double"},
    ],
}
NAME = "佐藤花子 Sato Hanako"


def test_the_personal_co_type_needs_its_context_and_a_property_or_telemetry() -> None:
    assert validate([WEARER]) == []
    without = {**WEARER, "@context": "dtmi:dtdl:context;3"}
    assert any("dtmi:futago:extension:privacy;1" in p.message for p in validate([without]))
    command = {**WEARER, "@id": "dtmi:futago:test:Bad;1",
               "contents": [{"@type": ["Command", "Personal"], "name": "ping"}]}  # fmt: skip
    assert any("Personal" in p.message for p in validate([command]))


@pytest.fixture
def served(tmp_path: Path) -> Any:
    app = build(Settings(db=str(tmp_path / "people.db")))
    app.models.add([WEARER])
    seen: list[Event] = []
    app.bus.subscribe(seen.append)
    with TestClient(create_api(app)) as client:
        assert (
            client.put(
                "/twins/w1", json={"$metadata": {"$model": PERSON}, "fullName": NAME, "ward": "Kano"}
            ).status_code
            == 201
        )
        now = int(time.time() * 1000)
        readings = [{"name": "heartRate", "ts": now - i * 1000, "value": 60.0 + i} for i in range(3)]
        readings.append({"name": "battery", "ts": now, "value": 0.8})
        assert client.post("/twins/w1/telemetry", json=readings).status_code in (200, 202)
        yield app, client, seen, tmp_path / "people.db"
    app.close()


def test_personal_values_never_reach_the_twin_the_telemetry_store_or_the_bus(served: Any) -> None:
    app, client, seen, db = served
    twin = client.get("/twins/w1").json()
    assert twin["ward"] == "Kano" and "fullName" not in twin
    assert client.get("/twins/w1/telemetry", params={"name": "heartRate"}).json()["points"] == []
    assert client.get("/twins/w1/telemetry", params={"name": "battery"}).json()["points"][0]["value"] == 0.8
    assert all(NAME not in str(e.data) and "heartRate" not in str(e.data) for e in seen)
    app.audit.flush()
    raw = b"".join(p.read_bytes() for p in db.parent.glob("people.db*") if not p.name.endswith(".keys"))
    assert NAME.encode() not in raw and b"Sato Hanako" not in raw  # sealed at rest, WAL included
    assert len(app.store.personal_records("w1")) == 4  # the name and three heart rates


def test_reading_needs_consent_for_the_purpose(served: Any) -> None:
    _, client, _, _ = served
    refused = client.get("/persons/w1/data", params={"purpose": "care"})
    assert refused.status_code == 403 and "consented" in refused.json()["detail"]
    assert client.put("/persons/w1/consents/care", json={}).status_code == 200
    data = client.get("/persons/w1/data", params={"purpose": "care"}).json()
    assert data["properties"] == {"fullName": NAME}
    assert sorted(r["value"] for r in data["telemetry"]["heartRate"]) == [60.0, 61.0, 62.0]
    assert client.get("/persons/w1/data", params={"purpose": "research"}).status_code == 403  # another purpose
    assert client.delete("/persons/w1/consents/care").status_code == 200
    assert client.get("/persons/w1/data", params={"purpose": "care"}).status_code == 403  # withdrawn
    past = {"expires": "2020-01-01T00:00:00Z"}
    assert client.put("/persons/w1/consents/research", json=past).status_code == 200
    assert client.get("/persons/w1/data", params={"purpose": "research"}).status_code == 403  # expired
    assert client.put("/persons/w1/consents/fun", json={}).json()["errors"][0]["pointer"] == "/purpose"


def test_the_person_can_have_everything_exported(served: Any) -> None:
    _, client, _, _ = served
    client.put("/persons/w1/consents/city_statistics", json={"expires": "2099-01-01T00:00:00Z"})
    exported = client.get("/persons/w1/export").json()
    assert exported["properties"]["fullName"] == NAME and len(exported["telemetry"]["heartRate"]) == 3
    assert [c["purpose"] for c in exported["consents"]] == ["city_statistics"]


def test_erasure_destroys_the_key_so_no_copy_of_the_data_decrypts(served: Any) -> None:
    app, client, _, db = served
    key = app.personal.vault.key("w1")
    backup = db.parent / "backup.db"
    app.audit.flush()
    app.store.db.read().execute(f"VACUUM INTO '{backup}'")  # a consistent copy, as a backup tool would take it
    erased = client.delete("/persons/w1/data").json()
    assert erased["keyDestroyed"] is True and erased["records"] == 4
    exported = client.get("/persons/w1/export").json()
    assert exported["erased"] is True and exported["properties"] == {}
    # The backup still holds the sealed records, and nothing this installation has can open them any more.
    copy = SQLiteStore(backup)
    records = copy.personal_records("w1")
    copy.close()
    assert len(records) == 4
    vault = KeyVault(db.parent / "people.db.keys")
    for kind, name, ts, sealed in records:
        with pytest.raises(KeyDestroyed):
            vault.open("w1", sealed, f"w1\x1f{kind}\x1f{name}\x1f{ts}".encode())
    vault.close()
    assert key not in (db.parent / "people.db.keys").read_bytes()  # the key's bytes are gone from the vault file
    # ...while before erasure the same records opened with that key: the test is not vacuous.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    kind, name, ts, sealed = records[0]
    assert (
        AESGCM(key).decrypt(sealed[:12], sealed[12:], f"w1\x1f{kind}\x1f{name}\x1f{ts}".encode())
        == f'"{NAME}"'.encode()
    )
    app.audit.flush()
    assert any(e.action == "personal.erased" for e in app.audit.entries())


def test_a_people_count_includes_only_those_who_consented_to_city_statistics(served: Any) -> None:
    _, client, _, _ = served
    for i, consent in enumerate([True, True, False]):
        doc = {"$metadata": {"$model": PERSON}, "geometry": {"type": "Point", "coordinates": [139.767, 35.681]}}
        client.put(f"/twins/p{i}", json=doc)
        if consent:
            client.put(f"/persons/p{i}/consents/city_statistics", json={})
    body = client.post("/privacy/releases", json={"model": PERSON, "mesh": "1km", "k": 1}).json()
    assert sum(c["count"] for c in body["cells"]) == 2


def test_a_behaviour_reads_personal_inputs_only_for_a_consented_purpose(served: Any) -> None:
    app, _, _, _ = served
    now = time.time_ns() // 1000
    body = {"model": "robust_z", "twins": ["w1"], "inputs": {"hr": {"telemetry": "heartRate"}},
            "step": "1m", "window": "1h", "horizon": "10m"}  # fmt: skip
    app.behaviours.put("hr-watch", body)
    refused = app.behaviours.run("hr-watch", "w1")[0]
    assert refused["status"] == "failed" and "purpose" in refused["error"]  # personal input, no purpose named
    app.behaviours.put("hr-watch", {**body, "purpose": "care"})
    refused = app.behaviours.run("hr-watch", "w1")[0]
    assert refused["status"] == "failed" and "not consented" in refused["error"]
    app.personal.set_consent("w1", "care", None, "test")
    spec = app.behaviours.get("hr-watch")
    inputs = app.behaviours.gather(spec, "w1", now - 3_600_000_000, now + 60_000_000)
    assert inputs.provenance["inputs"]["hr"]["count"] == 3  # the three sealed heart rates, opened for care
    app.audit.flush()
    reads = [e for e in app.audit.entries() if e.action == "personal.read" and e.actor == "behaviour:hr-watch"]
    assert reads and reads[-1].detail == {"purpose": "care", "telemetry": "heartRate"}


def test_data_stored_after_an_erasure_reads_and_the_erased_records_are_counted(served: Any) -> None:
    _, client, _, _ = served
    assert client.delete("/persons/w1/data").status_code == 200
    doc = {"$metadata": {"$model": PERSON}, "fullName": "new name", "ward": "Kano"}
    assert client.put("/twins/w1", json=doc).status_code == 200  # a new key is made for what comes now
    client.put("/persons/w1/consents/care", json={})
    data = client.get("/persons/w1/data", params={"purpose": "care"})
    assert data.status_code == 200 and data.json()["properties"] == {"fullName": "new name"}
    assert data.json()["erasedRecords"] == 4 and client.get("/persons/w1/export").json()["erased"] is True
