"""The chunk codec shared by every telemetry adapter (SQLite now, PostgreSQL later).

A series is stored as a few large blocks ("chunks") instead of one row per reading: one
B-tree insert then carries hundreds of readings, which is what lets ingest keep up with the
raw speed of the database. A chunk is three byte strings — timestamps, values, quality
flags — plus its time range and size, so any engine that stores blobs can hold it, and
numpy decodes it without a Python loop.

Encoding (little-endian, fixed so that a file moves between machines):
- ts: int64 microseconds, sorted ascending, unique;
- values: ``<f8`` / ``<i8`` / one byte per boolean, or an orjson list for ``json`` series;
- quality: one uint8 per reading.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from futago.core.telemetry import SeriesData, ValueKind

# Most readings a chunk holds; appends and merges are split at this size so that a read
# decodes little more than it needs and a late reading rewrites a bounded block.
CHUNK_MAX = 4096

_DTYPES: dict[str, np.dtype[Any]] = {
    "f8": np.dtype("<f8"),
    "i8": np.dtype("<i8"),
    "b1": np.dtype("u1"),
}
_TS = np.dtype("<i8")
_Q = np.dtype("u1")


@dataclass(slots=True)
class EncodedChunk:
    """One chunk as stored: bytes plus the metadata that indexes it."""

    t_start: int
    t_end: int
    n: int
    kind: ValueKind
    ts: bytes
    values: bytes
    quality: bytes


def encode_values(kind: ValueKind, values: npt.NDArray[Any] | list[Any]) -> bytes:
    if kind == "json":
        return orjson.dumps(list(values), option=orjson.OPT_SERIALIZE_NUMPY)
    return np.ascontiguousarray(values, dtype=_DTYPES[kind]).tobytes()


def decode_values(kind: ValueKind, blob: bytes) -> npt.NDArray[Any] | list[Any]:
    if kind == "json":
        decoded: list[Any] = orjson.loads(blob)
        return decoded
    arr = np.frombuffer(blob, dtype=_DTYPES[kind])
    return arr.view(np.bool_) if kind == "b1" else arr


def encode(data: SeriesData) -> EncodedChunk:
    """Encode sorted, unique readings as one chunk (the caller keeps it ≤ CHUNK_MAX)."""
    ts = np.ascontiguousarray(data.ts, dtype=_TS)
    return EncodedChunk(
        t_start=int(ts[0]),
        t_end=int(ts[-1]),
        n=len(ts),
        kind=data.kind,
        ts=ts.tobytes(),
        values=encode_values(data.kind, data.values),
        quality=np.ascontiguousarray(data.quality, dtype=_Q).tobytes(),
    )


def decode(kind: ValueKind, ts: bytes, values: bytes, quality: bytes) -> SeriesData:
    """Decode a chunk; the arrays are read-only views of the bytes (concatenate to own them)."""
    return SeriesData(
        kind=kind,
        ts=np.frombuffer(ts, dtype=_TS),
        values=decode_values(kind, values),
        quality=np.frombuffer(quality, dtype=_Q),
    )


def coerce(data: SeriesData, kind: ValueKind) -> SeriesData:
    """The same readings as ``kind``: lets a model change a telemetry's schema without
    rewriting history. Numbers convert between numeric kinds; anything else goes via JSON."""
    if data.kind == kind:
        return data
    if kind == "json":
        values: npt.NDArray[Any] | list[Any] = np.asarray(data.values).tolist()
    elif data.kind == "json":
        values = np.array(data.values, dtype=_DTYPES[kind] if kind != "b1" else np.bool_)
    else:
        values = np.asarray(data.values).astype(np.bool_ if kind == "b1" else _DTYPES[kind])
    return SeriesData(kind, data.ts, values, data.quality)


def empty(kind: ValueKind) -> SeriesData:
    values: npt.NDArray[Any] | list[Any] = [] if kind == "json" else np.zeros(0, dtype=_value_dtype(kind))
    return SeriesData(kind, np.zeros(0, dtype=np.int64), values, np.zeros(0, dtype=np.uint8))


def _value_dtype(kind: ValueKind) -> np.dtype[Any]:
    return np.dtype(np.bool_) if kind == "b1" else _DTYPES[kind]


def concat(parts: list[SeriesData], kind: ValueKind) -> SeriesData:
    """Join time-ordered, non-overlapping parts into one series of ``kind`` (a fresh copy)."""
    parts = [coerce(p, kind) for p in parts if len(p)]
    if not parts:
        return empty(kind)
    if kind == "json":
        values: npt.NDArray[Any] | list[Any] = [v for p in parts for v in p.values]
    else:
        values = np.concatenate([np.asarray(p.values) for p in parts])
    return SeriesData(
        kind,
        np.concatenate([p.ts for p in parts]),
        values,
        np.concatenate([p.quality for p in parts]),
    )


def _take(values: npt.NDArray[Any] | list[Any], index: npt.NDArray[np.intp]) -> npt.NDArray[Any] | list[Any]:
    if isinstance(values, list):
        return [values[i] for i in index.tolist()]
    return values[index]


def normalize(kind: ValueKind, ts: npt.NDArray[np.int64], values: Any, quality: Any) -> SeriesData:
    """Sort readings by time and keep the last one given for each timestamp.

    ``ts`` is in arrival order, so a stable sort followed by "keep the last of each run of
    equal timestamps" is exactly last-write-wins. Already-sorted unique input (the common
    case) is returned without copying.
    """
    ts = np.asarray(ts, dtype=np.int64)
    quality = np.asarray(quality, dtype=np.uint8)
    if kind != "json":
        values = np.asarray(values)
    if len(ts) < 2 or bool(np.all(ts[1:] > ts[:-1])):
        return SeriesData(kind, ts, values, quality)
    order = np.argsort(ts, kind="stable")
    ts_sorted = ts[order]
    keep_sorted = np.ones(len(ts_sorted), dtype=np.bool_)
    keep_sorted[:-1] = ts_sorted[1:] != ts_sorted[:-1]
    index = order[keep_sorted]
    return SeriesData(kind, ts[index], _take(values, index), quality[index])


def merge(old: SeriesData, new: SeriesData) -> SeriesData:
    """Old readings overlaid by new ones: the union of timestamps, new values win on a tie."""
    kind = new.kind
    if not len(old):
        return normalize(kind, new.ts, new.values, new.quality)
    both = concat([old, coerce(new, kind)], kind)
    return normalize(kind, both.ts, both.values, both.quality)


def split(data: SeriesData, size: int = CHUNK_MAX) -> list[SeriesData]:
    """Cut sorted readings into pieces of at most ``size`` (sizes balanced, none tiny)."""
    n = len(data)
    if n <= size:
        return [data] if n else []
    pieces = -(-n // size)
    edges = np.linspace(0, n, pieces + 1).astype(np.intp).tolist()
    return [
        SeriesData(data.kind, data.ts[a:b], data.values[a:b], data.quality[a:b]) for a, b in itertools.pairwise(edges)
    ]


def slice_range(data: SeriesData, start_us: int | None, end_us: int | None) -> SeriesData:
    """Readings with start_us <= ts < end_us of sorted data (None leaves that side open)."""
    lo = 0 if start_us is None else int(np.searchsorted(data.ts, start_us, side="left"))
    hi = len(data) if end_us is None else int(np.searchsorted(data.ts, end_us, side="left"))
    if lo == 0 and hi == len(data):
        return data
    return SeriesData(data.kind, data.ts[lo:hi], data.values[lo:hi], data.quality[lo:hi])
