"""Telemetry in SQLite as per-series chunks (see ``futago.store.chunks`` for the codec).

Why chunks: one B-tree insert per reading caps ingest near the raw ``executemany`` rate, and a
history query would then touch a row per reading. Here an append call writes one chunk per
series, a query reads the few chunks overlapping its range, and numpy does the rest.

Invariants: chunks of a series never overlap in time and each holds sorted, unique
timestamps, at most ``CHUNK_MAX`` of them. An in-memory cache of each series' newest
timestamp lets a pure append (everything newer than what is stored, the usual case) go
without a read; anything older reads the overlapping chunks, merges (new wins) and rewrites
them. Small chunks are compacted every ``COMPACT_EVERY`` chunks so their count stays bounded.

One ``SQLiteTelemetry`` per database file per process: the cache assumes it is the only
writer of the telemetry tables (SQLite allows a single writer anyway).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from futago.core.ports import SeriesStats
from futago.core.telemetry import SeriesBatch, SeriesData, ValueKind
from futago.store import chunks
from futago.store.chunks import CHUNK_MAX
from futago.store.sql.db import Database
from futago.store.sql.series import SqlSeriesIndex
from futago.store.sqlite.db import SQLiteDatabase

# A chunk below this size is "small" and will be merged with its small neighbours.
SMALL_CHUNK = CHUNK_MAX // 2
# Compact a series once it has written this many small chunks since its last compaction.
COMPACT_EVERY = 16

_MIN_TS = -(2**63)
_MAX_TS = 2**63 - 1

# The chunks that can hold readings in [?, ?]: those starting in the range, plus the one
# that starts before it and may straddle its start (found by the index, not a scan).
_OVERLAPPING = """
SELECT t_start, kind, ts, val, q FROM tchunk
WHERE series_id = ?
  AND t_start >= COALESCE((SELECT MAX(t_start) FROM tchunk WHERE series_id = ? AND t_start <= ?), ?)
  AND t_start <= ? AND t_end >= ?
