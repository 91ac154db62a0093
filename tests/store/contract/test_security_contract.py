"""SecurityStore contract: policy entries and API key records, for every adapter."""

from __future__ import annotations

import pytest

from futago.core.errors import NotFound
from futago.core.keys import ApiKey
from futago.core.ports import SecurityStore


def test_policy_entries_are_added_listed_in_order_and_deleted(store: SecurityStore) -> None:
    first = store.add_policy_entry({"principal": "alice", "action": "READ", "resource": "twins/*"})
    second = store.add_policy_entry({"principal": "bob", "action": "WRITE", "resource": "twins/b1"})
    assert first != second
    assert store.list_policy_entries() == [
        {"id": first, "principal": "alice", "action": "READ", "resource": "twins/*"},
        {"id": second, "principal": "bob", "action": "WRITE", "resource": "twins/b1"},
    ]
    store.delete_policy_entry(first)
    assert [e["id"] for e in store.list_policy_entries()] == [second]
    with pytest.raises(NotFound):
        store.delete_policy_entry(first)


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
