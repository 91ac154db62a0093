"""Unit tests: timestamps, grouping of readings, aggregation, the chunk codec and compaction."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from futago.core.errors import InvalidInput
from futago.core.telemetry import (
    Reading,
    SeriesData,
    ValueKind,
    aggregate,
    format_timestamp,
    group_readings,
    parse_duration,
    parse_timestamp,
)
from futago.store import chunks
from futago.store.sqlite.db import SQLiteDatabase
from futago.store.sqlite.telemetry import SQLiteTelemetry

T0 = 1_700_000_000_000_000
KINDS: dict[tuple[str, str], ValueKind] = {
    ("p1", "flow"): "f8",
    ("p1", "count"): "i8",
    ("p1", "on"): "b1",
    ("p1", "state"): "json",
    ("p2", "flow"): "f8",
}


def kind_of(twin_id: str, name: str) -> ValueKind:
    try:
        return KINDS[(twin_id, name)]
    except KeyError:
        raise InvalidInput(f"twin {twin_id} has no telemetry {name}") from None


# -- timestamps --------------------------------------------------------------------------------


def test_parse_timestamp_forms() -> None:
    assert parse_timestamp("1970-01-01T00:00:01Z") == 1_000_000
    assert parse_timestamp("2024-05-01T12:00:00+09:00") == parse_timestamp("2024-05-01T03:00:00Z")
    assert parse_timestamp("2024-05-01T03:00:00") == parse_timestamp("2024-05-01T03:00:00Z")  # naive = UTC
    assert parse_timestamp(1_700_000_000_000) == 1_700_000_000_000_000  # numbers are epoch ms
    assert parse_timestamp(1.5) == 1_500
    assert parse_timestamp("1700000000000") == 1_700_000_000_000_000
    dt = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(microseconds=7)
    assert parse_timestamp(dt) == parse_timestamp("2024-01-01T00:00:00Z") + 7
    for bad in ("yesterday", True, float("nan"), None):
        with pytest.raises(InvalidInput):
            parse_timestamp(bad)  # type: ignore[arg-type]


def test_format_timestamp_round_trips() -> None:
    assert format_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert format_timestamp(1_500) == "1970-01-01T00:00:00.001500Z"
    for us in (T0, T0 + 123, -5_000_000):
        assert parse_timestamp(format_timestamp(us)) == us


def test_parse_duration() -> None:
    assert parse_duration("1m") == 60_000_000
    assert parse_duration("PT1M") == 60_000_000
    assert parse_duration("P1DT1H") == 25 * 3_600_000_000
    assert parse_duration("15s") == 15_000_000
    assert parse_duration(1000) == 1_000_000  # ms
    assert parse_duration(timedelta(hours=1)) == 3_600_000_000
    for bad in ("0s", "fortnight", 0, -1):
        with pytest.raises(InvalidInput):
            parse_duration(bad)


# -- grouping ----------------------------------------------------------------------------------


def test_group_readings_splits_by_series_in_arrival_order() -> None:
    rows: list[Any] = [
        Reading("p1", "flow", T0 + 2, 2.0, 1),
        ("p2", "flow", T0, 5, 3),
        Reading("p1", "flow", T0 + 1, 1.5),
        ("p1", "count", T0, 7, 1),
        ("p1", "on", T0, True, 1),
        ("p1", "state", T0, {"mode": "auto"}, 1),
    ]
    batches = {(b.twin_id, b.name): b for b in group_readings(rows, kind_of)}
    flow = batches[("p1", "flow")]
    assert flow.kind == "f8" and flow.ts.tolist() == [T0 + 2, T0 + 1]
    assert np.asarray(flow.values).tolist() == [2.0, 1.5]
    assert flow.quality.tolist() == [1, 2]
    assert np.asarray(batches[("p2", "flow")].values).dtype == np.float64
    assert np.asarray(batches[("p1", "count")].values).dtype == np.int64
    assert np.asarray(batches[("p1", "on")].values).tolist() == [True]
    assert batches[("p1", "state")].values == [{"mode": "auto"}]
    assert group_readings([], kind_of) == []
    assert len(group_readings(iter(rows), kind_of)) == 5


@pytest.mark.parametrize(
    ("row", "pointer"),
    [
        (("p1", "flow", T0, True, 1), "/1/value"),  # no bools in numbers
        (("p1", "flow", T0, "3.5", 1), "/1/value"),  # no strings in numbers
        (("p1", "count", T0, 1.5, 1), "/1/value"),
        (("p1", "count", T0, 2**64, 1), "/1/value"),
        (("p1", "on", T0, 1, 1), "/1/value"),
        (("p1", "state", T0, object(), 1), "/1/value"),
        (("p1", "flow", 1.5, 1.0, 1), "/1/ts"),
        (("p1", "flow", T0, 1.0, 300), "/1/quality"),
        (("p1", "flow", T0, 1.0), "/1"),
        (("p1", "nope", T0, 1.0, 1), "/1/name"),
    ],
)
def test_group_readings_points_at_bad_row(row: tuple[Any, ...], pointer: str) -> None:
    rows: list[Any] = [("p1", "flow", T0, 1.0, 1), row, ("p1", "flow", T0 + 1, 2.0, 1)]
    with pytest.raises(InvalidInput) as info:
        group_readings(rows, kind_of)
    assert info.value.problems[0].pointer == pointer


def test_group_readings_accepts_integral_floats_for_integers_and_ints_for_floats() -> None:
    batches = group_readings([("p1", "count", T0, 3.0, 1), ("p1", "flow", T0, 3, 1)], kind_of)
    assert [np.asarray(b.values).tolist() for b in batches] == [[3], [3.0]]


# -- aggregation -------------------------------------------------------------------------------


def reference(ts: list[int], values: list[float], bucket: int, origin: int) -> dict[str, list[Any]]:
    groups: dict[int, list[float]] = {}
    for t, v in zip(ts, values, strict=True):
        groups.setdefault((t - origin) // bucket, []).append(v)
    keys = sorted(groups)
    return {
        "ts": [k * bucket + origin for k in keys],
        "avg": [sum(groups[k]) / len(groups[k]) for k in keys],
        "min": [min(groups[k]) for k in keys],
        "max": [max(groups[k]) for k in keys],
        "sum": [sum(groups[k]) for k in keys],
        "count": [len(groups[k]) for k in keys],
        "first": [groups[k][0] for k in keys],
        "last": [groups[k][-1] for k in keys],
    }


@settings(max_examples=150, deadline=None)
@given(
    points=st.dictionaries(st.integers(-10_000, 10_000), st.integers(-1000, 1000), min_size=0, max_size=200),
    bucket=st.integers(1, 3_000),
    origin=st.integers(-5_000, 5_000),
    as_float=st.booleans(),
)
def test_aggregate_matches_reference(points: dict[int, int], bucket: int, origin: int, as_float: bool) -> None:
    ts = sorted(points)
    values: list[Any] = [points[t] / 4 if as_float else points[t] for t in ts]
    kind: ValueKind = "f8" if as_float else "i8"
    data = SeriesData(
        kind,
        np.array(ts, dtype=np.int64),
        np.array(values, dtype=np.float64 if as_float else np.int64),
        np.ones(len(ts), dtype=np.uint8),
    )
    aggs = ["avg", "min", "max", "sum", "count", "first", "last"]
    got = aggregate(data, bucket, aggs, origin)
    want = reference(ts, values, bucket, origin)
    assert got["ts"].tolist() == want["ts"]
    for agg in aggs:
        assert len(got[agg]) == len(want[agg])
        for g, w in zip(np.asarray(got[agg]).tolist(), want[agg], strict=True):
            assert math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-9), agg


def test_aggregate_bool_and_json() -> None:
    ts = np.array([0, 1, 10, 11, 12], dtype=np.int64)
    q = np.ones(5, dtype=np.uint8)
    on = aggregate(SeriesData("b1", ts, np.array([1, 0, 1, 1, 0], dtype=bool), q), 10, ["avg", "sum", "last"])
    assert on["ts"].tolist() == [0, 10]
    assert on["avg"].tolist() == [0.5, 2 / 3]
    assert on["sum"].tolist() == [1, 2]
    assert on["last"].tolist() == [False, False]
    js = aggregate(SeriesData("json", ts, ["a", "b", "c", "d", "e"], q), 10, ["count", "first", "last"])
    assert js["count"].tolist() == [2, 3] and js["first"] == ["a", "c"] and js["last"] == ["b", "e"]
    with pytest.raises(InvalidInput):
        aggregate(SeriesData("json", ts, ["a"] * 5, q), 10, ["avg"])
    with pytest.raises(InvalidInput):
        aggregate(SeriesData("f8", ts, np.zeros(5), q), 10, ["median"])
    empty = aggregate(chunks.empty("f8"), 10, ["avg", "min", "count"])
    assert all(len(v) == 0 for v in empty.values())


# -- chunk codec -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("f8", np.array([1.5, float("nan"), -float("inf")])),
        ("i8", np.array([2**63 - 1, -(2**63), 0])),
        ("b1", np.array([True, False, True])),
        ("json", [None, {"k": [1, "x"]}, 2.5]),
    ],
)
def test_codec_round_trip(kind: ValueKind, values: Any) -> None:
    data = SeriesData(kind, np.array([1, 2, 3], dtype=np.int64), values, np.array([1, 3, 4], dtype=np.uint8))
    enc = chunks.encode(data)
    assert (enc.t_start, enc.t_end, enc.n) == (1, 3, 3)
    back = chunks.decode(kind, enc.ts, enc.values, enc.quality)
    assert back.ts.tolist() == [1, 2, 3] and back.quality.tolist() == [1, 3, 4]
    if kind == "json":
        assert back.values == values
    else:
        np.testing.assert_array_equal(np.asarray(back.values), values)


def test_normalize_and_merge_last_write_wins() -> None:
    norm = chunks.normalize("f8", np.array([5, 1, 5, 3]), np.array([50.0, 10.0, 55.0, 30.0]), np.ones(4))
    assert norm.ts.tolist() == [1, 3, 5] and np.asarray(norm.values).tolist() == [10.0, 30.0, 55.0]
    old = SeriesData("f8", np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0]), np.ones(3, dtype=np.uint8))
    new = SeriesData("f8", np.array([2, 4]), np.array([20.0, 40.0]), np.full(2, 4, dtype=np.uint8))
    merged = chunks.merge(old, new)
    assert merged.ts.tolist() == [1, 2, 3, 4]
    assert np.asarray(merged.values).tolist() == [1.0, 20.0, 3.0, 40.0]
    assert merged.quality.tolist() == [1, 4, 1, 4]
    js = chunks.merge(
        SeriesData("json", np.array([1, 2]), ["a", "b"], np.ones(2, dtype=np.uint8)),
        SeriesData("json", np.array([2]), [["x"]], np.ones(1, dtype=np.uint8)),
    )
    assert js.values == ["a", ["x"]]


def test_split_bounds_chunk_size() -> None:
    n = chunks.CHUNK_MAX * 2 + 1
    data = SeriesData("f8", np.arange(n, dtype=np.int64), np.arange(n, dtype=np.float64), np.ones(n, np.uint8))
    pieces = chunks.split(data)
    assert len(pieces) == 3 and all(len(p) <= chunks.CHUNK_MAX for p in pieces)
    assert np.concatenate([p.ts for p in pieces]).tolist() == list(range(n))


# -- SQLite chunking behaviour (beyond the protocol) -------------------------------------------


def test_compaction_bounds_chunks_and_keeps_results(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "c.db")
    store = SQLiteTelemetry(db)
    from futago.core.telemetry import SeriesBatch

    rng = np.random.default_rng(3)
    expected: dict[int, float] = {}
    for call in range(200):
        ts = T0 + np.arange(call * 10, call * 10 + 10, dtype=np.int64)
        if call % 7 == 0:  # some late readings into the past
            ts = np.concatenate([ts, rng.integers(T0, T0 + call * 10 + 1, size=3)])
        vals = rng.standard_normal(len(ts))
        store.append_series([SeriesBatch("p1", "flow", "f8", ts, vals, np.ones(len(ts), np.uint8))])
        expected.update(zip(ts.tolist(), vals.tolist(), strict=True))
    before = store.read_series("p1", "flow", None, None)
    assert before.ts.tolist() == sorted(expected)
    assert np.asarray(before.values).tolist() == [expected[t] for t in sorted(expected)]
    assert store.chunk_count() < 40  # 200 appends, compacted as they go
    store.compact()
    after = store.read_series("p1", "flow", None, None)
    assert store.chunk_count() <= 2
    np.testing.assert_array_equal(after.ts, before.ts)
    np.testing.assert_array_equal(after.values, before.values)
    # a second instance on the same file (a restart) continues correctly without a cache
    db.close()
    again = SQLiteTelemetry(SQLiteDatabase(tmp_path / "c.db"))
    again.append_series([SeriesBatch("p1", "flow", "f8", np.array([T0 + 5]), np.array([-1.0]), np.ones(1, np.uint8))])
    data = again.read_series("p1", "flow", T0 + 5, T0 + 6)
    assert np.asarray(data.values).tolist() == [-1.0]
    assert len(again.read_series("p1", "flow", None, None)) == len(expected)
    again.db.close()


@pytest.mark.parametrize(
    "value",
    [1.797693134862316e305, 10**20, "-99999999999999999", "0001-01-01T00:00:00+01:00", "²", "--5", "٣"],
)
def test_parse_timestamp_refuses_what_cannot_be_written_back(value: Any) -> None:
    """Out of datetime's years 1 to 9999 a timestamp used to be stored and then fail to format."""
    with pytest.raises(InvalidInput):
        parse_timestamp(value)