ORDER BY t_start
"""
_INSERT_CHUNK = "INSERT INTO tchunk (series_id, t_start, t_end, n, kind, ts, val, q) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_DELETE_CHUNK = "DELETE FROM tchunk WHERE series_id = ? AND t_start = ?"
_UPSERT_LATEST = """
INSERT INTO tlatest (series_id, ts, kind, value, quality) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (series_id) DO UPDATE
SET ts = excluded.ts, kind = excluded.kind, value = excluded.value, quality = excluded.quality
WHERE excluded.ts >= tlatest.ts
"""

_SERIES_STATS = """
SELECT s.twin_id, s.name, SUM(c.n), MIN(c.t_start), MAX(c.t_end)
FROM tseries s JOIN tchunk c ON c.series_id = s.id
GROUP BY s.id
HAVING SUM(c.n) > 0
ORDER BY s.twin_id, s.name
"""

_ChunkRow = tuple[int, int, int, int, str, bytes, bytes, bytes]


@dataclass(slots=True)
class _SeriesState:
    """What the writer remembers of a series between calls, so pure appends need no read."""

    id: int
    kind: ValueKind
    t_end: int | None  # newest stored timestamp, None when the series has no chunk
    small_since: int = 0  # small chunks written since the last compaction
    dirty_from: int | None = None  # earliest t_start written since the last compaction


def _chunk_row(series_id: int, data: SeriesData) -> _ChunkRow:
    enc = chunks.encode(data)
    return (series_id, enc.t_start, enc.t_end, enc.n, enc.kind, enc.ts, enc.values, enc.quality)


class SQLiteTelemetry(SqlSeriesIndex):
    """The TelemetryStore port over one SQLite database."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db: Database = db  # the same attribute as the other parts of the store
        self._states: dict[tuple[str, str], _SeriesState] = {}

    # -- writing ------------------------------------------------------------------------------

    def append_series(self, batches: Sequence[SeriesBatch]) -> int:
        """Store readings; idempotent on (twin, name, ts): the last write of a timestamp wins."""
        by_series: dict[tuple[str, str], SeriesData] = {}
        for batch in batches:
            if not len(batch):
                continue
            key = (batch.twin_id, batch.name)
            data = chunks.normalize(batch.kind, batch.ts, batch.values, batch.quality)
            if key in by_series:  # the same series twice in one call: later batch wins
                earlier = by_series[key]
                both = chunks.concat([earlier, chunks.coerce(data, earlier.kind)], earlier.kind)
                data = chunks.coerce(chunks.normalize(both.kind, both.ts, both.values, both.quality), batch.kind)
            by_series[key] = data
        if not by_series:
            return 0
        try:
            with self.db.write() as conn:
                self._append(conn, by_series)
        except BaseException:
            for key in by_series:  # the cache may describe the rolled-back transaction
                self._states.pop(key, None)
            raise
        return sum(len(d) for d in by_series.values())

    def _append(self, conn: sqlite3.Connection, by_series: dict[tuple[str, str], SeriesData]) -> None:
        inserts: list[_ChunkRow] = []
        deletes: list[tuple[int, int]] = []
        latest: list[tuple[int, int, str, bytes, int]] = []
        to_compact: list[_SeriesState] = []
        for key, data in by_series.items():
            state = self._state(conn, key, data.kind)
            sid = state.id
            first, last = int(data.ts[0]), int(data.ts[-1])
            if state.t_end is None or first > state.t_end:
                pieces = chunks.split(data)
            else:
                old_parts = []
                for t_start, kind, ts, val, q in conn.execute(
                    _OVERLAPPING, (sid, sid, first, _MIN_TS, last, first)
                ).fetchall():
                    deletes.append((sid, t_start))
                    old_parts.append(chunks.decode(kind, ts, val, q))
                old = chunks.concat(old_parts, data.kind)
                pieces = chunks.split(chunks.merge(old, data))
            for piece in pieces:
                inserts.append(_chunk_row(sid, piece))
                if len(piece) < SMALL_CHUNK:
                    state.small_since += 1
            state.dirty_from = first if state.dirty_from is None else min(state.dirty_from, first)
            state.t_end = last if state.t_end is None else max(state.t_end, last)
            # Staggered by series id: series written together (a gateway's batch) then compact in
            # different calls, so no single append pays for all of them at once.
            if state.small_since >= COMPACT_EVERY + state.id % COMPACT_EVERY:
                to_compact.append(state)
            # The value is held in the chunk codec (one element): exact for int64, NaN and inf.
            value = chunks.encode_values(data.kind, data.values[-1:])
            latest.append((sid, last, data.kind, value, int(data.quality[-1])))
        if deletes:
            conn.executemany(_DELETE_CHUNK, deletes)
        conn.executemany(_INSERT_CHUNK, inserts)
        conn.executemany(_UPSERT_LATEST, latest)
        for state in to_compact:
            self._compact(conn, state)

    def _state(self, conn: sqlite3.Connection, key: tuple[str, str], kind: ValueKind) -> _SeriesState:
        state = self._states.get(key)
        if state is None:
            row = conn.execute("SELECT id, kind FROM tseries WHERE twin_id = ? AND name = ?", key).fetchone()
            if row is None:
                cur = conn.execute("INSERT INTO tseries (twin_id, name, kind) VALUES (?, ?, ?)", (*key, kind))
                assert cur.lastrowid is not None
                state = _SeriesState(cur.lastrowid, kind, None)
            else:
                sid, stored_kind = row
                last = conn.execute(
                    "SELECT t_end FROM tchunk WHERE series_id = ? ORDER BY t_start DESC LIMIT 1", (sid,)
                ).fetchone()
                small = conn.execute(
                    "SELECT COUNT(*), MIN(t_start) FROM tchunk WHERE series_id = ? AND n < ?",
                    (sid, SMALL_CHUNK),
                ).fetchone()
                state = _SeriesState(sid, stored_kind, None if last is None else last[0], small[0], small[1])
            self._states[key] = state
        if state.kind != kind:  # the model changed the schema: read history back as the new kind
            conn.execute("UPDATE tseries SET kind = ? WHERE id = ?", (kind, state.id))
            state.kind = kind
        return state

    def _compact(self, conn: sqlite3.Connection, state: _SeriesState) -> None:
        """Merge runs of adjacent small chunks written since the last compaction.

        Only the region from the chunk before ``dirty_from`` onwards is scanned, so the cost
        does not grow with the length of the series. Merging never changes what a read sees.
        """
        sid, since = state.id, state.dirty_from if state.dirty_from is not None else _MIN_TS
        meta = conn.execute(
            "SELECT t_start, n FROM tchunk WHERE series_id = ? AND t_start >= COALESCE("
            "(SELECT MAX(t_start) FROM tchunk WHERE series_id = ? AND t_start < ?), ?) ORDER BY t_start",
            (sid, sid, since, since),
        ).fetchall()
        runs: list[list[int]] = []
        run: list[int] = []
        for t_start, n in meta:
            if n < SMALL_CHUNK:
                run.append(t_start)
                continue
            if len(run) > 1:
                runs.append(run)
            run = []
        if len(run) > 1:
            runs.append(run)
        for run in runs:
            rows = conn.execute(
                "SELECT kind, ts, val, q FROM tchunk WHERE series_id = ? AND t_start >= ? AND t_start <= ? "
                "ORDER BY t_start",
                (sid, run[0], run[-1]),
            ).fetchall()
            merged = chunks.concat([chunks.decode(*row) for row in rows], state.kind)
            conn.execute(
                "DELETE FROM tchunk WHERE series_id = ? AND t_start >= ? AND t_start <= ?",
                (sid, run[0], run[-1]),
            )
            conn.executemany(_INSERT_CHUNK, [_chunk_row(sid, piece) for piece in chunks.split(merged)])
        state.small_since = 0
        state.dirty_from = None

    def compact(self) -> int:
        """Compact every series now (normally this happens on its own); returns chunks removed."""
        with self.db.write() as conn:
            before = conn.execute("SELECT COUNT(*) FROM tchunk").fetchone()[0]
            for twin_id, name, kind in conn.execute("SELECT twin_id, name, kind FROM tseries").fetchall():
                state = self._state(conn, (twin_id, name), kind)
                state.dirty_from = _MIN_TS + 1
                self._compact(conn, state)
            after = conn.execute("SELECT COUNT(*) FROM tchunk").fetchone()[0]
        return int(before - after)

    def delete_series(self, twin_id: str, name: str | None = None) -> None:
        with self.db.write() as conn:
            if name is None:
                ids = conn.execute("SELECT id, name FROM tseries WHERE twin_id = ?", (twin_id,)).fetchall()
            else:
                ids = conn.execute(
                    "SELECT id, name FROM tseries WHERE twin_id = ? AND name = ?", (twin_id, name)
                ).fetchall()
            for sid, series_name in ids:
                conn.execute("DELETE FROM tchunk WHERE series_id = ?", (sid,))
                conn.execute("DELETE FROM tlatest WHERE series_id = ?", (sid,))
                conn.execute("DELETE FROM tseries WHERE id = ?", (sid,))
                self._states.pop((twin_id, series_name), None)

    def apply_retention(self, cutoff_us: int) -> int:
        """Delete readings older than cutoff_us: whole chunks, then trim the straddling ones."""
        try:
            with self.db.write() as conn:
                removed = int(
                    conn.execute("SELECT COALESCE(SUM(n), 0) FROM tchunk WHERE t_end < ?", (cutoff_us,)).fetchone()[0]
                )
                conn.execute("DELETE FROM tchunk WHERE t_end < ?", (cutoff_us,))
                straddling = conn.execute(
                    "SELECT series_id, t_start, kind, ts, val, q FROM tchunk WHERE t_start < ? AND t_end >= ?",
                    (cutoff_us, cutoff_us),
                ).fetchall()
                for sid, t_start, kind, ts, val, q in straddling:
                    data = chunks.decode(kind, ts, val, q)
                    kept = chunks.slice_range(data, cutoff_us, None)
                    removed += len(data) - len(kept)
                    conn.execute(_DELETE_CHUNK, (sid, t_start))
                    conn.execute(_INSERT_CHUNK, _chunk_row(sid, kept))
                conn.execute("DELETE FROM tlatest WHERE ts < ?", (cutoff_us,))
                conn.execute(
                    "DELETE FROM tseries WHERE NOT EXISTS (SELECT 1 FROM tchunk WHERE tchunk.series_id = tseries.id)"
                )
        finally:
            self._states.clear()
        return removed

    # -- reading ------------------------------------------------------------------------------

    def read_series(self, twin_id: str, name: str, start_us: int | None, end_us: int | None) -> SeriesData:
        """Readings with start_us <= ts < end_us, sorted by time."""
        conn = self.db.read()
        row = conn.execute("SELECT id, kind FROM tseries WHERE twin_id = ? AND name = ?", (twin_id, name)).fetchone()
        if row is None:
            return chunks.empty("f8")
        sid, kind = row
        lo = _MIN_TS if start_us is None else start_us
        hi = _MAX_TS if end_us is None else end_us
        if hi <= lo:
            return chunks.empty(kind)
        rows = conn.execute(_OVERLAPPING, (sid, sid, lo, lo, hi - 1, lo)).fetchall()
        data = chunks.concat([chunks.decode(k, ts, val, q) for _, k, ts, val, q in rows], kind)
        return chunks.slice_range(data, start_us, end_us)

    def series_stats(self) -> list[SeriesStats]:
        """The catalog's summary of every stored series (``DatasetStore.series_stats``)."""
        rows = self.db.read().execute(_SERIES_STATS).fetchall()
        return [SeriesStats(twin, name, int(n), int(first), int(last)) for twin, name, n, first, last in rows]

    def chunk_count(self, twin_id: str | None = None) -> int:
        """How many chunks are stored (of one twin, or in all): for tests and benchmarks."""
        conn = self.db.read()
        if twin_id is None:
            return int(conn.execute("SELECT COUNT(*) FROM tchunk").fetchone()[0])
        return int(
            conn.execute(
                "SELECT COUNT(*) FROM tchunk c JOIN tseries s ON s.id = c.series_id WHERE s.twin_id = ?",
                (twin_id,),
            ).fetchone()[0]
        )
