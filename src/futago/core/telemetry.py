"""Telemetry readings, in the columnar form the store and the analytics share.

A reading is (twin id, telemetry name, timestamp, value, quality flag). Timestamps are
integers: microseconds since the Unix epoch, UTC. Quality flags are QARTOD codes
(1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt
import orjson

from futago.core.errors import InvalidInput
from futago.core.problems import Problem

QUALITY_PASS = 1
QUALITY_NOT_EVALUATED = 2
QUALITY_SUSPECT = 3
QUALITY_FAIL = 4
QUALITY_MISSING = 9

# How a series' values are held: numeric kinds as numpy arrays, everything else as JSON values.
ValueKind = Literal["f8", "i8", "b1", "json"]


class Reading(NamedTuple):
    """One timestamped value of one telemetry of one twin."""

    twin_id: str
    name: str
    ts: int  # microseconds since the epoch, UTC
    value: Any
    quality: int = QUALITY_NOT_EVALUATED


@dataclass(slots=True)
class SeriesBatch:
    """Readings of one series (twin, telemetry), in any time order, possibly with repeats."""

    twin_id: str
    name: str
    kind: ValueKind
    ts: npt.NDArray[np.int64]
    values: npt.NDArray[Any] | list[Any]
    quality: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(slots=True)
class SeriesData:
    """Readings of one series read back from the store: sorted by time, one per timestamp."""

    kind: ValueKind
    ts: npt.NDArray[np.int64]
    values: npt.NDArray[Any] | list[Any]
    quality: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.ts)


class LatestReading(NamedTuple):
    ts: int
    value: Any
    quality: int


# ---------------------------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_N = TypeVar("_N", int, float)


def parse_timestamp(value: str | int | float | datetime) -> int:
    """A timestamp as integer microseconds since the epoch (UTC).

    Numbers (and strings of digits) mean **epoch milliseconds**, the ThingsBoard convention that
    most device payloads and dashboards use; fractions of a millisecond are kept to the
    microsecond. Strings are ISO 8601 (``2024-05-01T12:00:00Z``, offsets allowed); a string or
    datetime without an offset is taken as UTC, so the same input never means two instants.
    """
    if isinstance(value, bool):
        raise InvalidInput([Problem("", "a timestamp must be an ISO 8601 string or epoch milliseconds")])
    if isinstance(value, int | np.integer):
        return _in_range(int(value) * 1000, value)
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise InvalidInput([Problem("", f"timestamp {value!r} is not a finite number")])
        return round(_in_range(float(value) * 1000, value))
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if _EPOCH_MS.fullmatch(text):
            return _in_range(int(text) * 1000, value)
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                [Problem("", f"{value!r} is not an ISO 8601 timestamp (e.g. 2024-05-01T12:00:00Z)")]
            ) from None
    else:
        raise InvalidInput([Problem("", "a timestamp must be an ISO 8601 string or epoch milliseconds")])
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return _in_range((dt - _EPOCH) // _ONE_US, value)


# ASCII digits only: str.isdigit() also accepts '²' and the like, which int() refuses (a 500).
_EPOCH_MS = re.compile(r"-?[0-9]+")
# The instants that format_timestamp can write (datetime's years 1 to 9999). The last
# microsecond of 9999 is left out, so that "the next microsecond" (history paging) is writable.
_MIN_US = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // _ONE_US
_MAX_US = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _ONE_US


def _in_range(us: _N, given: object) -> _N:
    """Refuse a timestamp that could be stored but never written back (year 0, year 10000...)."""
    if not _MIN_US <= us < _MAX_US:
        raise InvalidInput([Problem("", f"timestamp {given!r} is outside the years 1 to 9999")])
    return us


def format_timestamp(us: int) -> str:
    """ISO 8601 in UTC with a 'Z', to the millisecond unless the reading has microseconds."""
    dt = _EPOCH + timedelta(microseconds=int(us))
    spec = "milliseconds" if dt.microsecond % 1000 == 0 else "microseconds"
    return dt.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


_DURATION_UNITS_US = {"us": 1, "ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000}
_DURATION_UNITS_US["d"] = 24 * _DURATION_UNITS_US["h"]
_DURATION_UNITS_US["w"] = 7 * _DURATION_UNITS_US["d"]
_DURATION_UNITS_US["sec"] = _DURATION_UNITS_US["s"]
_DURATION_UNITS_US["min"] = _DURATION_UNITS_US["m"]
_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_SHORT_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>us|ms|sec|s|min|m|h|d|w)$")


def parse_duration(value: str | int | float | timedelta) -> int:
    """A positive duration in microseconds, e.g. a history bucket.

    Accepts ``"1m"``, ``"15s"``, ``"1h"``, ``"1d"``, ISO 8601 (``"PT1M"``), a timedelta, or a
    number of **milliseconds** (the same convention as numeric timestamps).
    """
    us: float
    if isinstance(value, bool):
        us = 0
    elif isinstance(value, timedelta):
        us = value // _ONE_US
    elif isinstance(value, int | float):
        us = value * 1000
    else:
        text = value.strip()
        short = _SHORT_DURATION.match(text)
        iso = _ISO_DURATION.match(text.upper()) if short is None else None
        if short is not None:
            us = float(short["n"]) * _DURATION_UNITS_US[short["unit"]]
        elif iso is not None and any(iso.groupdict().values()):
            us = sum(float(iso[u] or 0) * _DURATION_UNITS_US[u.lower()] for u in ("d", "h", "m", "s"))
        elif text.isdecimal():  # not isdigit(): int() refuses '²', which isdigit() accepts
            us = int(text) * 1000
        else:
            raise InvalidInput([Problem("", f"{value!r} is not a duration; write e.g. 30s, 1m, 15min, 1h, 1d or PT5M")])
    # Longer than every writable timestamp is meaningless, and beyond int64 (or inf, or NaN)
    # it broke the arithmetic that uses it; the comparison also refuses NaN.
    if not us <= _MAX_US - _MIN_US:
        raise InvalidInput([Problem("", f"duration {value!r} is not a length of time up to 9999 years")])
    result = round(us)
    if result <= 0:
        raise InvalidInput([Problem("", f"duration {value!r} must be positive")])
    return result


# ---------------------------------------------------------------------------------------------
# Grouping readings into per-series batches (the ingest hot path)
# ---------------------------------------------------------------------------------------------

KindOf = Callable[[str, str], ValueKind]

_NUMBER_TYPES: frozenset[type] = frozenset({int, float})
_BOOL_TYPES: frozenset[type] = frozenset({bool, np.bool_})
_KIND_DTYPES: dict[str, type[np.generic]] = {"f8": np.float64, "i8": np.int64, "b1": np.bool_}


def _value_ok(kind: ValueKind, value: Any) -> str | None:
    """Why ``value`` does not fit ``kind``, or None. The slow, exact check behind the fast path."""
    if kind == "json":
        try:
            orjson.dumps(value)
        except TypeError as exc:
            return f"value is not JSON-serialisable ({exc})"
        return None
    if kind == "b1":
        return None if isinstance(value, bool | np.bool_) else f"expected a boolean, got {value!r}"
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        return f"expected a number, got {value!r}"
    if kind == "i8":
        if isinstance(value, float | np.floating) and not float(value).is_integer():
            return f"expected an integer, got {value!r}"
        if not -(2**63) <= value < 2**63:
            return f"integer {value!r} does not fit in 64 bits"
    return None


def _types_fit(kind: ValueKind, types: set[type]) -> bool:
    """Whether every value of these Python types certainly fits the kind (the fast path)."""
    if kind == "f8":
        return types <= _NUMBER_TYPES
    if kind == "i8":
        return types <= {int}
    if kind == "b1":
        return types <= _BOOL_TYPES
    return False  # json: checked by serialising


def _row_problem(index: int, row: Any) -> Problem | None:
    """Exact check of one row's shape and timestamp/quality; used only once the fast path failed."""
    if not isinstance(row, tuple | list) or len(row) != 5:
        return Problem(f"/{index}", "a reading is (twin_id, name, ts_us, value, quality)")
    twin_id, name, ts, _value, quality = row
    if not isinstance(twin_id, str) or not isinstance(name, str):
        return Problem(f"/{index}", "twin id and telemetry name must be strings")
    if isinstance(ts, bool) or not isinstance(ts, int | np.integer) or not -(2**63) <= ts < 2**63:
        return Problem(f"/{index}/ts", f"timestamp must be integer microseconds, got {ts!r}")
    if isinstance(quality, bool) or not isinstance(quality, int | np.integer) or not 0 <= quality <= 255:
        return Problem(f"/{index}/quality", f"quality must be an integer 0-255, got {quality!r}")
    return None


