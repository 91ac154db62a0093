"""The aggregated temporal representation (GS CIM 009 4.5.19): readings bucketed into periods, with numpy.

Pure functions over a ``SeriesData`` already cut to the query's interval, so the work is one read of the telemetry
store's chunks and a few ``reduceat`` passes: no Python loop per reading, none per bucket. Periods are
``[origin + k*period, origin + (k+1)*period)``; a period without readings is left out, as futago's bucketed history
does (a gap stays a gap, not a zero).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from futago.core.telemetry import SeriesData, format_timestamp
from futago.services.ngsild.errors import BadRequestData

METHODS = ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq")
_NUMERIC_ONLY = frozenset({"sum", "avg", "stddev", "sumsq"})
_US = {"W": 7 * 86_400_000_000, "D": 86_400_000_000, "H": 3_600_000_000, "M": 60_000_000, "S": 1_000_000}
_DURATION = re.compile(
    r"^P(?:(?P<Y>\d+)Y)?(?:(?P<MO>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<H>\d+)H)?(?:(?P<M>\d+)M)?(?:(?P<S>\d+(?:\.\d{1,6})?)S)?)?$"
)
MAX_PERIODS = 100_000  # as futago's bucketed history: "PT1S over ten years" is refused, not computed


def parse_period(text: str) -> int:
    """An ISO 8601 duration (``PT1M``, ``P1D``, ``P1W``, ``PT0.5S``) in microseconds. Years and months are refused:
    their length depends on the calendar, and futago's buckets are fixed lengths (a departure docs/ngsi-ld.md
    names)."""
    found = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if found is None or not any(found.groupdict().values()) or text.strip().endswith("T"):
        raise BadRequestData(f"aggrPeriodDuration must be an ISO 8601 duration such as PT1M or P1D, not {text!r}")
    if found["Y"] or found["MO"]:
        raise BadRequestData("aggrPeriodDuration in years or months is not supported: use weeks, days or less")
    us = sum(round(float(found[unit] or 0) * size) for unit, size in _US.items())
    if us <= 0:
        raise BadRequestData("aggrPeriodDuration must be longer than zero")
    return us


def parse_methods(text: str | None) -> list[str]:
    if not text:
        raise BadRequestData(f"the aggregated representation needs aggrMethods: some of {', '.join(METHODS)}")
    methods = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise BadRequestData(f"unknown aggrMethods {', '.join(unknown)}: use {', '.join(METHODS)}")
    return list(dict.fromkeys(methods))


@dataclass(frozen=True)
class Periods:
    """Where each reading falls: the start of each non-empty period and the readings' index bounds."""

    starts_us: npt.NDArray[np.int64]
    period_us: int
    first: npt.NDArray[np.intp]  # index of each period's first reading
    last: npt.NDArray[np.intp]  # one past each period's last reading
    bucket: npt.NDArray[np.int64]  # each reading's period number

    @property
    def counts(self) -> npt.NDArray[np.intp]:
        return self.last - self.first


def periods(ts: npt.NDArray[np.int64], origin_us: int, period_us: int) -> Periods:
    if len(ts) and (int(ts[-1]) - origin_us) // period_us > MAX_PERIODS:
        raise BadRequestData(f"aggrPeriodDuration is too short: the interval would need over {MAX_PERIODS} periods")
    bucket = (ts - origin_us) // period_us
    first = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1]))) if len(ts) else np.zeros(0, np.intp)
    last = np.append(first[1:], len(ts)).astype(np.intp) if len(first) else first
    return Periods(bucket[first] * period_us + origin_us, period_us, first, last, bucket)


def aggregate(
    data: SeriesData, methods: list[str], origin_us: int, period_us: int, until_us: int | None = None
) -> dict[str, list[list[Any]]]:
    """Each method's ``[[value, periodStart, periodEnd], ...]``; a method that does not apply to the values (a sum
    of strings, a stddev of one reading) answers null for that period. ``until_us``: where the query's interval
    ends, so that the last period is not said to reach past it."""
    cut = periods(np.asarray(data.ts, dtype=np.int64), origin_us, period_us)
    numeric = data.kind != "json"
    values: Any = np.asarray(data.values) if numeric else list(data.values)
    if numeric and values.dtype == np.bool_:
        values = values.astype(np.int64)  # booleans count as 0 and 1, as futago's bucketed history does
    ends = cut.starts_us + period_us if until_us is None else np.minimum(cut.starts_us + period_us, until_us)
    bounds = [(answer_time(s), answer_time(e)) for s, e in zip(cut.starts_us.tolist(), ends.tolist(), strict=True)]
    out: dict[str, list[list[Any]]] = {}
    for method in methods:
        column = _numeric(method, values, cut) if numeric else _json(method, values, cut)
        out[method] = [[v, start, end] for v, (start, end) in zip(column, bounds, strict=True)]
    return out


