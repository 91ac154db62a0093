"""Calibration records, their validation, the book's rules and applying them to raw readings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from futago.core.errors import Conflict, InvalidInput, NotFound
from futago.core.telemetry import parse_timestamp
from futago.quality import Calibration, CalibrationBook, CalibrationChange

DAY = 86_400_000_000
T0 = parse_timestamp("2024-01-01T00:00:00Z")


def linear(id: str, start: int, end: int | None, gain: float = 2.0, offset: float = 1.0) -> Calibration:
    return Calibration(id, "pump-1", "temp", "linear", start, end, gain=gain, offset=offset)


def pointers(exc: pytest.ExceptionInfo[Any]) -> list[str]:
    return [p.pointer for p in exc.value.problems]


def add(book: CalibrationBook, cal: Calibration, **kw: Any) -> tuple[CalibrationBook, CalibrationChange]:
    return book.add(cal, who="alice", why="annual certificate", when_us=T0, **kw)


# -- JSON ---------------------------------------------------------------------------------------


def test_from_json_linear_iso_and_epoch_ms() -> None:
    cal = Calibration.from_json(
        {
            "id": "c1",
            "twinId": "pump-1",
            "telemetry": "temp",
            "gain": 1.5,
            "offset": -2,
            "validFrom": "2024-01-01T00:00:00Z",
            "validTo": 1704153600000,
            "certificate": "JCSS-0042",
        }
    )
    assert cal.kind == "linear"
    assert (cal.gain, cal.offset) == (1.5, -2.0)
    assert cal.valid_from_us == T0
    assert cal.valid_to_us == T0 + DAY
    assert cal.polynomial == (-2.0, 1.5)
    assert Calibration.from_json(cal.to_json()) == cal


def test_from_json_polynomial_inferred_and_round_trips() -> None:
    cal = Calibration.from_json(
        {"coefficients": [0.5, 1, 0.01], "validFrom": T0 // 1000},
        twin_id="pump-1",
        telemetry="temp",
        default_id="p1",
    )
    assert cal.kind == "polynomial"
    assert cal.id == "p1"
    assert cal.valid_to_us is None
    np.testing.assert_allclose(cal.evaluate([0.0, 10.0]), [0.5, 11.5])
    assert Calibration.from_json(cal.to_json()) == cal


def test_from_json_generates_an_id() -> None:
    body = {"twinId": "a", "telemetry": "t", "gain": 1, "validFrom": 0}
    assert Calibration.from_json(body).id != Calibration.from_json(body).id


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"gain": 0}, "/gain"),
        ({"gain": "2"}, "/gain"),
        ({"gain": float("nan")}, "/gain"),
        ({"gain": True}, "/gain"),
        ({"gain": 1, "offset": float("inf")}, "/offset"),
        ({}, "/gain"),
        ({"kind": "polynomial", "coefficients": [1, 2, "x"]}, "/coefficients/2"),
        ({"kind": "polynomial", "coefficients": [1]}, "/coefficients"),
        ({"kind": "polynomial", "coefficients": [3, 0, 0]}, "/coefficients"),
        ({"kind": "polynomial", "coefficients": list(range(11))}, "/coefficients"),
        ({"kind": "polynomial", "coefficients": [0, 1], "gain": 2}, "/gain"),
        ({"kind": "linear", "gain": 1, "coefficients": [0, 1]}, "/coefficients"),
        ({"kind": "cubic", "gain": 1}, "/kind"),
        ({"gain": 1, "validFrom": None}, "/validFrom"),
        ({"gain": 1, "validFrom": "yesterday"}, "/validFrom"),
        ({"gain": 1, "validTo": "2023-12-31T00:00:00Z"}, "/validTo"),
        ({"gain": 1, "validTo": "2024-01-01T00:00:00Z"}, "/validTo"),
        ({"gain": 1, "certificate": ""}, "/certificate"),
        ({"gain": 1, "certificate": 42}, "/certificate"),
        ({"gain": 1, "colour": "red"}, "/colour"),
        ({"gain": 1, "twinId": "other"}, "/twinId"),
        ({"gain": 1, "id": 7}, "/id"),
    ],
)
def test_from_json_points_at_the_bad_key(body: dict[str, Any], pointer: str) -> None:
    data = {"validFrom": "2024-01-01T00:00:00Z", **body}
    with pytest.raises(InvalidInput) as exc:
        Calibration.from_json(data, twin_id="pump-1", telemetry="temp")
    assert pointer in pointers(exc)


def test_from_json_reports_every_problem_at_once() -> None:
    with pytest.raises(InvalidInput) as exc:
        Calibration.from_json({"twinId": "a", "telemetry": "t", "gain": 0, "validFrom": "nope", "certificate": ""})
    assert set(pointers(exc)) == {"/gain", "/validFrom", "/certificate"}


def test_from_json_needs_an_object_and_a_series() -> None:
    with pytest.raises(InvalidInput):
        Calibration.from_json([1, 2])
    with pytest.raises(InvalidInput) as exc:
        Calibration.from_json({"gain": 1, "validFrom": 0})
    assert {"/twinId", "/telemetry"} <= set(pointers(exc))


# -- the book -----------------------------------------------------------------------------------


def test_apply_linear_and_polynomial_windows_and_passthrough() -> None:
    book = CalibrationBook("pump-1", "temp")
    book, _ = add(book, linear("a", T0, T0 + DAY, gain=2.0, offset=1.0))
    poly = Calibration("b", "pump-1", "temp", "polynomial", T0 + 2 * DAY, coefficients=(0.0, 1.0, 0.5))
    book, _ = add(book, poly)
    ts = np.array([T0 - 1, T0, T0 + DAY - 1, T0 + DAY, T0 + 2 * DAY, T0 + 100 * DAY], dtype=np.int64)
    raw = np.array([10.0, 10.0, 3.0, 3.0, 2.0, np.nan])
    # before every window: raw; [from, to) half-open; the gap between windows: raw; NaN stays NaN
    np.testing.assert_array_equal(book.apply(ts, raw), [10.0, 21.0, 7.0, 3.0, 4.0, np.nan])
    np.testing.assert_array_equal(book.covered(ts), [False, True, True, False, True, True])
    assert book.at(T0 + 5).id == "a"  # type: ignore[union-attr]
    assert book.at(T0 + DAY) is None


def test_apply_matches_each_record_in_any_time_order() -> None:
    records = [linear(f"c{i}", T0 + i * DAY, T0 + (i + 1) * DAY, gain=1 + i, offset=-i) for i in range(5)]
    book = CalibrationBook("pump-1", "temp", tuple(reversed(records)))
    rng = np.random.default_rng(7)
    ts = rng.integers(T0 - DAY, T0 + 6 * DAY, 2_000)
    raw = rng.normal(20, 5, ts.size)
    expected = raw.copy()
    for cal in records:
        inside = (ts >= cal.valid_from_us) & (ts < cal.end_us)
        expected[inside] = cal.gain * raw[inside] + cal.offset
    np.testing.assert_allclose(book.apply(ts, raw), expected)


def test_apply_with_no_records_is_the_identity() -> None:
    raw = np.array([1.0, np.nan, -3.5])
    np.testing.assert_array_equal(CalibrationBook("p", "t").apply([1, 2, 3], raw), raw)
    with pytest.raises(ValueError):
        CalibrationBook("p", "t").apply([1, 2], raw)


def test_overlap_is_refused_with_a_clear_problem() -> None:
    book, _ = add(CalibrationBook("pump-1", "temp"), linear("a", T0, None))
    with pytest.raises(Conflict) as exc:
        add(book, linear("b", T0 + DAY, T0 + 2 * DAY))
    problem = exc.value.problems[0]
    assert problem.pointer == "/validFrom"
    assert "overlaps calibration a" in problem.message and "supersedes" in problem.message
    # touching windows are fine: [from, to) is half-open
    closed, _ = book.correct(linear("a", T0, T0 + DAY), who="bob", why="replaced sensor", when_us=T0 + DAY)
    after, change = add(closed, linear("b", T0 + DAY, None))
    assert [c.id for c in after.records] == ["a", "b"]
    assert change.action == "created" and change.before is None


def test_supersede_replaces_and_records_before_and_after() -> None:
    book, created = add(CalibrationBook("pump-1", "temp"), linear("a", T0, T0 + DAY, gain=2.0))
    fixed = linear("a2", T0 - DAY, T0 + 3 * DAY, gain=2.5)
    book2, change = book.add(fixed, who="bob", why="certificate typo", when_us=T0 + 5, supersedes="a")
    assert [c.id for c in book2.records] == ["a2"]
    assert [c.id for c in book.records] == ["a"]  # the old book is untouched
    assert change.action == "corrected"
    assert change.before == book.get("a").to_json() and change.after == fixed.to_json()
    assert (change.who, change.why, change.when_us) == ("bob", "certificate typo", T0 + 5)
    assert CalibrationBook.window_of(change) == (T0 - DAY, T0 + 3 * DAY)
    assert CalibrationBook.window_of(created) == (T0, T0 + DAY)


def test_window_spans_old_and_new_and_open_ends() -> None:
    book, _ = add(CalibrationBook("pump-1", "temp"), linear("a", T0 + 5 * DAY, None))
    book, change = book.correct(linear("a", T0, T0 + DAY), who="x", why="closed", when_us=T0)
    assert change.window() == (T0, None)  # readings after T0+1d revert to raw: recompute them
    _, retired = book.retire("a", who="x", why="entered in error", when_us=T0)
    assert retired.action == "retired" and retired.after is None
    assert retired.window() == (T0, T0 + DAY)


def test_book_refuses_duplicates_other_series_and_unknown_ids() -> None:
    book, _ = add(CalibrationBook("pump-1", "temp"), linear("a", T0, T0 + DAY))
    with pytest.raises(Conflict):
        add(book, linear("a", T0 + 2 * DAY, None))
    with pytest.raises(InvalidInput):
        add(book, Calibration("z", "pump-2", "temp", "linear", T0 + 2 * DAY, gain=1.0))
    with pytest.raises(NotFound):
        book.retire("nope", who="x", why="y", when_us=T0)
    with pytest.raises(InvalidInput):
        CalibrationBook("pump-1", "temp", (linear("a", T0, None), linear("b", T0 + 1, None)))


def test_a_change_needs_who_and_why() -> None:
    book = CalibrationBook("pump-1", "temp")
    with pytest.raises(InvalidInput) as exc:
        book.add(linear("a", T0, None), who=" ", why="", when_us=T0)
    assert set(pointers(exc)) == {"/who", "/why"}


def test_change_json_round_trip() -> None:
    _, change = add(CalibrationBook("pump-1", "temp"), linear("a", T0, None))
    data = change.to_json()
    assert data["when"] == "2024-01-01T00:00:00.000Z" and data["action"] == "created"
    assert CalibrationChange.from_json(data) == change


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-50, 50, allow_nan=False).filter(lambda c: c != 0), min_size=2, max_size=5),
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=30),
)
def test_polynomial_matches_numpy(coefficients: list[float], raw: list[float]) -> None:
    cal = Calibration("p", "pump-1", "temp", "polynomial", 0, coefficients=tuple(coefficients))
    book = CalibrationBook("pump-1", "temp", (cal,))
    expected = np.polynomial.polynomial.polyval(np.array(raw), coefficients)
    np.testing.assert_allclose(book.apply(np.arange(len(raw)), raw), expected, rtol=1e-9, atol=1e-6)
