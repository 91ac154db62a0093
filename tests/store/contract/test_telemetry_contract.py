"""The TelemetryStore contract: every adapter must pass these, through the protocol only."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from futago.core.ports import TelemetryStore
from futago.core.telemetry import SeriesBatch, ValueKind

T0 = 1_700_000_000_000_000
S = 1_000_000  # one second in µs


def batch(
    ts: list[int] | np.ndarray,
    values: list[Any] | np.ndarray,
    *,
    twin: str = "pump-1",
    name: str = "flow",
    kind: ValueKind = "f8",
    quality: list[int] | None = None,
) -> SeriesBatch:
    ts_arr = np.asarray(ts, dtype=np.int64)
    q = np.asarray(quality if quality is not None else [1] * len(ts_arr), dtype=np.uint8)
    vals: Any = (
        list(values)
        if kind == "json"
        else np.asarray(values, dtype={"f8": np.float64, "i8": np.int64, "b1": np.bool_}[kind])
    )
    return SeriesBatch(twin, name, kind, ts_arr, vals, q)


def as_pairs(store: TelemetryStore, twin: str = "pump-1", name: str = "flow") -> list[tuple[int, Any]]:
    data = store.read_series(twin, name, None, None)
    values = data.values.tolist() if isinstance(data.values, np.ndarray) else list(data.values)
    return list(zip(data.ts.tolist(), values, strict=True))


def test_append_and_read_back_sorted(store: TelemetryStore) -> None:
    n = store.append_series([batch([T0 + 2 * S, T0, T0 + S], [3.0, 1.0, 2.0], quality=[1, 3, 4])])
    assert n == 3
    data = store.read_series("pump-1", "flow", None, None)
    assert data.kind == "f8"
    assert data.ts.tolist() == [T0, T0 + S, T0 + 2 * S]
    assert np.asarray(data.values).tolist() == [1.0, 2.0, 3.0]
    assert data.quality.tolist() == [3, 4, 1]


def test_redelivery_is_idempotent(store: TelemetryStore) -> None:
    b = batch([T0 + i * S for i in range(100)], [float(i) for i in range(100)])
    first = store.append_series([b])
    before = as_pairs(store)
    second = store.append_series([b])
    assert first == second == 100
    assert as_pairs(store) == before
    assert len(before) == 100


def test_last_write_wins_on_repeated_ts(store: TelemetryStore) -> None:
    store.append_series([batch([T0, T0 + S], [1.0, 2.0])])
    store.append_series([batch([T0 + S], [20.0], quality=[4])])
    assert as_pairs(store) == [(T0, 1.0), (T0 + S, 20.0)]
    assert store.read_series("pump-1", "flow", None, None).quality.tolist() == [1, 4]
    # a repeat inside one batch: the later one wins
    store.append_series([batch([T0, T0], [5.0, 6.0])])
    assert as_pairs(store)[0] == (T0, 6.0)


def test_out_of_order_and_late_readings_land_in_order(store: TelemetryStore) -> None:
    store.append_series([batch([T0 + 10 * S, T0 + 11 * S], [10.0, 11.0])])
    store.append_series([batch([T0 + 20 * S, T0 + 21 * S], [20.0, 21.0])])
    store.append_series([batch([T0 + 15 * S], [15.0])])  # into a gap
    store.append_series([batch([T0], [0.0])])  # older than every chunk
    store.append_series([batch([T0 + 21 * S - 1, T0 + 10 * S + 1], [20.5, 10.5])])  # inside chunks
    assert as_pairs(store) == [
        (T0, 0.0),
        (T0 + 10 * S, 10.0),
        (T0 + 10 * S + 1, 10.5),
        (T0 + 11 * S, 11.0),
        (T0 + 15 * S, 15.0),
        (T0 + 20 * S, 20.0),
        (T0 + 21 * S - 1, 20.5),
        (T0 + 21 * S, 21.0),
    ]


def test_range_is_start_inclusive_end_exclusive(store: TelemetryStore) -> None:
    ts = [T0 + i * S for i in range(10)]
    store.append_series([batch(ts, list(range(10)))])
    data = store.read_series("pump-1", "flow", T0 + 2 * S, T0 + 5 * S)
    assert data.ts.tolist() == [T0 + 2 * S, T0 + 3 * S, T0 + 4 * S]
    assert len(store.read_series("pump-1", "flow", T0 + 5 * S, T0 + 5 * S)) == 0
    assert len(store.read_series("pump-1", "flow", None, T0)) == 0
    assert store.read_series("pump-1", "flow", T0 + 9 * S, None).ts.tolist() == [T0 + 9 * S]
    assert len(store.read_series("pump-1", "flow", T0 + 10 * S, None)) == 0


def test_ranges_across_many_chunks(store: TelemetryStore) -> None:
    rng = np.random.default_rng(1)
    expected: dict[int, float] = {}
    for call in range(60):  # many appends, some overlapping, so chunks split and compact
        ts = T0 + np.sort(rng.choice(20_000, size=300, replace=False)) * S + call * 5_000 * S // 10
        vals = rng.standard_normal(300)
        store.append_series([batch(ts, vals)])
        expected.update(zip(ts.tolist(), vals.tolist(), strict=True))
    keys = sorted(expected)
    for _ in range(20):
        a, b = sorted(rng.integers(T0 - S, keys[-1] + 2 * S, size=2).tolist())
        data = store.read_series("pump-1", "flow", a, b)
        want = [k for k in keys if a <= k < b]
        assert data.ts.tolist() == want
        assert np.asarray(data.values).tolist() == [expected[k] for k in want]


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("f8", [1.5, -2.25, float("inf")]),
        ("i8", [2**62, -5, 0]),
        ("b1", [True, False, True]),
        ("json", [{"a": [1, 2]}, "text", None]),
    ],
)
def test_kinds_round_trip(store: TelemetryStore, kind: ValueKind, values: list[Any]) -> None:
    ts = [T0, T0 + S, T0 + 2 * S]
    store.append_series([batch(ts, values, kind=kind, name=f"x-{kind}")])
    data = store.read_series("pump-1", f"x-{kind}", None, None)
    assert data.kind == kind
    got = data.values.tolist() if isinstance(data.values, np.ndarray) else list(data.values)
    assert got == values
    if kind != "json":
        assert isinstance(data.values, np.ndarray)
    assert store.latest("pump-1")[f"x-{kind}"].value == values[-1]
    # an overlapping write merges within the kind
    store.append_series([batch([T0 + S], values[:1], kind=kind, name=f"x-{kind}")])
    merged = store.read_series("pump-1", f"x-{kind}", None, None)
    got = merged.values.tolist() if isinstance(merged.values, np.ndarray) else list(merged.values)
    assert got == [values[0], values[0], values[2]]


def test_latest_ignores_late_older_readings(store: TelemetryStore) -> None:
    store.append_series([batch([T0 + 10 * S], [10.0], quality=[1])])
    store.append_series([batch([T0], [0.0], quality=[4])])
    latest = store.latest("pump-1")
    assert latest["flow"] == (T0 + 10 * S, 10.0, 1)
    store.append_series([batch([T0 + 10 * S], [11.0], quality=[3])])  # same ts: last write wins
    assert store.latest("pump-1")["flow"] == (T0 + 10 * S, 11.0, 3)
    store.append_series([batch([T0 + 12 * S], [12.0])])
    assert store.latest("pump-1")["flow"].ts == T0 + 12 * S


def test_latest_and_names_per_twin(store: TelemetryStore) -> None:
    store.append_series(
        [
            batch([T0], [1.0], name="a"),
            batch([T0 + S], [2], name="b", kind="i8"),
            batch([T0], [9.0], twin="other", name="a"),
        ]
    )
    assert store.series_names("pump-1") == ["a", "b"]
    assert set(store.latest("pump-1")) == {"a", "b"}
    assert store.latest("pump-1")["b"] == (T0 + S, 2, 1)
    assert store.latest("nobody") == {}
    assert store.series_names("nobody") == []
    assert len(store.read_series("nobody", "a", None, None)) == 0


def test_delete_series(store: TelemetryStore) -> None:
    store.append_series([batch([T0], [1.0], name="a"), batch([T0], [2.0], name="b")])
    store.append_series([batch([T0], [3.0], twin="other", name="a")])
    store.delete_series("pump-1", "a")
    assert store.series_names("pump-1") == ["b"]
    assert len(store.read_series("pump-1", "a", None, None)) == 0
    assert set(store.latest("pump-1")) == {"b"}
    store.delete_series("pump-1")
    assert store.series_names("pump-1") == []
    assert store.latest("pump-1") == {}
    assert as_pairs(store, "other", "a") == [(T0, 3.0)]
    # a deleted series starts afresh, even with older timestamps
    store.append_series([batch([T0 - S], [7.0], name="a")])
    assert as_pairs(store, "pump-1", "a") == [(T0 - S, 7.0)]


def test_retention_counts_and_trims(store: TelemetryStore) -> None:
    for call in range(10):  # 10 chunks of 10 readings, 1 s apart
        ts = [T0 + (call * 10 + i) * S for i in range(10)]
        store.append_series([batch(ts, [float(call * 10 + i) for i in range(10)])])
    store.append_series([batch([T0], [1.0], name="old")])
    cutoff = T0 + 35 * S  # removes 0..34 of flow (35) and the single reading of "old"
    assert store.apply_retention(cutoff) == 36
    data = store.read_series("pump-1", "flow", None, None)
    assert data.ts.tolist() == [T0 + i * S for i in range(35, 100)]
    assert "old" not in store.latest("pump-1")
    assert store.latest("pump-1")["flow"].ts == T0 + 99 * S
    assert store.apply_retention(cutoff) == 0
    # appends keep working after retention, late ones included
    store.append_series([batch([T0 + 50 * S + 1, T0 + 200 * S], [-1.0, -2.0])])
    assert len(store.read_series("pump-1", "flow", None, None)) == 67


def test_many_appends_stay_identical(store: TelemetryStore) -> None:
    """Many small appends (which trigger compaction) read back exactly as written."""
    expected: list[tuple[int, float]] = []
    for call in range(80):
        ts = [T0 + (call * 7 + i) * S for i in range(7)]
        vals = [float(call * 7 + i) for i in range(7)]
        store.append_series([batch(ts, vals), batch(ts, vals, name="twin2")])
        expected.extend(zip(ts, vals, strict=True))
    assert as_pairs(store) == expected
    assert as_pairs(store, name="twin2") == expected
    mid = store.read_series("pump-1", "flow", T0 + 100 * S, T0 + 300 * S)
    assert mid.ts.tolist() == [t for t, _ in expected if T0 + 100 * S <= t < T0 + 300 * S]


def test_concurrent_appends_to_different_series_both_land(store: TelemetryStore) -> None:
    errors: list[BaseException] = []

    def writer(twin: str) -> None:
        try:
            for call in range(50):
                ts = [T0 + (call * 20 + i) * S for i in range(20)]
                store.append_series([batch(ts, [float(t) for t in range(20)], twin=twin)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"t{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for twin in ("t0", "t1"):
        data = store.read_series(twin, "flow", None, None)
        assert data.ts.tolist() == [T0 + i * S for i in range(1000)]


def test_empty_append(store: TelemetryStore) -> None:
    assert store.append_series([]) == 0
    assert store.append_series([batch([], [])]) == 0
    assert store.series_names("pump-1") == []
