"""Bulk writes, many rows per statement: the twins of ``put_twins`` (with their spatial index) and the audit entries
of ``append_audit_batch`` land exactly as row-by-row writes left them, past the size of one statement's chunk."""

from __future__ import annotations

from collections.abc import Callable

from futago.core.audit import GENESIS, AuditEntry, canonical_json
from futago.core.ports import Store
from futago.core.twins import Twin, TwinScan
from futago.security.audit import verify_entries

TOKYO = (139.7671, 35.6812)


def _station(i: int, lon: float, lat: float) -> Twin:
    """A weather station's twin as the NGSI-LD door stores it: a handful of values and a point."""
    twin = Twin(f"urn:ngsi-ld:WeatherObserved:{i:05d}", "dtmi:t:Station;1", {"temperature": 20.0 + i / 100, "i": i})
    twin.geometry = {"type": "Point", "coordinates": [lon, lat]}
    return twin


def _ids(store: Store, bbox: tuple[float, float, float, float]) -> set[str]:
    return {t.id for t in store.scan_twins(TwinScan(bbox=bbox, limit=10_000))}


def test_a_bulk_write_beyond_one_chunk_stores_every_twin(store: Store) -> None:
    twins = [_station(i, TOKYO[0] + (i % 40) * 0.001, TOKYO[1] + (i // 40) * 0.001) for i in range(1203)]
    stored = store.put_twins(twins)
    assert len(stored) == 1203 and len({t.etag for t in stored}) == 1203
    again = store.get_twins([t.id for t in twins])
    assert len(again) == 1203
    last = again["urn:ngsi-ld:WeatherObserved:01202"]
    assert last.properties == {"temperature": 20.0 + 1202 / 100, "i": 1202} and last.etag == stored[-1].etag
    assert last.geometry == {"type": "Point", "coordinates": [TOKYO[0] + 2 * 0.001, TOKYO[1] + 30 * 0.001]}
    # The row of stations at the southern edge (i < 40) and nothing else lies south of the second row.
    south = _ids(store, (139.0, 35.0, 140.0, TOKYO[1] + 0.0005))
    assert south == {t.id for t in twins[:40]}


def test_a_bulk_rewrite_keeps_moves_and_drops_the_index_as_the_twins_say(store: Store) -> None:
    twins = [_station(i, TOKYO[0] + i * 0.01, TOKYO[1]) for i in range(600)]
    store.put_twins(twins)
    staying, moving, losing = twins[0], twins[1], twins[2]
    osaka = (135.4959, 34.7025)
    moved = _station(1, *osaka)
    unplaced = Twin(losing.id, losing.model, {"i": 2})
    store.put_twins([staying, moved, unplaced, *twins[3:]])  # a rewrite, mostly of twins that stayed put
    assert _ids(store, (139.76, 35.68, 139.775, 35.69)) == {staying.id}  # still found where it was
    assert _ids(store, (135.4, 34.6, 135.6, 34.8)) == {moving.id}  # found where it went ...
    assert moving.id not in _ids(store, (139.77, 35.6, 139.79, 35.7))  # ... and no longer where it was
    assert losing.id not in _ids(store, (139.0, 35.0, 146.0, 36.0))  # no geometry: in no box
    assert len(_ids(store, (139.0, 35.0, 146.0, 36.0))) == 598
    store.put_twins([_station(2, TOKYO[0] + 0.02, TOKYO[1])])  # placed again
    assert losing.id in _ids(store, (139.78, 35.68, 139.79, 35.69))


def test_a_twin_named_twice_in_one_bulk_write_ends_as_the_last_one(store: Store) -> None:
    first, second = _station(7, *TOKYO), _station(7, 135.4959, 34.7025)
    second.properties["note"] = "moved"
    stored = store.put_twins([first, _station(8, *TOKYO), second])
    got = store.get_twin(first.id)
    assert got is not None and got.properties["note"] == "moved" and got.etag == stored[2].etag
    assert _ids(store, (135.4, 34.6, 135.6, 34.8)) == {first.id}
    assert _ids(store, (139.7, 35.6, 139.8, 35.7)) == {"urn:ngsi-ld:WeatherObserved:00008"}


def _make(i: int) -> Callable[[int, str], AuditEntry]:
    detail = {"data": {"twin": {"$dtId": f"t{i}", "temperature": i / 3, "name": "ünïcode ☃"}}, "model": "dtmi:t:A;1"}
    detail_json = canonical_json(detail)

    def make(seq: int, prev: str) -> AuditEntry:
        unhashed = AuditEntry(seq, "2026-01-01T00:00:00.000000Z", "system", "twin.created", f"twins/t{i}", detail,
                              prev, "", detail_json)  # fmt: skip
        return AuditEntry(**{**unhashed.to_json(), "hash": unhashed.computed_hash(), "detail_json": detail_json})

    return make


def test_an_audit_batch_beyond_one_chunk_keeps_every_entry_and_the_chain(store: Store) -> None:
    written = store.append_audit_batch([_make(i) for i in range(950)])
    assert [e.seq for e in written] == list(range(1, 951)) and written[0].prev == GENESIS
    read = [entry for _, entry in store.scan_audit(limit=2000)]
    assert len(read) == 950 and read[949].detail["data"]["twin"]["$dtId"] == "t949"
    assert [e.hash for e in read] == [e.hash for e in written]
    result = verify_entries(read)
    assert result.ok and result.entries == 950 and result.head == written[-1].hash
