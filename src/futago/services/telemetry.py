"""Telemetry use cases: ingest readings, read history (raw or bucketed), read latest values.

The service is where readings meet the models: ``kind_of`` (wired by the app from the DTDL
models) says whether a twin has a telemetry and how its values are held, so the store stays
free of domain rules. Every append publishes one ``telemetry.appended`` event per series —
not per reading — so subscribers (rules, behaviours, the live stream) keep up with bulk ingest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from futago.core.errors import FutagoError, InvalidInput
from futago.core.events import TELEMETRY_APPENDED, Event, EventBus
from futago.core.ports import TelemetryStore
from futago.core.problems import Problem
from futago.core.telemetry import (
    AGGREGATIONS,
    QUALITY_NOT_EVALUATED,
    LatestReading,
    Reading,
    SeriesBatch,
    SeriesData,
    ValueKind,
    aggregate,
    format_timestamp,
    group_readings,
    parse_duration,
    parse_timestamp,
)
from futago.quality.gapfill import fill_gaps
from futago.services.calibration import CalibrationService
from futago.services.quality import QC_SEPARATOR, QualityService, qc_series_name

TimeLike = str | int | float | datetime
# Most buckets one aggregated query may produce; protects the server from "1 µs over a year".
MAX_BUCKETS = 100_000


@dataclass(slots=True)
class TelemetryHistory:
    """What a history query answers: raw readings, or one row per non-empty bucket.

    ``columns`` maps ``"ts"`` (µs) plus ``"value"``/``"quality"`` (raw) or each aggregation
    (bucketed) to equal-length arrays or lists.
    """

    twin_id: str
    name: str
    kind: ValueKind
    start_us: int | None
    end_us: int | None
    bucket_us: int | None
    columns: dict[str, Any]

    def __len__(self) -> int:
        return len(self.columns["ts"])

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: ISO timestamps, one object per point."""
        names = list(self.columns)
        cols = [_to_list(self.columns[c]) for c in names]
        points = []
        for row in zip(*cols, strict=True):
            point = dict(zip(names, row, strict=True))
            point["ts"] = format_timestamp(point["ts"])
            points.append(point)
        return {
            "twinId": self.twin_id,
            "name": self.name,
            "kind": self.kind,
            "from": None if self.start_us is None else format_timestamp(self.start_us),
            "to": None if self.end_us is None else format_timestamp(self.end_us),
            "bucket": None if self.bucket_us is None else f"{self.bucket_us // 1000}ms",
            "points": points,
        }


def _at(parse: Callable[[Any], int], value: Any, pointer: str) -> Any:
    """Parse an optional query value, pointing any problem at the parameter it came from."""
    if value is None:
        return None
    try:
        return parse(value)
    except InvalidInput as exc:
        raise InvalidInput([Problem(pointer, p.message) for p in exc.problems]) from exc


def _filled(data: SeriesData, method: str, interval: Any, max_gap: Any) -> dict[str, Any]:
    """Gaps filled for analytics: interpolated points are marked, raw readings kept as they are."""
    if data.kind not in ("f8", "i8"):
        raise InvalidInput([Problem("/fill", "only numeric telemetry can be gap-filled")])
    if method not in ("linear", "ffill"):
        raise InvalidInput([Problem("/fill", "fill is 'linear' or 'ffill'")])
    if interval is None:
        raise InvalidInput([Problem("/interval", "gap filling needs the expected interval, e.g. interval=1m")])
    interval_us = _at(parse_duration, interval, "/interval")
    max_gap_us = _at(parse_duration, max_gap, "/maxGap")
    ts, values, interpolated = fill_gaps(data.ts, data.values, interval_us, method, max_gap_us)  # type: ignore[arg-type]
    quality = np.full(len(ts), QUALITY_NOT_EVALUATED, dtype=np.uint8)
    quality[np.isin(ts, data.ts)] = data.quality[np.isin(data.ts, ts)]
    return {"ts": ts, "value": values, "quality": quality, "interpolated": interpolated}


# QARTOD flags from best to worst: a "minimum quality" keeps the flags at or before it.
_FLAG_RANK = {1: 0, 2: 1, 3: 2, 4: 3, 9: 4}
_RANK_OF_FLAG = np.full(256, 255, dtype=np.uint8)
_RANK_OF_FLAG[list(_FLAG_RANK)] = list(_FLAG_RANK.values())


