"""SecurityStore contract: policy entries and API key records, for every adapter."""

from __future__ import annotations

from dataclasses import replace

import pytest

from futago.core.errors import InvalidInput, NotFound
from futago.core.keys import ApiKey
from futago.core.policies import PolicyEntry
from futago.core.ports import SecurityStore, Store


def test_policy_entries_are_added_listed_in_order_and_deleted(store: SecurityStore) -> None:
    alice = PolicyEntry("user:alice", "twins/*", frozenset({"READ"}))
    bob = PolicyEntry("user:bob", "twins/b1", frozenset({"WRITE", "COMMAND"}), "revoke", id=999)  # id: the store's
    first = store.add_policy_entry(alice)
    second = store.add_policy_entry(bob)
    assert first != second and 999 not in (first, second)
    assert store.list_policy_entries() == [replace(alice, id=first), replace(bob, id=second)]
    store.delete_policy_entry(first)
    assert [e.id for e in store.list_policy_entries()] == [second]
    with pytest.raises(NotFound):
        store.delete_policy_entry(first)


def test_a_stored_row_that_is_no_policy_entry_is_refused_with_its_problems(store: Store) -> None:
    with store.transaction():  # as a damaged row, or one written by hand, would be there
        store.add_policy_entry(PolicyEntry("user:alice", "*", frozenset({"READ"})))
    with store.db.write() as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE policies SET entry = ?", ('{"principal": "alice", "action": "READ"}',))
    with pytest.raises(InvalidInput) as refused:
        store.list_policy_entries()
    assert sorted(p.pointer for p in refused.value.problems) == ["/permissions", "/resource", "/subject"]


def _key(key_id: str, subject: str, revoked: str | None = None) -> ApiKey:
    return ApiKey(key_id, key_id, subject, ["group:ops"], ["READ"], "2026-01-01T00:00:00+00:00", None, revoked,
                  salt=f"s-{key_id}", hash=f"h-{key_id}")  # fmt: skip


def test_api_keys_are_put_replaced_fetched_and_listed_by_id(store: SecurityStore) -> None:
    store.put_api_key(_key("k2", "user:bob"))
    store.put_api_key(_key("k1", "user:alice"))
    store.put_api_key(_key("k2", "user:bob", revoked="2026-01-02T00:00:00+00:00"))
    assert store.get_api_key("k2") == _key("k2", "user:bob", revoked="2026-01-02T00:00:00+00:00")
    assert store.get_api_key("missing") is None
    assert [k.id for k in store.list_api_keys()] == ["k1", "k2"]
