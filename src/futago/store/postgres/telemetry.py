"""Telemetry in PostgreSQL: one row a reading, in a table partitioned by time, appended with COPY.

Where SQLite packs readings into chunks to keep its single writer fast, PostgreSQL takes rows from many writers at
once. An append COPYs its readings straight into ``readings`` (binary COPY, laid out by numpy: no Python step per
reading) inside a savepoint; when a reading's (series, ts) is already stored (a redelivery after a crash, a late
correction) the savepoint is rolled back and the readings go through a temporary table and ``INSERT ... ON
CONFLICT`` instead, so an append is idempotent on (series, ts), the last write winning. This process remembers
each series' newest timestamp it wrote, to take the second way at once when it knows the first would fail.

Several processes write and delete series at once, so nothing about a series is cached between calls: each append
looks its series up in one statement and holds a KEY SHARE lock on them until it commits, so that a concurrent
``delete_series`` (which locks them FOR UPDATE first) either sees the appended readings or comes before and lets
the append make the series again.

Partitions hold ``PARTITION_US`` of time each and are made when the first reading of their window arrives, under
an advisory lock so that concurrent writers make each one once; a partition another process's retention dropped
is made again. Retention drops whole partitions and deletes only inside the one that straddles the cutoff. A value
lives in the column of its kind (``num`` f8, ``int`` i8, ``flag`` b1, ``js`` JSON text); the series' kind decides
how a read returns it, as the SQLite chunks do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import psycopg

from futago.core.ports import SeriesStats
from futago.core.telemetry import SeriesBatch, SeriesData, ValueKind
from futago.store import chunks
from futago.store.postgres.db import PostgresConnection, PostgresDatabase
from futago.store.sql.db import Database
from futago.store.sql.series import SqlSeriesIndex

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
# One statement for every series of an append (arrays, not a row each), in series order so that concurrent
# writers lock rows alike.
_UPSERT_LATEST = """
INSERT INTO tlatest (series_id, ts, kind, value, quality)
SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::bytea[], ?::smallint[])
ON CONFLICT (series_id) DO UPDATE
SET ts = excluded.ts, kind = excluded.kind, value = excluded.value, quality = excluded.quality
WHERE excluded.ts >= tlatest.ts
"""
_FIND_SERIES = """
SELECT s.id, s.twin_id, s.name, s.kind FROM tseries s
JOIN unnest(?::text[], ?::text[]) AS w (twin_id, name) ON s.twin_id = w.twin_id AND s.name = w.name
FOR KEY SHARE OF s
"""
_MAKE_SERIES = """
INSERT INTO tseries (twin_id, name, kind) SELECT * FROM unnest(?::text[], ?::text[], ?::text[])
ON CONFLICT (twin_id, name) DO NOTHING RETURNING id, twin_id, name, kind
"""

# Binary COPY (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4): a signature, flags and an
# empty header extension; per row a field count, then each field's length and its big-endian bytes; -1 to end.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_TRAILER = b"\xff\xff"
_BINARY_VALUE = {"f8": ">f8", "i8": ">i8", "b1": "u1"}
_VALUE_DTYPE: dict[str, type[np.generic]] = {"f8": np.float64, "i8": np.int64, "b1": np.bool_}
_BINARY_ROWS = {
    kind: np.dtype(
        [
            ("fields", ">i2"),
            ("sid_len", ">i4"),
            ("sid", ">i8"),
            ("ts_len", ">i4"),
            ("ts", ">i8"),
            ("value_len", ">i4"),
            ("value", code),
            ("q_len", ">i4"),
            ("q", ">i2"),
        ]
    )
    for kind, code in _BINARY_VALUE.items()
}


# The send function that packs a value of each numeric kind as its binary (big-endian) bytes.
_SEND = {"f8": "float8send", "i8": "int8send", "b1": "boolsend"}


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
    return np.asarray(values, dtype=_VALUE_DTYPE[kind]).tolist()


def _binary_copy(
    kind: ValueKind, sids: npt.NDArray[np.int64], ts: npt.NDArray[np.int64], values: Any, quality: npt.NDArray[Any]
) -> bytes:
    """Readings of one numeric kind as a binary COPY of (series_id, ts, <value column>, q)."""
    rows = np.empty(len(ts), dtype=_BINARY_ROWS[kind])
    rows["fields"] = 4
    rows["sid_len"], rows["ts_len"], rows["q_len"] = 8, 8, 2
    rows["value_len"] = rows.dtype["value"].itemsize
    rows["sid"], rows["ts"], rows["q"] = sids, ts, quality
    # As SQLite's chunks store them: a number given for an integer or boolean telemetry is cast, not refused.
    rows["value"] = np.asarray(values).astype(_VALUE_DTYPE[kind], copy=False)
    return _COPY_SIGNATURE + rows.tobytes() + _COPY_TRAILER


def _missing_partition(exc: psycopg.Error) -> bool:
    return isinstance(exc, psycopg.errors.CheckViolation) and "no partition" in str(exc)


class PostgresTelemetry(SqlSeriesIndex):
    """The TelemetryStore port over PostgreSQL."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db: Database = db  # the same attribute as the other parts of the store
        self._pg = db
        self._partitions: set[int] = set()
        self._newest: dict[int, int] = {}  # series id -> the newest timestamp this process stored: a hint only

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
        windows = {k for d in by_series.values() for k in np.unique(d.ts // PARTITION_US).tolist()}
        self._ensure_partitions(windows)
        try:
            with self.db.write() as conn:
                self._append(conn, by_series)
        except psycopg.Error as exc:
            # Another process's retention dropped a partition this one remembered: make it again and retry, unless
            # the append was part of a caller's unit of work, which the error has already spoilt.
            if not _missing_partition(exc) or self._pg.connection().depth:
                raise
            self._partitions.clear()
            self._ensure_partitions(windows)
            with self.db.write() as conn:
                self._append(conn, by_series)
        return sum(len(d) for d in by_series.values())

    def _append(self, conn: PostgresConnection, by_series: dict[tuple[str, str], SeriesData]) -> None:
        ids = self._series_ids(conn, {key: data.kind for key, data in by_series.items()})
        # In series order: concurrent writers take their row locks in one order, so they cannot deadlock.
        ordered = sorted(((ids[key], data) for key, data in by_series.items()), key=lambda item: item[0])
        newest = self._newest
        direct = all(newest.get(sid, _MIN_TS) < int(data.ts[0]) for sid, data in ordered)
        if direct:
            try:
                with conn.raw.transaction():  # a savepoint: a clash with stored readings takes back only the COPY
                    self._copy(conn, "readings", ordered)
            except psycopg.errors.UniqueViolation:
                direct = False
        if not direct:
            conn.execute(_STAGE)
            self._copy(conn, "readings_stage", ordered)
            conn.execute(_MOVE)
        latest = (
            [sid for sid, _ in ordered],
            [int(data.ts[-1]) for _, data in ordered],
            [data.kind for _, data in ordered],
            [chunks.encode_values(data.kind, data.values[-1:]) for _, data in ordered],
            [int(data.quality[-1]) for _, data in ordered],
        )
        conn.execute(_UPSERT_LATEST, latest)
        for sid, data in ordered:
            newest[sid] = max(newest.get(sid, _MIN_TS), int(data.ts[-1]))

    def _copy(self, conn: PostgresConnection, table: str, ordered: list[tuple[int, SeriesData]]) -> None:
        """COPY the readings into ``table``: one binary COPY per numeric kind, JSON values as text rows."""
        cursor = conn.raw.cursor()
        for kind in ("f8", "i8", "b1"):
            parts = [(sid, data) for sid, data in ordered if data.kind == kind]
            if not parts:
                continue
            sids = np.repeat(np.array([sid for sid, _ in parts], dtype=np.int64), [len(d) for _, d in parts])
            buffer = _binary_copy(
                kind,
                sids,
                np.concatenate([d.ts for _, d in parts]),
                np.concatenate([np.asarray(d.values) for _, d in parts]),
                np.concatenate([d.quality for _, d in parts]),
            )
            with cursor.copy(f"COPY {table} (series_id, ts, {_COLUMN[kind]}, q) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(buffer)
        documents = [(sid, data) for sid, data in ordered if data.kind == "json"]
        if documents:
            with cursor.copy(f"COPY {table} (series_id, ts, js, q) FROM STDIN") as copy:
                for sid, data in documents:
                    for ts, value, q in zip(
                        data.ts.tolist(), _column_values("json", data.values), data.quality.tolist(), strict=True
                    ):
                        copy.write_row((sid, ts, value, q))

    def _series_ids(
        self, conn: PostgresConnection, kinds: dict[tuple[str, str], ValueKind]
    ) -> dict[tuple[str, str], int]:
        """The id of each series, made where missing, each row KEY SHARE locked until the append commits; a series
        stored as another kind is converted first (the model changed the telemetry's schema)."""
        found: dict[tuple[str, str], tuple[int, ValueKind]] = {}
        wanted = sorted(kinds)
        for _ in range(5):  # a series made or deleted by another writer meanwhile is looked up again
            rows = conn.execute(_FIND_SERIES, ([k[0] for k in wanted], [k[1] for k in wanted])).fetchall()
            found.update({(twin, name): (int(sid), kind) for sid, twin, name, kind in rows})
            wanted = [key for key in wanted if key not in found]
            if not wanted:
                break
            made = conn.execute(
                _MAKE_SERIES, ([k[0] for k in wanted], [k[1] for k in wanted], [kinds[k] for k in wanted])
            ).fetchall()
            found.update({(twin, name): (int(sid), kind) for sid, twin, name, kind in made})
            wanted = [key for key in wanted if key not in found]
            if not wanted:
                break
        else:
            raise RuntimeError(f"series {wanted[:3]} kept changing under this append: retry it")
        for key, (sid, stored) in found.items():
            if stored != kinds[key]:
                row = conn.execute("SELECT kind FROM tseries WHERE id = ? FOR UPDATE", (sid,)).fetchone()
                if row is not None and row[0] != kinds[key]:
                    self._convert(conn, sid, row[0], kinds[key])
        return {key: sid for key, (sid, _) in found.items()}

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
            # Locked before anything goes: an append holding one of them (KEY SHARE) commits first, and its
            # readings are then deleted too; a later append makes the series again.
            sql, params = "SELECT id FROM tseries WHERE twin_id = ?", [twin_id]
            if name is not None:
                sql, params = sql + " AND name = ?", [twin_id, name]
            for (sid,) in conn.execute(sql + " ORDER BY id FOR UPDATE", params).fetchall():
                conn.execute("DELETE FROM readings WHERE series_id = ?", (sid,))
                conn.execute("DELETE FROM tlatest WHERE series_id = ?", (sid,))
                conn.execute("DELETE FROM tseries WHERE id = ?", (sid,))
                self._newest.pop(sid, None)

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
            # Series left without readings go, except those an append holds (KEY SHARE) right now: waiting for it
            # could deadlock on the latest row just deleted, and deleting after it committed would orphan its
            # readings. The DELETE looks again, with a snapshot that sees what committed since.
            empty = conn.execute(
                "SELECT id FROM tseries t WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE r.series_id = t.id) "
                "ORDER BY id FOR UPDATE SKIP LOCKED"
            ).fetchall()
            if empty:
                conn.execute(
                    "DELETE FROM tseries t WHERE id = ANY(?) "
                    "AND NOT EXISTS (SELECT 1 FROM readings r WHERE r.series_id = t.id)",
                    ([sid for (sid,) in empty],),
                )
        self._newest.clear()
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
        where, params = "series_id = %s", [sid]
        if start_us is not None:
            where, params = where + " AND ts >= %s", [*params, start_us]
        if end_us is not None:
            where, params = where + " AND ts < %s", [*params, end_us]
        if kind != "json":
            data = self._read_packed(conn, kind, where, params)
            if data is not None:
                return data
        cursor = conn.raw.cursor()
        rows = cursor.execute(
            f"SELECT ts, {_COLUMN[kind]}, q FROM readings WHERE {where} ORDER BY ts", params
        ).fetchall()
        ts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        quality = np.fromiter((r[2] for r in rows), dtype=np.uint8, count=len(rows))
        if kind == "json":
            values: Any = [orjson.loads(r[1]) for r in rows]
        else:
            values = np.array([r[1] for r in rows], dtype=_VALUE_DTYPE[kind])
        return SeriesData(kind, ts, values, quality)

    def _read_packed(
        self, conn: PostgresConnection, kind: ValueKind, where: str, params: list[Any]
    ) -> SeriesData | None:
        """A numeric series as three byte strings the server packs (each column's values end to end, big-endian),
        which numpy reads as they are: a day at 1 Hz is 86,400 rows, and no Python step per row. None when a value
        is NULL (the packing skips it), for the row by row read."""
        column = _COLUMN[kind]
        sql = (
            f"SELECT count(*), string_agg(int8send(ts), ''), string_agg({_SEND[kind]}({column}), ''), "
            f"string_agg(int2send(q), '') FROM (SELECT ts, {column}, q FROM readings WHERE {where} ORDER BY ts) r"
        )
        row = conn.raw.cursor(binary=True).execute(sql.encode(), params).fetchone()
        if row is None or not row[0]:
            return chunks.empty(kind)
        count, ts_bytes, value_bytes, q_bytes = row
        value_type = np.dtype(_BINARY_VALUE[kind])
        if value_bytes is None or len(value_bytes) != count * value_type.itemsize:
            return None
        ts = np.frombuffer(ts_bytes, dtype=">i8").astype(np.int64)
        values = np.frombuffer(value_bytes, dtype=value_type).astype(_VALUE_DTYPE[kind])
        quality = np.frombuffer(q_bytes, dtype=">i2").astype(np.uint8)
        if not (ts[1:] > ts[:-1]).all():  # an aggregate keeps its input's order in practice, not by promise
            order = np.argsort(ts, kind="stable")
            ts, values, quality = ts[order], values[order], quality[order]
        return SeriesData(kind, ts, values, quality)

    def series_stats(self) -> list[SeriesStats]:
        """The catalog's summary of every stored series (``DatasetStore.series_stats``)."""
        rows = self.db.read().execute(
            "SELECT s.twin_id, s.name, COUNT(*), MIN(r.ts), MAX(r.ts) "
            "FROM tseries s JOIN readings r ON r.series_id = s.id GROUP BY s.id ORDER BY s.twin_id, s.name"
        )
        return [SeriesStats(twin, name, int(n), int(first), int(last)) for twin, name, n, first, last in rows]
