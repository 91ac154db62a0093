"""AuditStore contract: an append-only hash chain and its checkpoints, for every adapter."""

from __future__ import annotations

from collections.abc import Callable

from futago.core.audit import GENESIS, AuditEntry, Checkpoint
from futago.core.ports import AuditStore


def _make(action: str) -> Callable[[int, str], AuditEntry]:
    def make(seq: int, prev: str) -> AuditEntry:
        entry = AuditEntry(seq, "2026-01-01T00:00:00Z", "alice", action, f"twins/{seq}", {"n": seq}, prev)
        return AuditEntry(**{**entry.to_json(), "hash": entry.computed_hash()})

    return make


def test_appends_continue_the_chain_from_its_head(store: AuditStore) -> None:
    first = store.append_audit_batch([_make("create"), _make("update")])
    second = store.append_audit_batch([_make("delete")])
    assert [e.seq for e in first + second] == [1, 2, 3]
    assert first[0].prev == GENESIS
    assert [e.prev for e in first[1:] + second] == [e.hash for e in first]
    assert store.count_audit() == 3
    scanned = store.scan_audit()
    assert [entry for _, entry in scanned] == first + second
    positions = [pos for pos, _ in scanned]
    assert positions == sorted(positions)
    assert [e.action for _, e in store.scan_audit(after=positions[0], limit=1)] == ["update"]
    assert store.append_audit_batch([]) == [] and store.count_audit() == 3


def test_checkpoints_are_kept_once_per_seq_in_seq_order(store: AuditStore) -> None:
    later = Checkpoint(9, "h9", "t9", "key", "sig9", kind="final", writer="w1")
    earlier = Checkpoint(3, "h3", "t3", "key", "sig3")
    store.put_audit_checkpoint(later)
    store.put_audit_checkpoint(earlier)
    store.put_audit_checkpoint(Checkpoint(3, "other", "t", "key", "forged"))  # the first one stays
    assert store.list_audit_checkpoints() == [earlier, later]
