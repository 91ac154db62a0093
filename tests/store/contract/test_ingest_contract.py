"""IngestStore contract (DeadLetterStore, ConnectionStore, CalibrationStore), for every adapter."""

from __future__ import annotations

import pytest

from futago.core.calibration import Calibration, CalibrationChange, ChangeAction
from futago.core.dead_letters import DeadLetter
from futago.core.errors import NotFound
from futago.core.ports import IngestStore
from futago.core.secrets import reveal


def _letter(connection: str, payload: bytes) -> DeadLetter:
    return DeadLetter(connection, "topic/a", payload, "no mapping", "/value", "2026-01-01T00:00:00Z")


def test_dead_letters_are_added_listed_paged_fetched_counted_and_deleted(store: IngestStore) -> None:
    ids = store.add_dead_letters([_letter("m", b"\x00one"), _letter("o", b"two"), _letter("m", b"three")])
    assert len(ids) == 3 and ids == sorted(ids)
    listed = store.list_dead_letters()
    assert [d.id for d in listed] == ids
    assert listed[0] == DeadLetter("m", "topic/a", b"\x00one", "no mapping", "/value", "2026-01-01T00:00:00Z", ids[0])
    assert [d.payload for d in store.list_dead_letters("m")] == [b"\x00one", b"three"]
    assert [d.id for d in store.list_dead_letters(after_id=ids[0], limit=1)] == [ids[1]]
    assert [d.id for d in store.get_dead_letters([ids[2], ids[0], ids[2], 10**9])] == [ids[0], ids[2]]
    assert store.get_dead_letters([]) == []
    assert store.count_dead_letters() == {"m": 2, "o": 1}
    assert store.delete_dead_letters([ids[0], ids[0], 10**9]) == 1
    assert store.delete_dead_letters([]) == 0
    assert store.count_dead_letters() == {"m": 1, "o": 1}


def test_a_dead_letter_without_a_time_gets_the_time_it_was_stored(store: IngestStore) -> None:
    (letter_id,) = store.add_dead_letters([DeadLetter("m", "t", b"x", "why")])
    (stored,) = store.get_dead_letters([letter_id])
    assert stored.received.startswith("20")


def test_connections_are_put_replaced_listed_and_deleted_with_their_secrets(store: IngestStore) -> None:
    store.put_connection("b", {"type": "mqtt", "options": {"host": "h", "password": "pw"}})
    store.put_connection("a", {"type": "replay"})
    store.put_connection("b", {"type": "mqtt", "options": {"host": "h2", "password": "pw2"}})
    connections = store.list_connections()
    assert list(connections) == ["a", "b"]
    assert connections["b"]["options"]["host"] == "h2"
    assert reveal(connections["b"]["options"]["password"]) == "pw2"
    store.delete_connection("a")
    assert list(store.list_connections()) == ["b"]
    with pytest.raises(NotFound, match="connection 'a' does not exist"):
        store.delete_connection("a")


def _calibration(calibration_id: str, twin: str, gain: float = 1.0) -> Calibration:
    return Calibration(calibration_id, twin, "t", "linear", 1_767_225_600_000_000, gain=gain)


def _change(action: ChangeAction, calibration_id: str, twin: str = "s1") -> CalibrationChange:
    return CalibrationChange(calibration_id, twin, "t", action, "calibrator", 1_767_225_600_000_000, "certificate")


def test_calibrations_of_a_series_are_replaced_together_and_every_change_is_logged(store: IngestStore) -> None:
    first = [_calibration("c1", "s1", gain=2.0)]
    store.save_calibrations("s1", "t", first, _change("created", "c1"))
    store.save_calibrations("s2", "t", [_calibration("c9", "s2")], _change("created", "c9", "s2"))
    second = [_calibration("c2", "s1", gain=3.0), _calibration("c3", "s1")]
    store.save_calibrations("s1", "t", second, _change("corrected", "c1"))
    assert store.list_calibrations("s1") == second
    assert [r.id for r in store.list_calibrations()] == ["c2", "c3", "c9"]
    assert store.list_calibrations("nobody") == []
    changes = store.list_calibration_changes("s1", "t")
    assert [c.action for c in changes] == ["created", "corrected"]
    assert changes[0] == _change("created", "c1")  # the whole record comes back
    assert store.list_calibration_changes("s1", "other") == []
