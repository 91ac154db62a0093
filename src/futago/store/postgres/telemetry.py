"""Telemetry in PostgreSQL: one row a reading, in a table partitioned by time, appended with COPY.

Where SQLite packs readings into chunks to keep its single writer fast, PostgreSQL takes rows from many writers at
once: each append COPYs its readings into a temporary table and moves them over with ``INSERT ... ON CONFLICT``,
which makes an append idempotent on (series, ts), the last write winning. That is what lets ingestion workers
redeliver a batch after a crash without duplicating anything.

Partitions hold ``PARTITION_US`` of time each and are made when the first reading of their window arrives, under
an advisory lock so that concurrent writers make each one once. Retention drops whole partitions and deletes only
inside the one that straddles the cutoff. A value lives in the column of its kind (``num`` f8, ``int`` i8, ``flag``
b1, ``js`` JSON text); the series' kind decides how a read returns it, as the SQLite chunks do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from futago.core.telemetry import LatestReading, SeriesBatch, SeriesData, ValueKind
from futago.store import chunks
from futago.store.port import SeriesStats
from futago.store.postgres.db import PostgresConnection, PostgresDatabase
from futago.store.sql.db import Database

PARTITION_US = 7 * 86_400 * 1_000_000  # a week a partition
_MIN_TS = -(2**63)
_MAX_TS = 2**63 - 1
_COLUMN: dict[str, str] = {"f8": "num", "i8": "int", "b1": "flag", "json": "js"}
_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS readings_stage (
    series_id BIGINT, ts BIGINT, num DOUBLE PRECISION, int BIGINT, flag BOOLEAN, js TEXT, q SMALLINT
) ON COMMIT DELETE ROWS
"""
_MOVE = """
INSERT INTO readings (series_id, ts, num, int, flag, js, q)
SELECT series_id, ts, num, int, flag, js, q FROM readings_stage
ON CONFLICT (series_id, ts) DO UPDATE
SET num = excluded.num, int = excluded.int, flag = excluded.flag, js = excluded.js, q = excluded.q
"""
_UPSERT_LATEST = """
INSERT INTO tlatest (series_id, ts, kind, value, quality) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (series_id) DO UPDATE
SET ts = excluded.ts, kind = excluded.kind, value = excluded.value, quality = excluded.quality
WHERE excluded.ts >= tlatest.ts
"""


def _window(ts: int) -> int:
    return ts // PARTITION_US


def _bound(k: int, upper: bool) -> str:
    edge = (k + int(upper)) * PARTITION_US
    if edge > _MAX_TS:
        return "MAXVALUE"
    return "MINVALUE" if edge < _MIN_TS else str(edge)


def _partition_name(k: int) -> str:
    return f"readings_w{k}" if k >= 0 else f"readings_wm{-k}"


def _column_values(kind: ValueKind, values: Any) -> list[Any]:
    if kind == "json":
        return [orjson.dumps(v).decode() for v in values]
    return np.asarray(values).tolist()


