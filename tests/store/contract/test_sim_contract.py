"""SimStore contract: behaviour definitions and run records, for every adapter."""

from __future__ import annotations

import pytest

from futago.core.errors import NotFound
from futago.core.ports import Store
from futago.core.runs import BehaviourRun


def test_behaviours_are_put_listed_replaced_and_deleted(store: Store) -> None:
    store.put_behaviour("b", {"model": "river_stage", "twins": ["r1"]})
    store.put_behaviour("a", {"model": "robust_z"})
    store.put_behaviour("b", {"model": "river_stage", "twins": ["r2"]})
    assert list(store.list_behaviours()) == ["a", "b"]
    assert store.list_behaviours()["b"]["twins"] == ["r2"]
    store.delete_behaviour("a")
    assert list(store.list_behaviours()) == ["b"]
    with pytest.raises(NotFound):
        store.delete_behaviour("a")


def test_runs_are_kept_newest_first_and_filtered(store: Store) -> None:
    ids = [
        store.add_behaviour_run(BehaviourRun(b, t, f"2026-01-01T00:00:0{i}Z", status="ok"))
        for i, (b, t) in enumerate([("f", "r1"), ("f", "r2"), ("g", "r1"), ("f", "r1")])
    ]
    assert len(set(ids)) == 4
    runs = store.list_behaviour_runs(behaviour="f", twin_id="r1")
    assert [r.id for r in runs] == [ids[3], ids[0]]
    assert runs[0].status == "ok" and runs[0].started == "2026-01-01T00:00:03Z"
    assert [r.id for r in store.list_behaviour_runs(twin_id="r1", limit=1)] == [ids[3]]
    assert len(store.list_behaviour_runs()) == 4


def test_runs_beyond_keep_are_pruned_per_behaviour_and_twin(store: Store) -> None:
    for i in range(5):
        store.add_behaviour_run(BehaviourRun("f", "r1", f"t{i}"), keep=3)
        store.add_behaviour_run(BehaviourRun("g", "r1", f"u{i}"), keep=3)  # interleaved
    store.add_behaviour_run(BehaviourRun("f", "r2", "x"), keep=3)
    assert [r.started for r in store.list_behaviour_runs("f", "r1")] == ["t4", "t3", "t2"]
    assert [r.started for r in store.list_behaviour_runs("g", "r1")] == ["u4", "u3", "u2"]
    assert len(store.list_behaviour_runs("f", "r2")) == 1
