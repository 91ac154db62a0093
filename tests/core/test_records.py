"""core.records: the one mapping between dataclass records and their camelCase JSON, and records converted to it
answering exactly what their hand-written methods answered (literal dicts, key order included)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np
import orjson
import pytest

from futago.act.commands.record import CommandRecord
from futago.act.model import Alert
from futago.act.notify.subscribers import Subscriber
from futago.city.features import RiskEntry
from futago.core.alerts import AlertHistoryEntry
from futago.core.audit import AuditEntry, Checkpoint
from futago.core.problems import Problem
from futago.core.records import JsonRecord, camel_case, json_meta, record_from_json, record_to_json
from futago.ingest.pipeline import IngestCounters
from futago.quality.calibration import CalibrationChange
from futago.quality.drift import DriftAlarm
from futago.scale.worker import WorkerCounters
from futago.security.policy import PolicyEntry
from futago.security.privacy import Release
from futago.services.catalog import _Source
from futago.sim.behaviours import InputRef
from futago.sim.calibration import Calibration as SimCalibration
from futago.sim.flood import StageForecast

# --- the mechanism ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Point(JsonRecord):
    lon: float
    lat: float


@dataclass
class _Site(JsonRecord):
    site_id: str
    where: _Point
    corners: list[_Point] = field(default_factory=list)
    by_name: dict[str, _Point] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset()
    nearest: _Point | None = None
    label: str | None = field(default=None, metadata=json_meta("title", omit="none"))
    notes: list[str] = field(default_factory=list, metadata=json_meta(omit="empty"))
    seen_us: int = field(
        default=0, metadata=json_meta("seen", encode=lambda us: us // 1000, decode=lambda ms: ms * 1000)
    )
    cache: dict[str, int] = field(default_factory=dict, metadata=json_meta(skip=True))


def test_camel_case() -> None:
    assert [camel_case(n) for n in ("twin_id", "id", "rmse_before", "a_b_c")] == ["twinId", "id", "rmseBefore", "aBC"]


def test_fields_in_order_camel_cased_nested_converted() -> None:
    site = _Site(
        "s1",
        _Point(1.0, 2.0),
        [_Point(0.0, 0.0)],
        {"gate": _Point(3.0, 4.0)},
        ("b", "a"),
        frozenset({"pump", "gauge"}),
        seen_us=5_000,
        cache={"x": 1},
    )
    body = site.to_json()
    assert body == {
        "siteId": "s1",
        "where": {"lon": 1.0, "lat": 2.0},
        "corners": [{"lon": 0.0, "lat": 0.0}],
        "byName": {"gate": {"lon": 3.0, "lat": 4.0}},
        "tags": ["b", "a"],
        "kinds": ["gauge", "pump"],  # a set as a sorted list
        "nearest": None,  # None is written unless the field omits it
        "seen": 5,
    }
    assert list(body) == ["siteId", "where", "corners", "byName", "tags", "kinds", "nearest", "seen"]
    assert _Site.from_json(body) == replace(site, cache={})  # a skipped field is not read back either


def test_omitted_fields_come_back_as_defaults_and_required_ones_are_needed() -> None:
    site = _Site.from_json({"siteId": "s", "where": {"lon": 1, "lat": 2}, "title": "T", "notes": ["n"], "other": 1})
    assert site == _Site("s", _Point(1, 2), label="T", notes=["n"])
    assert _Site("s", _Point(1, 2), label="T", notes=["n"]).to_json()["title"] == "T"
    with pytest.raises(KeyError, match="where"):
        _Site.from_json({"siteId": "s"})


def test_from_json_rebuilds_tuples_sets_and_nested_records() -> None:
    site = _Site.from_json(
        {
            "siteId": "s",
            "where": {"lon": 1, "lat": 2},
            "corners": [{"lon": 0, "lat": 0}],
            "tags": ["a"],
            "kinds": ["k"],
            "nearest": {"lon": 5, "lat": 6},
            "byName": {"g": {"lon": 7, "lat": 8}},
        }
    )
    assert site.corners == [_Point(0, 0)] and site.nearest == _Point(5, 6) and site.by_name == {"g": _Point(7, 8)}
    assert site.tags == ("a",) and site.kinds == frozenset({"k"})


def test_json_never_shares_the_records_containers() -> None:
    site = _Site("s", _Point(0, 0), notes=["a"])
    body = site.to_json()
    body["notes"].append("b")
    assert site.notes == ["a"]
    again = _Site.from_json(body)
    body["notes"].append("c")
    assert again.notes == ["a", "b"]


def test_a_slotted_record_stays_without_a_dict() -> None:
    assert not hasattr(_Point(1, 2), "__dict__")


def test_json_order_must_name_every_field() -> None:
    @dataclass
    class _Wrong(JsonRecord):
        json_order = ("a",)
        a: int
        b: int

    with pytest.raises(TypeError, match="json_order"):
        _Wrong(1, 2).to_json()


def test_functions_work_on_any_record() -> None:
    assert record_to_json(_Point(1, 2)) == {"lon": 1, "lat": 2}
    assert record_from_json(_Point, {"lon": 1, "lat": 2}) == _Point(1, 2)


# --- converted records answer as before ------------------------------------------------------------------------


def test_alert() -> None:
    alert = Alert(
        "a1",
        "r",
        "t1",
        "warning",
        "raised",
        "2024-01-01T00:00:00Z",
        {"ja": "x", "en": "y"},
        {"v": 1},
        {"zone": "z"},
        2,
        1,
        "2024",
        "bob",
        None,
        [AlertHistoryEntry("t", "raised")],
    )
    body = alert.to_json()
    assert list(body.items()) == [
        ("id", "a1"),
        ("rule", "r"),
        ("twinId", "t1"),
        ("severity", "warning"),
        ("state", "raised"),
        ("raisedAt", "2024-01-01T00:00:00Z"),
        ("message", {"ja": "x", "en": "y"}),
        ("evidence", {"v": 1}),
        ("area", {"zone": "z"}),
        ("occurrences", 2),
        ("escalation", 1),
        ("acknowledgedAt", "2024"),
        ("acknowledgedBy", "bob"),
        ("resolvedAt", None),
        ("history", [{"at": "t", "state": "raised"}]),
    ]
    copy = Alert.from_json(body)
    assert copy == alert and copy.history is not body["history"] and copy.message is not body["message"]
    minimal = {
        "id": "a",
        "rule": "r",
        "twinId": "t",
        "severity": "info",
        "state": "raised",
        "raisedAt": "t",
        "message": {"ja": "j"},
    }
    assert Alert.from_json(minimal) == Alert("a", "r", "t", "info", "raised", "t", {"ja": "j"})


def test_command_record() -> None:
    record = CommandRecord("c1", "t1", "open", {"x": 1}, "recommend", "proposed", "alice", "2024", alert_id="a1")
    body = record.to_json()
    assert list(body)[:10] == [
        "id",
        "twinId",
        "command",
        "payload",
        "mode",
        "state",
        "proposedBy",
        "proposedAt",
        "evidence",
        "alertId",
    ]
    assert body["resultState"] is None and body["admittedUs"] is None and body["history"] == []
    assert body["withdrawnAt"] is None  # the state a proposal takes when its alert resolves undecided
    assert len(body) == 28
    assert CommandRecord.from_json(body) == record


def test_subscriber() -> None:
    subscriber = Subscriber(
        "s1",
        "Sam",
        "en",
        ({"name": "m", "type": "email", "to": "a@b"},),
        home="b1",
        point=(1.0, 2.0),
        rules=("r*",),
        min_severity="warning",
        events=frozenset({"resolved", "raised"}),
    )
    body = subscriber.to_json()
    assert list(body.items()) == [
        ("id", "s1"),
        ("name", "Sam"),
        ("language", "en"),
        ("channels", [{"name": "m", "type": "email", "to": "a@b"}]),
        ("minSeverity", "warning"),
        ("events", ["raised", "resolved"]),
        ("home", "b1"),
        ("point", [1.0, 2.0]),
        ("rules", ["r*"]),
    ]
    assert Subscriber.from_json(body) == subscriber
    assert Subscriber("s2", "S", "ja", ()).to_json() == {
        "id": "s2",
        "name": "S",
        "language": "ja",
        "channels": [],
        "minSeverity": "info",
        "events": ["raised", "escalated", "resolved"],
    }
    assert Subscriber.from_json({"id": "x", "point": [139, 35]}) == Subscriber("x", "x", "ja", (), point=(139.0, 35.0))


def test_policy_entry() -> None:
    assert list(PolicyEntry("user:a", "*", frozenset({"WRITE", "READ"}), "revoke", 7).to_json().items()) == [
        ("id", 7),
        ("subject", "user:a"),
        ("resource", "*"),
        ("permissions", ["READ", "WRITE"]),
        ("effect", "revoke"),
    ]
    assert "id" not in PolicyEntry("user:a", "*", frozenset({"READ"})).to_json()


def test_audit_records_keep_their_snake_case_and_their_hash() -> None:
    entry = AuditEntry(1, "ts", "alice", "put", "twins/a", {"k": [1, 2]}, "0" * 64, "h")
    assert entry.to_json() == {
        "seq": 1,
        "ts": "ts",
        "actor": "alice",
        "action": "put",
        "resource": "twins/a",
        "detail": {"k": [1, 2]},
        "prev": "0" * 64,
        "hash": "h",
    }
    assert entry.computed_hash() == "e6925970af5b049ff8c629082a4f7dfa5a82a4a9a81c14fd5373f76c5cbd6049"
    plain, marked = Checkpoint(3, "h", "ts", "pk", "sig"), Checkpoint(3, "h", "ts", "pk", "sig", "final", "w1")
    assert plain.to_json() == {"seq": 3, "hash": "h", "ts": "ts", "public_key": "pk", "signature": "sig"}
    assert list(marked.to_json())[-2:] == ["kind", "writer"]
    assert Checkpoint.from_json(marked.to_json()) == marked
    assert marked.signed_bytes() == b'{"hash":"h","kind":"final","seq":3,"ts":"ts","writer":"w1"}'


def test_small_records() -> None:
    assert Problem("/a", "m").to_json() == {"pointer": "/a", "message": "m"}
    assert Problem("/a", "m", "id1").to_json() == {"pointer": "/a", "message": "m", "id": "id1"}
    assert RiskEntry("river_flooding", rank_org="o", area_type="w").to_json() == {
        "kind": "river_flooding",
        "rankOrg": "o",
        "areaType": "w",
    }
    assert IngestCounters(1, 2, 3).to_json() == {"messages": 1, "readings": 2, "deadLetters": 3}
    counters = WorkerCounters(1, 2, 3, [0, 5], {0: 1})  # the partitions it consumed at some time are reported
    assert counters.to_json() == {"messages": 1, "batches": 2, "redelivered": 3, "partitions": [0, 5]}
    assert InputRef("flow").to_json() == {"telemetry": "flow"} == InputRef("flow", "").to_json()
    assert InputRef("flow", "t2").to_json() == {"telemetry": "flow", "twin": "t2"}
    source = _Source("mq", "mqtt", "mqtt://h:1883", ((re.compile("a"), re.compile("b")),))
    assert source.to_json() == {"connection": "mq", "type": "mqtt", "endpoint": "mqtt://h:1883"}


def test_records_with_formatted_values() -> None:
    alarm = DriftAlarm(1_700_000_000_000_000, 1_699_999_000_000_000, 0.5, "up")
    assert alarm.to_json() == {
        "detectedAt": "2023-11-14T22:13:20.000Z",
        "estimatedStart": "2023-11-14T21:56:40.000Z",
        "magnitude": 0.5,
        "direction": "up",
    }
    change = CalibrationChange(
        "c1", "t1", "temp", "corrected", "alice", 1_700_000_000_123_456, "fix", {"validFrom": "2024-01-01T00:00:00Z"}
    )
    assert change.to_json() == {
        "calibrationId": "c1",
        "twinId": "t1",
        "telemetry": "temp",
        "action": "corrected",
        "who": "alice",
        "when": "2023-11-14T22:13:20.123456Z",
        "why": "fix",
        "before": {"validFrom": "2024-01-01T00:00:00Z"},
        "after": None,
    }
    assert CalibrationChange.from_json(change.to_json()) == change
    fit = SimCalibration({"a": 1.0}, {"a": float("nan")}, {"a": (0.5, 1.5)}, 0.1, 0.2, 10, True, "ok", ["a"])
    assert list(fit.to_json().items()) == [
        ("params", {"a": 1.0}),
        ("stderr", {"a": None}),
        ("ci95", {"a": [0.5, 1.5]}),
        ("rmse", 0.1),
        ("rmseBefore", 0.2),
        ("n", 10),
        ("success", True),
        ("message", "ok"),
        ("atBound", ["a"]),
    ]
    forecast = StageForecast({0.05: np.array([1.23456, 2.0])}, {"danger": 0.2}, 100, 2)
    assert orjson.dumps(forecast.to_json()) == (
        b'{"members":100,"steps":2,"quantiles":{"q05":[1.2346,2.0]},"exceedanceProbabilities":{"danger":0.2}}'
    )
    release = Release({"53394611": 5}, "1km", 5, 2, 1, None, None, None).to_json()
    assert list(release) == ["level", "k", "cells", "generalised", "suppressed", "mechanism", "epsilon", "delta"]
    assert release["cells"][0]["mesh"] == "53394611" and release["cells"][0]["count"] == 5