class PostgresTelemetry:
    """The TelemetryStore port over PostgreSQL."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db: Database = db  # the same attribute as the other parts of the store
        self._partitions: set[int] = set()
        self._series: dict[tuple[str, str], tuple[int, ValueKind]] = {}

    # -- writing ------------------------------------------------------------------------------

    def append_series(self, batches: Sequence[SeriesBatch]) -> int:
        """Store readings; idempotent on (twin, name, ts): the last write of a timestamp wins."""
        by_series: dict[tuple[str, str], SeriesData] = {}
        for batch in batches:
            if not len(batch):
                continue
            key = (batch.twin_id, batch.name)
            data = chunks.normalize(batch.kind, batch.ts, batch.values, batch.quality)
            if key in by_series:  # the same series twice in one call: the later batch wins
                data = chunks.coerce(chunks.merge(chunks.coerce(by_series[key], data.kind), data), batch.kind)
            by_series[key] = data
        if not by_series:
            return 0
        self._ensure_partitions({k for d in by_series.values() for k in np.unique(d.ts // PARTITION_US).tolist()})
        try:
            with self.db.write() as conn:
                self._append(conn, by_series)
        except BaseException:
            self._series.clear()  # may describe the rolled-back transaction
            raise
        return sum(len(d) for d in by_series.values())

    def _append(self, conn: PostgresConnection, by_series: dict[tuple[str, str], SeriesData]) -> None:
        conn.execute(_STAGE)
        latest = []
        ids = {key: self._series_id(conn, key, data.kind) for key, data in sorted(by_series.items())}
        with conn.raw.cursor().copy("COPY readings_stage (series_id, ts, num, int, flag, js, q) FROM STDIN") as copy:
            for key, data in by_series.items():
                sid = ids[key]
                slot = ("num", "int", "flag", "js").index(_COLUMN[data.kind])
                values = _column_values(data.kind, data.values)
                for ts, value, q in zip(data.ts.tolist(), values, data.quality.tolist(), strict=True):
                    row: list[Any] = [sid, ts, None, None, None, None, q]
                    row[2 + slot] = value
                    copy.write_row(row)
                value_blob = chunks.encode_values(data.kind, data.values[-1:])
                latest.append((sid, int(data.ts[-1]), data.kind, value_blob, int(data.quality[-1])))
        conn.execute(_MOVE)
        conn.executemany(_UPSERT_LATEST, sorted(latest))  # in id order: concurrent writers lock rows alike

    def _series_id(self, conn: PostgresConnection, key: tuple[str, str], kind: ValueKind) -> int:
        known = self._series.get(key)
        if known is not None and known[1] == kind:
            return known[0]
        row = conn.execute(
            "INSERT INTO tseries (twin_id, name, kind) VALUES (?, ?, ?) "
            "ON CONFLICT (twin_id, name) DO UPDATE SET kind = tseries.kind RETURNING id, kind",
            (*key, kind),
        ).fetchone()
        sid, stored = int(row[0]), row[1]
        if stored != kind:  # the model changed the schema: history is rewritten as the new kind
            self._convert(conn, sid, stored, kind)
        self._series[key] = (sid, kind)
        return sid

    def _convert(self, conn: PostgresConnection, sid: int, old: ValueKind, new: ValueKind) -> None:
        data = chunks.coerce(self._read(conn, sid, old, None, None), new)
        column = _COLUMN[new]
        conn.execute("UPDATE readings SET num = NULL, int = NULL, flag = NULL, js = NULL WHERE series_id = ?", (sid,))
        conn.executemany(
            f"UPDATE readings SET {column} = ? WHERE series_id = ? AND ts = ?",
            [(v, sid, t) for v, t in zip(_column_values(new, data.values), data.ts.tolist(), strict=True)],
        )
        conn.execute("UPDATE tseries SET kind = ? WHERE id = ?", (new, sid))

    def _ensure_partitions(self, windows: set[int]) -> None:
        missing = windows - self._partitions
        if not missing:
            return
        with self.db.write() as conn:
            self.db.serialize(conn, "futago.readings.partitions")
            for k in sorted(missing):
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {_partition_name(k)} PARTITION OF readings "
                    f"FOR VALUES FROM ({_bound(k, False)}) TO ({_bound(k, True)})"
                )
        self._partitions |= missing

    def delete_series(self, twin_id: str, name: str | None = None) -> None:
        with self.db.write() as conn:
            sql, params = "SELECT id, name FROM tseries WHERE twin_id = ?", [twin_id]
            if name is not None:
                sql, params = sql + " AND name = ?", [twin_id, name]
            for sid, series_name in conn.execute(sql, params).fetchall():
                conn.execute("DELETE FROM readings WHERE series_id = ?", (sid,))
                conn.execute("DELETE FROM tlatest WHERE series_id = ?", (sid,))
                conn.execute("DELETE FROM tseries WHERE id = ?", (sid,))
                self._series.pop((twin_id, series_name), None)

    def apply_retention(self, cutoff_us: int) -> int:
        """Delete readings older than cutoff_us: drop whole partitions, delete inside the straddling one."""
        removed = 0
        with self.db.write() as conn:
            self.db.serialize(conn, "futago.readings.partitions")
            for (name,) in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'readings'::regclass"
            ).fetchall():
                k = int(name.removeprefix("readings_w").replace("m", "-"))
                if (k + 1) * PARTITION_US <= cutoff_us:
                    removed += int(conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0])
                    conn.execute(f"DROP TABLE {name}")
                    self._partitions.discard(k)
            removed += conn.execute("DELETE FROM readings WHERE ts < ?", (cutoff_us,)).rowcount
            conn.execute("DELETE FROM tlatest WHERE ts < ?", (cutoff_us,))
            conn.execute(
                "DELETE FROM tseries WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE r.series_id = tseries.id)"
            )
        self._series.clear()
        return removed

    # -- reading ------------------------------------------------------------------------------

    def read_series(self, twin_id: str, name: str, start_us: int | None, end_us: int | None) -> SeriesData:
        """Readings with start_us <= ts < end_us, sorted by time."""
        conn = self.db.read()
        row = conn.execute("SELECT id, kind FROM tseries WHERE twin_id = ? AND name = ?", (twin_id, name)).fetchone()
        if row is None:
            return chunks.empty("f8")
        if end_us is not None and start_us is not None and end_us <= start_us:
            return chunks.empty(row[1])
        return self._read(conn, int(row[0]), row[1], start_us, end_us)

    def _read(
        self, conn: PostgresConnection, sid: int, kind: ValueKind, start_us: int | None, end_us: int | None
    ) -> SeriesData:
        sql = f"SELECT ts, {_COLUMN[kind]}, q FROM readings WHERE series_id = ? AND ts >= ?"
        params: list[Any] = [sid, _MIN_TS if start_us is None else start_us]
        if end_us is not None:
            sql, params = sql + " AND ts < ?", [*params, end_us]
        rows = conn.execute(sql + " ORDER BY ts", params).fetchall()
        ts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        quality = np.fromiter((r[2] for r in rows), dtype=np.uint8, count=len(rows))
        if kind == "json":
            values: Any = [orjson.loads(r[1]) for r in rows]
        else:
            dtype = np.bool_ if kind == "b1" else np.dtype(f"<{kind}")
            values = np.array([r[1] for r in rows], dtype=dtype)
        return SeriesData(kind, ts, values, quality)

    def latest(self, twin_id: str) -> dict[str, LatestReading]:
        rows = (
            self.db.read()
            .execute(
                "SELECT s.name, l.ts, l.kind, l.value, l.quality "
                "FROM tlatest l JOIN tseries s ON s.id = l.series_id WHERE s.twin_id = ? ORDER BY s.name",
                (twin_id,),
            )
            .fetchall()
        )
        latest = {}
        for name, ts, kind, value, quality in rows:
            decoded = chunks.decode_values(kind, bytes(value))[0]
            latest[name] = LatestReading(ts, decoded.item() if isinstance(decoded, np.generic) else decoded, quality)
        return latest

    def series_names(self, twin_id: str) -> list[str]:
        rows = self.db.read().execute("SELECT name FROM tseries WHERE twin_id = ? ORDER BY name", (twin_id,))
        return [name for (name,) in rows.fetchall()]

    def series_stats(self) -> list[SeriesStats]:
        """The catalog's summary of every stored series (``DatasetStore.series_stats``)."""
        rows = self.db.read().execute(
            "SELECT s.twin_id, s.name, COUNT(*), MIN(r.ts), MAX(r.ts) "
            "FROM tseries s JOIN readings r ON r.series_id = s.id GROUP BY s.id ORDER BY s.twin_id, s.name"
        )
        return [SeriesStats(twin, name, int(n), int(first), int(last)) for twin, name, n, first, last in rows]
