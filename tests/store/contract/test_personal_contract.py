"""PersonalStore contract: sealed personal records and consents, per person, for every adapter."""

from __future__ import annotations

from futago.core.consents import Consent
from futago.core.ports import PersonalStore


def test_sealed_records_come_back_per_person_ordered_by_kind_name_and_time(store: PersonalStore) -> None:
    store.add_personal_records(
        [
            ("w1", "telemetry", "heartRate", 20, b"\x00sealed-2"),
            ("w1", "property", "name", 5, b"sealed-name"),
            ("w2", "telemetry", "heartRate", 10, b"other person"),
            ("w1", "telemetry", "heartRate", 10, b"sealed-1"),
        ]
    )
    assert store.personal_records("w1") == [
        ("property", "name", 5, b"sealed-name"),
        ("telemetry", "heartRate", 10, b"sealed-1"),
        ("telemetry", "heartRate", 20, b"\x00sealed-2"),
    ]
    assert store.personal_records("nobody") == []


def test_a_consent_per_person_and_purpose_is_replaced_and_listed_by_purpose(store: PersonalStore) -> None:
    granted, later = "2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00"
    store.put_consent(Consent("w1", "research", granted, by="user:w1"))
    store.put_consent(Consent("w1", "care", granted, "2027-01-01T00:00:00Z", by="user:w1"))
    store.put_consent(Consent("w2", "care", granted, by="user:w2"))
    store.put_consent(Consent("w1", "research", granted, withdrawn=later, by="user:w1"))
    assert store.list_consents("w1") == [
        Consent("w1", "care", granted, "2027-01-01T00:00:00Z", by="user:w1"),
        Consent("w1", "research", granted, withdrawn=later, by="user:w1"),
    ]
    assert store.list_consents("nobody") == []