def group_readings(rows: Iterable[Reading | tuple[str, str, int, Any, int]], kind_of: KindOf) -> list[SeriesBatch]:
    """Split readings into one columnar batch per series, validating each value against its kind.

    This is the per-reading Python cost of ingest, so it works column-wise: ``zip(*rows)``,
    ``dict.fromkeys`` and ``map`` run in C, and values are type-checked per series by the set
    of their Python types; the exact per-row check runs only to name the first bad row. Batches
    keep arrival order (the store sorts and lets the last write of a timestamp win).

    Raises InvalidInput with Problems pointing at row indices (``/<row>/value``), or at the
    first row of an unknown telemetry (``kind_of`` raising InvalidInput).
    """
    rows = rows if isinstance(rows, list) else list(rows)
    n = len(rows)
    if n == 0:
        return []
    row_types = set(map(type, rows))
    if not all(issubclass(t, tuple | list) for t in row_types) or set(map(len, rows)) != {5}:
        _check_rows(rows)
    twins, names, ts_col, values, qualities = zip(*rows, strict=True)
    if not set(map(type, ts_col)) <= {int} or not set(map(type, qualities)) <= {int}:
        _check_rows(rows)
    keys = list(zip(twins, names, strict=True))
    index: dict[tuple[str, str], int] = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    series_keys = list(index)
    kinds: list[ValueKind] = []
    for twin_id, name in series_keys:
        if not isinstance(twin_id, str) or not isinstance(name, str):
            _check_rows(rows)
        try:
            kinds.append(kind_of(twin_id, name))
        except InvalidInput as exc:
            first = keys.index((twin_id, name))
            raise InvalidInput(
                [Problem(f"/{first}/name", p.message, p.id or twin_id) for p in exc.problems]
                or [Problem(f"/{first}/name", exc.detail, twin_id)]
            ) from None
    try:
        ts_all = np.array(ts_col, dtype=np.int64)
        q_all = np.array(qualities, dtype=np.int64)
    except (OverflowError, TypeError, ValueError):
        _check_rows(rows)
        raise
    if q_all.min() < 0 or q_all.max() > 255:
        _check_rows(rows)

    codes = np.fromiter(map(index.__getitem__, keys), dtype=np.intp, count=n)
    single = len(series_keys) == 1
    order = np.arange(n) if single else np.argsort(codes, kind="stable")
    bounds = np.zeros(len(series_keys) + 1, dtype=np.intp)
    np.cumsum(np.bincount(codes, minlength=len(series_keys)), out=bounds[1:])
    ts_sorted = ts_all[order]
    q_sorted = q_all[order].astype(np.uint8)
    values_obj = np.fromiter(values, dtype=object, count=n)
    values_sorted = values_obj if single else values_obj[order]
    uniform_kind = kinds[0] if len(set(kinds)) == 1 else None
    all_types_fit = uniform_kind is not None and _types_fit(uniform_kind, set(map(type, values)))

    batches: list[SeriesBatch] = []
    for s, ((twin_id, name), kind) in enumerate(zip(series_keys, kinds, strict=True)):
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        group_vals = values_sorted[lo:hi]
        if not all_types_fit and not _types_fit(kind, set(map(type, group_vals))):
            _check_values(kind, group_vals, order[lo:hi])
        if kind == "json":
            col: npt.NDArray[Any] | list[Any] = group_vals.tolist()
        else:
            try:
                col = group_vals.astype(_KIND_DTYPES[kind])
            except (OverflowError, TypeError, ValueError):
                _check_values(kind, group_vals, order[lo:hi])
                raise
        batches.append(SeriesBatch(twin_id, name, kind, ts_sorted[lo:hi], col, q_sorted[lo:hi]))
    return batches