def _numeric(method: str, values: npt.NDArray[Any], cut: Periods) -> list[Any]:
    if len(cut.first) == 0:
        return []
    counts = cut.counts
    if method == "totalCount":
        return [int(c) for c in counts.tolist()]
    if method == "distinctCount":
        return _distinct(values, cut)
    if method == "min":
        return _plain(np.minimum.reduceat(values, cut.first))
    if method == "max":
        return _plain(np.maximum.reduceat(values, cut.first))
    floats = values.astype(np.float64)
    sums = np.add.reduceat(floats, cut.first)
    if method == "sum":
        return _plain(sums)
    if method == "sumsq":
        return _plain(np.add.reduceat(floats * floats, cut.first))
    means = sums / counts
    if method == "avg":
        return _plain(means)
    # stddev: the sample standard deviation (as SQL's stddev), from deviations, not from sumsq - sum²/n, which
    # loses every digit when the values are large and close together
    deviations = floats - np.repeat(means, counts)
    squares = np.add.reduceat(deviations * deviations, cut.first)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.sqrt(squares / (counts - 1))
    return [None if n < 2 else v for v, n in zip(_plain(spread), counts.tolist(), strict=True)]


def _distinct(values: npt.NDArray[Any], cut: Periods) -> list[Any]:
    """Distinct values per period in one sort: by period, then value; a new value or period starts a run."""
    order = np.lexsort((values, cut.bucket))
    sorted_values, sorted_buckets = values[order], cut.bucket[order]
    new = np.ones(len(order), dtype=np.int64)
    new[1:] = (sorted_buckets[1:] != sorted_buckets[:-1]) | (sorted_values[1:] != sorted_values[:-1])
    return [int(c) for c in np.add.reduceat(new, cut.first).tolist()]  # periods keep their positions in the sort


def _json(method: str, values: list[Any], cut: Periods) -> list[Any]:
    """JSON-valued readings (strings, objects): counts always; min and max where a period holds only strings
    (ISO 8601 times compare as strings); nothing numeric."""
    out: list[Any] = []
    for lo, hi in zip(cut.first.tolist(), cut.last.tolist(), strict=True):
        chunk = values[lo:hi]
        if method == "totalCount":
            out.append(hi - lo)
        elif method == "distinctCount":
            out.append(len({orjson.dumps(v, option=orjson.OPT_SORT_KEYS) for v in chunk}))
        elif method in ("min", "max") and (all(isinstance(v, str) for v in chunk) or all(map(_number, chunk))):
            out.append(min(chunk) if method == "min" else max(chunk))
        elif method in _NUMERIC_ONLY and all(_number(v) for v in chunk):
            one = periods(np.zeros(len(chunk), np.int64), 0, 1)  # the period's readings as a period of their own
            out.append(_numeric(method, np.asarray(chunk, dtype=np.float64), one)[0])
        else:
            out.append(None)
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(column: npt.NDArray[Any]) -> list[Any]:
    """JSON values: NaN (a NaN reading) is null; an integral float is written as an integer."""
    return [answer_value(v) for v in column.tolist()]


def answer_value(value: Any) -> Any:
    """A stored number as the temporal API answers it: the store keeps numbers as float64, so 120 comes back as
    120.0; JSON has one number type, and a client comparing with what it sent expects 120. NaN is null."""
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value


def answer_time(ts_us: int) -> str:
    """An instant as the temporal API answers it: whole seconds without a fraction (2020-08-01T12:03:00Z, the form
    clients send), else milliseconds, else microseconds; always UTC with a 'Z'."""
    if ts_us % 1_000_000 == 0:
        return format_timestamp(ts_us).replace(".000Z", "Z")
    return format_timestamp(ts_us)
