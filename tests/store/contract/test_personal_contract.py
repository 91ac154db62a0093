"""PersonalStore contract: sealed personal records and consents, per person, for every adapter."""

from __future__ import annotations

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
    store.put_consent("w1", "research", {"purpose": "research", "granted": True})
    store.put_consent("w1", "care", {"purpose": "care", "granted": True})
    store.put_consent("w2", "care", {"purpose": "care", "granted": True})
    store.put_consent("w1", "research", {"purpose": "research", "granted": False})
    assert store.list_consents("w1") == [
        {"purpose": "care", "granted": True},
        {"purpose": "research", "granted": False},
    ]
    assert store.list_consents("nobody") == []