def _check_rows(rows: list[Any]) -> None:
    """The exact per-row check, run only when the fast column-wise checks saw something odd."""
    problems = []
    for i, row in enumerate(rows):
        problem = _row_problem(i, row)
        if problem is not None:
            problems.append(problem)
            if len(problems) >= 20:
                break
    if problems:
        raise InvalidInput(problems)


def _check_values(kind: ValueKind, values: npt.NDArray[Any], row_index: npt.NDArray[np.intp]) -> None:
    """The slow exact check of one series' values; raises naming up to 20 offending rows."""
    if kind == "json":
        try:
            orjson.dumps(values.tolist())
            return
        except TypeError:
            pass
    problems = []
    for value, row in zip(values.tolist(), row_index.tolist(), strict=True):
        why = _value_ok(kind, value)
        if why is not None:
            problems.append(Problem(f"/{row}/value", why))
            if len(problems) >= 20:
                break
    if problems:
        raise InvalidInput(sorted(problems, key=lambda p: int(p.pointer.split("/")[1])))


# ---------------------------------------------------------------------------------------------
# Aggregation into time buckets
# ---------------------------------------------------------------------------------------------

AGGREGATIONS = ("avg", "min", "max", "sum", "count", "first", "last")
_JSON_AGGREGATIONS = frozenset({"count", "first", "last"})


