"""CommandStore contract: command bindings and command records (compare-and-set on the state), for every adapter."""

from __future__ import annotations

from dataclasses import replace

import pytest

from futago.core.commands import CommandRecord, CommandState
from futago.core.errors import NotFound
from futago.core.ports import CommandStore


def _record(
    command_id: str, state: CommandState = "proposed", twin: str = "p1", admitted: int | None = None
) -> CommandRecord:
    return CommandRecord(
        command_id, twin, "setSpeed", payload=None, mode="recommend", state=state, proposed_by="bob",
        proposed_at="t0", admitted_us=admitted,
    )  # fmt: skip


def test_bindings_are_put_listed_by_twin_and_command_replaced_and_deleted(store: CommandStore) -> None:
    store.put_command_binding("p2", "stop", {"transport": "mqtt"})
    store.put_command_binding("p1", "setSpeed", {"transport": "opcua", "mode": "recommend"})
    store.put_command_binding("p1", "stop", {"transport": "mqtt"})
    store.put_command_binding("p1", "setSpeed", {"transport": "opcua", "mode": "auto"})
    bindings = store.list_command_bindings()
    assert list(bindings) == [("p1", "setSpeed"), ("p1", "stop"), ("p2", "stop")]
    assert bindings[("p1", "setSpeed")]["mode"] == "auto"
    store.delete_command_binding("p1", "stop")
    assert list(store.list_command_bindings()) == [("p1", "setSpeed"), ("p2", "stop")]
    with pytest.raises(NotFound, match="twin 'p1' has no binding for command 'stop'"):
        store.delete_command_binding("p1", "stop")


def test_a_record_moves_on_only_from_the_state_it_was_read_in(store: CommandStore) -> None:
    store.add_command(_record("c1"))
    assert store.update_command(_record("c1", "approved", admitted=5), expected_state="proposed")
    assert not store.update_command(_record("c1", "rejected"), expected_state="proposed")  # someone was first
    assert store.get_command("c1") == _record("c1", "approved", admitted=5)
    assert store.get_command("missing") is None
    assert not store.update_command(_record("missing", "approved"), expected_state="proposed")


def test_records_are_listed_newest_first_and_filtered(store: CommandStore) -> None:
    store.add_command(_record("c1"))
    store.add_command(_record("c2", "sent", twin="p2"))
    store.add_command(replace(_record("c3"), command="stop"))
    assert [r.id for r in store.list_commands()] == ["c3", "c2", "c1"]
    assert [r.id for r in store.list_commands(state="proposed")] == ["c3", "c1"]
    assert [r.id for r in store.list_commands(twin_id="p1", command="setSpeed")] == ["c1"]
    assert [r.id for r in store.list_commands(limit=1)] == ["c3"]


def test_admitted_records_are_counted_newest_first_since_a_time(store: CommandStore) -> None:
    store.add_command(_record("c1", "sent", admitted=100))
    store.add_command(_record("c2", "proposed"))  # never admitted
    store.add_command(_record("c3", "sent", admitted=300))
    store.add_command(_record("c4", "sent", twin="p2", admitted=200))
    assert [r.id for r in store.list_admitted_commands("p1", "setSpeed")] == ["c3", "c1"]
    assert [r.id for r in store.list_admitted_commands("p1", "setSpeed", since_us=200)] == ["c3"]
    store.update_command(_record("c3", "failed"), expected_state="sent")  # failed before sending: not admitted
    assert [r.id for r in store.list_admitted_commands("p1", "setSpeed")] == ["c1"]
