"""The records that cross the last converted store ports answer with the JSON they always had: dataset records,
policy entries, privacy budgets and spends, consents, and alert history entries."""

from __future__ import annotations

import pytest

from futago.core.alerts import Alert, AlertHistoryEntry
from futago.core.consents import Consent
from futago.core.datasets import DatasetRecord
from futago.core.errors import InvalidInput
from futago.core.policies import PolicyEntry
from futago.core.privacy import PrivacyBudget, PrivacySpend
from futago.security import policy


def test_a_dataset_record_answers_the_eight_catalog_keys_in_order_even_when_a_stored_row_lacks_some() -> None:
    record = DatasetRecord("open_data:roads:csv:ab12", "open_data", "2026-03-01T00:00:00Z", "Open data: roads (csv)",
                           "CC BY 4.0", None, {"layer": "roads"}, {"features": 12})  # fmt: skip
    assert list(record.to_json().items()) == [
        ("id", "open_data:roads:csv:ab12"),
        ("title", "Open data: roads (csv)"),
        ("kind", "open_data"),
        ("licence", "CC BY 4.0"),
        ("licenceUrl", None),
        ("provenance", {"layer": "roads"}),
        ("records", {"features": 12}),
        ("updated", "2026-03-01T00:00:00Z"),
    ]
    assert DatasetRecord.from_json(record.to_json()) == record
    old_row = {"id": "city_import:x", "kind": "city_import", "updated": "t", "records": {"twins": 3}, "other": 1}
    assert DatasetRecord.from_json(old_row).to_json() == {"id": "city_import:x", "title": None, "kind": "city_import",
        "licence": None, "licenceUrl": None, "provenance": {}, "records": {"twins": 3}, "updated": "t"}  # fmt: skip


def test_the_policy_entry_is_cores_and_security_still_names_it() -> None:
    assert policy.PolicyEntry is PolicyEntry and policy.PERMISSIONS == ("READ", "WRITE", "COMMAND", "ADMIN")
    with pytest.raises(InvalidInput) as err:
        PolicyEntry.parse({"subject": "alice", "resource": "twins/*", "permissions": ["READ"]})
    assert [p.pointer for p in err.value.problems] == ["/subject"]


def test_a_privacy_budget_and_a_spend_answer_in_camel_case() -> None:
    assert PrivacyBudget("people", 1.0, 1e-5, 0.25, 0.0, 1).to_json() == {
        "dataset": "people", "epsilon": 1.0, "delta": 1e-5, "spentEpsilon": 0.25, "spentDelta": 0.0, "releases": 1,
    }  # fmt: skip
    assert PrivacySpend("user:analyst", "1km", 5, "laplace").to_json() == {
        "by": "user:analyst", "mesh": "1km", "k": 5, "mechanism": "laplace",
    }  # fmt: skip


def test_a_consent_answers_every_key_with_null_where_it_does_not_apply() -> None:
    consent = Consent("w1", "care", "2026-01-01T00:00:00+00:00", by="user:w1")
    assert list(consent.to_json().items()) == [
        ("person", "w1"),
        ("purpose", "care"),
        ("granted", "2026-01-01T00:00:00+00:00"),
        ("expires", None),
        ("withdrawn", None),
        ("by", "user:w1"),
    ]
    assert Consent.from_json(consent.to_json()) == consent


@pytest.mark.parametrize(
    ("entry", "body"),
    [
        (AlertHistoryEntry("t0", "raised"), {"at": "t0", "state": "raised"}),
        (
            AlertHistoryEntry("t1", event="occurred", details={"value": 3.2}),
            {"at": "t1", "event": "occurred", "value": 3.2},
        ),
        (
            AlertHistoryEntry("t2", "acknowledged", by="alice", note="on it"),
            {"at": "t2", "state": "acknowledged", "by": "alice", "note": "on it"},
        ),
        (
            AlertHistoryEntry("t3", event="escalated", details={"level": 2}),
            {"at": "t3", "event": "escalated", "level": 2},
        ),
        (
            AlertHistoryEntry(
                "t4", event="recommendFailed", details={"twinId": "g1", "command": "close", "detail": "no"}
            ),
            {"at": "t4", "event": "recommendFailed", "twinId": "g1", "command": "close", "detail": "no"},
        ),
    ],
)
def test_an_alert_history_entry_reads_and_writes_as_the_entry_it_always_was(
    entry: AlertHistoryEntry, body: dict[str, object]
) -> None:
    assert entry.to_json() == body
    assert AlertHistoryEntry.from_json(body) == entry


def test_an_alert_carries_its_history_as_entries_through_its_json() -> None:
    history = [AlertHistoryEntry("t0", "raised"), AlertHistoryEntry("t1", "resolved", by="system")]
    alert = Alert("a1", "high", "r1", "warning", "resolved", "t0", {"en": "high"}, history=history)
    body = alert.to_json()
    assert body["history"] == [{"at": "t0", "state": "raised"}, {"at": "t1", "state": "resolved", "by": "system"}]
    assert Alert.from_json(body) == alert
    assert AlertHistoryEntry.from_json({"state": "raised"}) == AlertHistoryEntry("", "raised")  # never crashes