def aggregate(data: SeriesData, bucket_us: int, aggs: Sequence[str], origin_us: int = 0) -> dict[str, Any]:
    """Bucket a sorted series into fixed windows and aggregate each non-empty one with numpy.

    Buckets are ``[origin + k*bucket, origin + (k+1)*bucket)``; only buckets holding readings
    appear (a gap stays a gap rather than a zero). The result maps ``"ts"`` (bucket starts, µs)
    and each requested aggregation to an array of the same length; ``avg`` is float, ``count``
    int64, ``min``/``max``/``sum``/``first``/``last`` keep the series' dtype (booleans sum as
    integers and average as the fraction true). JSON series allow only count/first/last.
    """
    unknown = [a for a in aggs if a not in AGGREGATIONS]
    if unknown:
        raise InvalidInput(
            [Problem("/aggs", f"unknown aggregation {a!r}; use {', '.join(AGGREGATIONS)}") for a in unknown]
        )
    if bucket_us <= 0:
        raise InvalidInput([Problem("/bucket", "bucket must be a positive duration")])
    if data.kind == "json" and not set(aggs) <= _JSON_AGGREGATIONS:
        raise InvalidInput([Problem("/aggs", "a JSON-valued telemetry supports only count, first and last")])
    ts = np.asarray(data.ts, dtype=np.int64)
    buckets = (ts - origin_us) // bucket_us
    if len(ts) and int(buckets[0]) * bucket_us + origin_us < _MIN_US:
        # The window of the earliest reading would start before the year 1: not writable.
        raise InvalidInput([Problem("/bucket", "the bucket is too large for readings this early")])
    if len(ts):
        starts = np.flatnonzero(np.concatenate(([True], buckets[1:] != buckets[:-1])))
    else:
        starts = np.zeros(0, dtype=np.intp)
    ends = np.append(starts[1:], len(ts)) if len(starts) else starts
    out: dict[str, Any] = {"ts": buckets[starts] * bucket_us + origin_us}
    if data.kind == "json":
        vals_list = list(data.values)
        for agg in aggs:
            if agg == "count":
                out[agg] = (ends - starts).astype(np.int64)
            elif agg == "first":
                out[agg] = [vals_list[i] for i in starts.tolist()]
            else:
                out[agg] = [vals_list[i - 1] for i in ends.tolist()]
        return out
    values = np.asarray(data.values)
    numeric = values.astype(np.int64) if values.dtype == np.bool_ else values
    empty = len(starts) == 0
    for agg in aggs:
        if agg == "count":
            out[agg] = (ends - starts).astype(np.int64)
        elif agg == "first":
            out[agg] = values[starts]
        elif agg == "last":
            out[agg] = values[ends - 1]
        elif agg == "sum":
            out[agg] = numeric[:0] if empty else np.add.reduceat(numeric, starts)
        elif agg == "avg":
            sums = np.zeros(0) if empty else np.add.reduceat(numeric, starts, dtype=np.float64)
            out[agg] = sums / (ends - starts)
        elif agg == "min":
            out[agg] = values[:0] if empty else np.minimum.reduceat(values, starts)
        else:
            out[agg] = values[:0] if empty else np.maximum.reduceat(values, starts)
    return out