def test_parse_timestamp_keeps_the_edges_of_the_writable_years() -> None:
    first = parse_timestamp("0001-01-01T00:00:00Z")
    assert format_timestamp(first) == "0001-01-01T00:00:00.000Z"
    last = parse_timestamp("9999-12-31T23:59:59.999998Z")
    assert format_timestamp(last + 1) == "9999-12-31T23:59:59.999999Z"  # the next page's start
    with pytest.raises(InvalidInput):
        parse_timestamp("9999-12-31T23:59:59.999999Z")


@pytest.mark.parametrize("value", ["999999999999999999h", "P" + "9" * 400 + "D", "²", math.nan, math.inf])
def test_parse_duration_refuses_lengths_beyond_the_writable_years(value: Any) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(value)


def test_aggregate_refuses_a_first_window_before_the_year_1() -> None:
    ts = np.array([parse_timestamp("0001-01-01T00:00:01Z")], dtype=np.int64)
    data = SeriesData("f8", ts, np.array([1.0]), np.array([1], dtype=np.uint8))
    with pytest.raises(InvalidInput) as raised:
        aggregate(data, parse_duration("365d"), ["avg"])
    assert raised.value.problems[0].pointer == "/bucket"
    assert aggregate(data, parse_duration("1h"), ["avg"])["avg"].tolist() == [1.0]
