"""The twin-graph half of the storage contract. Every adapter must pass it unchanged."""

from __future__ import annotations

import threading

import pytest

from futago.core.errors import Conflict, NotFound, PreconditionFailed
from futago.core.ports import Store
from futago.core.twins import Relationship, Twin, TwinScan


def _twin(twin_id: str, model: str = "dtmi:t:A;1", **props: object) -> Twin:
    return Twin(twin_id, model, dict(props))


def _point(lon: float, lat: float) -> dict[str, object]:
    return {"type": "Point", "coordinates": [lon, lat]}


def test_put_get_and_etag_preconditions(store: Store) -> None:
    first = store.put_twin(_twin("a", x=1), if_none_match="*")
    assert first.etag and first.last_updated
    got = store.get_twin("a")
    assert got is not None and got.properties == {"x": 1} and got.etag == first.etag
    with pytest.raises(PreconditionFailed):
        store.put_twin(_twin("a", x=2), if_none_match="*")
    with pytest.raises(PreconditionFailed):
        store.put_twin(_twin("a", x=2), if_match='W/"stale"')
    second = store.put_twin(_twin("a", x=3), if_match=first.etag)
    assert second.etag != first.etag
    with pytest.raises(PreconditionFailed):
        store.put_twin(_twin("missing"), if_match="*")
    with pytest.raises(PreconditionFailed):
        store.delete_twin("a", if_match=first.etag)
    store.delete_twin("a", if_match=second.etag)
    assert store.get_twin("a") is None
    with pytest.raises(NotFound):
        store.delete_twin("a")


def test_only_one_of_two_concurrent_writers_with_the_same_etag_wins(store: Store) -> None:
    etag = store.put_twin(_twin("c", v=0)).etag
    outcomes: list[str] = []

    def write(value: int) -> None:
        try:
            store.put_twin(_twin("c", v=value), if_match=etag)
            outcomes.append("ok")
        except PreconditionFailed:
            outcomes.append("412")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["412"] * 7 + ["ok"]


def test_scan_by_model_ids_after_and_limit(store: Store) -> None:
    store.put_twins([_twin(f"t{i:03d}", "dtmi:t:A;1" if i % 2 else "dtmi:t:B;1", i=i) for i in range(100)])
    assert store.count_twins() == 100
    odd = store.scan_twins(TwinScan(model_ids=frozenset({"dtmi:t:A;1"})))
    assert [t.id for t in odd] == [f"t{i:03d}" for i in range(1, 100, 2)]
    page = store.scan_twins(TwinScan(after_id="t010", limit=5))
    assert [t.id for t in page] == ["t011", "t012", "t013", "t014", "t015"]
    picked = store.scan_twins(TwinScan(twin_ids=frozenset({"t005", "t007", "nope"})))
    assert [t.id for t in picked] == ["t005", "t007"]
    assert store.scan_twins(TwinScan(model_ids=frozenset())) == []
    assert store.count_twins_of_models(["dtmi:t:B;1"]) == 50
    assert set(store.get_twins(["t001", "t002", "zzz"])) == {"t001", "t002"}


def test_scan_by_bbox_uses_geometry_bounds(store: Store) -> None:
    tokyo = _twin("tokyo")
    tokyo.geometry = _point(139.7671, 35.6812)
    osaka = _twin("osaka")
    osaka.geometry = _point(135.4959, 34.7025)
    area = _twin("area")
    area.geometry = {
        "type": "Polygon",
        "coordinates": [[[139.0, 35.0], [140.0, 35.0], [140.0, 36.0], [139.0, 35.0]]],
    }
    nowhere = _twin("nowhere")
    store.put_twins([tokyo, osaka, area, nowhere])
    near_tokyo = store.scan_twins(TwinScan(bbox=(139.7, 35.6, 139.8, 35.7)))
    assert [t.id for t in near_tokyo] == ["area", "tokyo"]
    assert [t.id for t in store.scan_twins(TwinScan(bbox=(135.0, 34.5, 136.0, 35.0)))] == ["osaka"]
    moved = store.get_twin("osaka")
    assert moved is not None and moved.geometry == _point(135.4959, 34.7025)
    moved.geometry = _point(130.4, 33.6)  # Fukuoka: the index must follow the move
    store.put_twin(moved)
    assert store.scan_twins(TwinScan(bbox=(135.0, 34.5, 136.0, 35.0))) == []


def test_relationships(store: Store) -> None:
    store.put_twins([_twin("s"), _twin("t1"), _twin("t2")])
    r1 = store.put_relationship(Relationship("s", "r1", "feeds", "t1", {"w": 1}), if_none_match="*")
    store.put_relationship(Relationship("s", "r2", "feeds", "t2"))
    store.put_relationship(Relationship("t1", "r3", "near", "t2"))
    with pytest.raises(PreconditionFailed):
        store.put_relationship(Relationship("s", "r1", "feeds", "t2"), if_none_match="*")
    got = store.get_relationship("s", "r1")
    assert got is not None and got.properties == {"w": 1} and got.etag == r1.etag
    assert [r.id for r in store.list_relationships("s")] == ["r1", "r2"]
    assert [r.id for r in store.list_relationships("s", "near")] == []
    assert [(r.source_id, r.id) for r in store.list_relationships_of(["s", "t1"])] == [
        ("s", "r1"),
        ("s", "r2"),
        ("t1", "r3"),
    ]
    assert [(r.source_id, r.id) for r in store.list_incoming("t2")] == [("s", "r2"), ("t1", "r3")]
    with pytest.raises(PreconditionFailed):
        store.delete_relationship("s", "r1", if_match='W/"x"')
    store.delete_relationship("s", "r1")
    assert store.get_relationship("s", "r1") is None
    with pytest.raises(NotFound):
        store.delete_relationship("s", "r1")


def test_models(store: Store) -> None:
    doc = {"@id": "dtmi:t:A;1", "@type": "Interface", "@context": "dtmi:dtdl:context;3"}
    store.put_models([doc], "2026-01-01T00:00:00Z")
    with pytest.raises(Conflict):
        store.put_models([doc], "2026-01-01T00:00:00Z")
    record = store.get_model("dtmi:t:A;1")
    assert record is not None and record.document == doc and not record.decommissioned
    store.set_model_decommissioned("dtmi:t:A;1", True)
    assert [m.decommissioned for m in store.list_models()] == [True]
    store.delete_model("dtmi:t:A;1")
    assert store.get_model("dtmi:t:A;1") is None
    with pytest.raises(NotFound):
        store.delete_model("dtmi:t:A;1")


def test_unicode_and_nested_values_round_trip(store: Store) -> None:
    props = {"name": "狩野川 水位観測所", "nested": {"a": [1, 2.5, None, True]}, "big": 2**53 + 1}
    store.put_twin(_twin("u", **props))
    got = store.get_twin("u")
    assert got is not None and got.properties == props