def _at_least(data: SeriesData, min_quality: int) -> SeriesData:
    if min_quality not in _FLAG_RANK:
        raise InvalidInput([Problem("/minQuality", "minQuality is a QARTOD flag: 1, 2, 3, 4 or 9")])
    keep = _RANK_OF_FLAG[data.quality] <= _FLAG_RANK[min_quality]
    values = (
        np.asarray(data.values)[keep]
        if data.kind != "json"
        else [v for v, k in zip(data.values, keep, strict=True) if k]
    )
    return SeriesData(data.kind, data.ts[keep], values, data.quality[keep])


def _to_list(col: Any) -> list[Any]:
    if isinstance(col, np.ndarray):
        if col.dtype.kind == "f":  # NaN is not JSON: report a missing value as null
            return [None if v != v else v for v in col.tolist()]
        return list(col.tolist())
    return list(col)


class TelemetryService:
    def __init__(
        self,
        store: TelemetryStore,
        bus: EventBus,
        kind_of: Callable[[str, str], ValueKind],
        quality: QualityService | None = None,
        calibration: CalibrationService | None = None,
        read_kind_of: Callable[[str, str], ValueKind] | None = None,
        personal_filter: Callable[[list[Any]], list[Any]] | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.kind_of = kind_of
        #: Reading also knows derived series (forecasts, scores) that only the behaviour runtime may write.
        self.read_kind_of = read_kind_of or kind_of
        self.checks = quality
        self.calibration = calibration
        self.personal_filter = personal_filter

    def append(
        self,
        rows: Iterable[Reading | tuple[str, str, int, Any, int]],
        kind_of: Callable[[str, str], ValueKind] | None = None,
    ) -> int:
        """Validate and store readings; returns how many distinct (series, ts) were written.

        Nothing is stored if any row is invalid (InvalidInput names the rows). The event for a
        series carries the batch's time range and its newest reading, which is what a rule
        evaluates; a late batch's "latest" is the newest of that batch, not of the series.
        """
        return self.append_batches(self.prepare(rows, kind_of))

    def prepare(
        self,
        rows: Iterable[Reading | tuple[str, str, int, Any, int]],
        kind_of: Callable[[str, str], ValueKind] | None = None,
    ) -> list[SeriesBatch]:
        """Validate readings into compact columnar batches without storing them: a body streamed in parts is
        checked whole before ``append_batches`` stores any of it, so a bad line still stores nothing."""
        if self.personal_filter is not None:  # personal telemetry is sealed elsewhere, never stored or published here
            rows = self.personal_filter(list(rows))
        return group_readings(rows, kind_of or self.kind_of)

    def append_batches(self, batches: list[SeriesBatch]) -> int:
        """Store batches that ``prepare`` validated; returns how many distinct (series, ts) were written."""
        if not batches:
            return 0
        # calibrate first, so the quality tests judge the calibrated values
        raw = self.calibration.apply(batches) if self.calibration is not None else []
        checked = self.checks.check(batches) if self.checks is not None else []
        count = self.store.append_series(batches)
        if raw or checked:  # raw values; per-test flags; earlier readings whose flags became final
            self.store.append_series(raw + checked)
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        # Interleaved ingest gives every series the same few timestamps: format each once.
        fmt = functools.lru_cache(maxsize=4096)(format_timestamp)
        for batch in batches:
            self.bus.publish(self._event(batch, now, fmt))
        return count

    def mark_missing(self, now_us: int) -> int:
        """Store MISSING marks for overdue expected readings (the background timing check)."""
        if self.checks is None:
            return 0
        marks = [m for m in self.checks.missing(now_us) if self.kind_of(m.twin_id, m.name) == "f8"]
        if not marks:
            return 0
        count = self.store.append_series(marks)
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for batch in marks:
            self.bus.publish(self._event(batch, now))
        return count

    def append_valid(
        self, rows: Sequence[Reading | tuple[str, str, int, Any, int]]
    ) -> tuple[int, list[tuple[int, str]]]:
        """Store the valid rows and return (stored, [(row index, reason)] of the rejected ones).

        Connectors use this: one bad reading must not hold back the good ones beside it, and
        each rejected row goes to the dead letters with its reason.
        """
        try:
            return self.append(rows), []
        except FutagoError:
            pass
        good: list[Reading | tuple[str, str, int, Any, int]] = []
        rejected: list[tuple[int, str]] = []
        for index, row in enumerate(rows):  # the slow path runs only for a batch with a bad row
            try:
                group_readings([row], self.kind_of)
                good.append(row)
            except FutagoError as exc:
                rejected.append((index, exc.problems[0].message if exc.problems else exc.detail))
        return (self.append(good) if good else 0), rejected

    @staticmethod
    def _event(batch: SeriesBatch, now: str, fmt: Callable[[int], str] = format_timestamp) -> Event:
        ts = batch.ts
        newest = int(np.argmax(ts[::-1]))  # the last-given reading among those with the max ts
        i = len(ts) - 1 - newest
        value = batch.values[i]
        if isinstance(value, np.generic):
            value = value.item()
        data = {
            "name": batch.name,
            "count": len(batch),
            "first": fmt(int(ts.min())),
            "last": fmt(int(ts[i])),
            "latest": {"ts": fmt(int(ts[i])), "value": value, "quality": int(batch.quality[i])},
        }
        return Event(TELEMETRY_APPENDED, now, twin_id=batch.twin_id, data=data)

    def history(
        self,
        twin_id: str,
        name: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        bucket: str | int | float | None = None,
        aggs: Sequence[str] | None = None,
        limit: int | None = None,
        min_quality: int | None = None,
        raw: bool = False,
        fill: str | None = None,
        fill_interval: str | int | float | None = None,
        max_gap: str | int | float | None = None,
    ) -> TelemetryHistory:
        """Readings in [start, end), raw or aggregated into buckets aligned to the epoch (UTC).

        A missing bound is open. Numeric times and buckets are epoch milliseconds (see
        ``parse_timestamp``). With a bucket, ``aggs`` defaults to ``["avg"]``. ``limit`` keeps
        the first points from ``start``; page on by asking again from the last point's time + 1 µs.
        """
        kind = self.read_kind_of(twin_id, name)  # raises InvalidInput for an unknown telemetry
        start_us = _at(parse_timestamp, start, "/from")
        end_us = _at(parse_timestamp, end, "/to")
        if start_us is not None and end_us is not None and end_us <= start_us:
            raise InvalidInput([Problem("/to", "'to' must be after 'from'")])
        if limit is not None and limit <= 0:
            raise InvalidInput([Problem("/limit", "limit must be a positive integer")])
        data = self.store.read_series(twin_id, name, start_us, end_us)
        if raw and self.calibration is not None:
            data = self.calibration.raw_values(data, twin_id, name, start_us, end_us)
        if min_quality is not None:
            data = _at_least(data, min_quality)
        if data.kind != kind and len(data) == 0:
            data = SeriesData(kind, data.ts, [] if kind == "json" else np.asarray(data.values), data.quality)
        if bucket is None:
            if aggs:
                raise InvalidInput([Problem("/agg", "aggregations need a bucket")])
            columns: dict[str, Any] = {"ts": data.ts, "value": data.values, "quality": data.quality}
            if fill is not None:
                columns = _filled(data, fill, fill_interval, max_gap)
            bucket_us = None
        else:
            bucket_us = _at(parse_duration, bucket, "/bucket")
            if len(data) and (int(data.ts[-1]) - int(data.ts[0])) // bucket_us > MAX_BUCKETS:
                raise InvalidInput(
                    [
                        Problem(
                            "/bucket",
                            f"bucket too small: the data would need more than {MAX_BUCKETS} buckets",
                        )
                    ]
                )
            columns = aggregate(data, bucket_us, list(aggs or ["avg"]), origin_us=0)
        if limit is not None:
            columns = {k: v[:limit] for k, v in columns.items()}
        return TelemetryHistory(twin_id, name, data.kind, start_us, end_us, bucket_us, columns)

    def quality(
        self, twin_id: str, name: str, start: TimeLike | None = None, end: TimeLike | None = None
    ) -> dict[str, Any]:
        """The stored (aggregate) flag of each reading, and the flag of each QARTOD test that ran."""
        self.read_kind_of(twin_id, name)
        start_us, end_us = _at(parse_timestamp, start, "/from"), _at(parse_timestamp, end, "/to")
        data = self.store.read_series(twin_id, name, start_us, end_us)
        tests: dict[str, list[int | None]] = {}
        prefix = qc_series_name(name, "")
        for series in self.store.series_names(twin_id):
            if series.startswith(prefix):
                flags = self.store.read_series(twin_id, series, start_us, end_us)
                by_ts = dict(zip(flags.ts.tolist(), np.asarray(flags.values).tolist(), strict=True))
                tests[series[len(prefix) :]] = [by_ts.get(t) for t in data.ts.tolist()]
        return {
            "twinId": twin_id,
            "name": name,
            "ts": [format_timestamp(t) for t in data.ts.tolist()],
            "quality": data.quality.tolist(),
            "tests": tests,
        }

    def latest(self, twin_id: str) -> dict[str, LatestReading]:
        """The newest reading of each telemetry of a twin (a late, older reading never replaces it)."""
        return {name: r for name, r in self.store.latest(twin_id).items() if QC_SEPARATOR not in name}


__all__ = ["AGGREGATIONS", "TelemetryHistory", "TelemetryService"]
