"""File replay: CSV, NDJSON or Parquet history fed through a connection as if it were live.

This is how a user replays a real dataset into a twin. Wide tables (CSV, Parquet) give one
message per row and column: the column name is the message source (so mappings such as
``{"source": "{column}", "twin": "rig-1", "telemetry": "{column}", "format": "number"}`` apply),
the cell is the payload, and the row's time column is the reading time. NDJSON gives one
message per line, mapped as JSON. ``speed`` paces the replay against the data's own clock:
1 is real time, 60 a minute per second, 0 as fast as the store takes it.

``path`` names a file inside the data root (relative names are relative to it): a replay reads with the
server's rights and turns unmapped lines into readable dead letters, so it must not reach beyond that folder.
"""

from __future__ import annotations

import csv
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from futago.core.errors import FutagoError, InvalidInput
from futago.core.paths import DataRoot
from futago.core.problems import Problem
from futago.core.telemetry import parse_timestamp
from futago.ingest.connections import ConnectionSpec
from futago.ingest.connector import Connector, Sink
from futago.ingest.mapping import RawMessage

log = logging.getLogger(__name__)
FORMATS = ("csv", "ndjson", "parquet")


def replay_connector(spec: ConnectionSpec, sink: Sink, files: DataRoot) -> Connector:
    options = dict(spec.options)
    problems: list[Problem] = []
    path: Path | None = None
    try:
        path = files.resolve(options.get("path"), "/options/path")
    except InvalidInput as exc:
        problems.extend(exc.problems)
    named = options.get("path")
    suffix = Path(named).suffix.lower().lstrip(".") if isinstance(named, str) else ""
    fmt = options.get("format", {"jsonl": "ndjson", "parq": "parquet"}.get(suffix, suffix))
    if fmt not in FORMATS:
        problems.append(Problem("/options/format", f"format must be one of {list(FORMATS)}"))
    speed = options.get("speed", 0)
    if not isinstance(speed, int | float) or isinstance(speed, bool) or speed < 0:
        problems.append(Problem("/options/speed", "speed is a number ≥ 0 (1 = real time, 0 = as fast as possible)"))
    batch = options.get("batch", 5000)
    if not isinstance(batch, int) or not 1 <= batch <= 1_000_000:
        problems.append(Problem("/options/batch", "batch is a whole number of messages from 1 to 1,000,000"))
    for key in ("time_column", "delimiter"):
        if key in options and not isinstance(options[key], str):
            problems.append(Problem(f"/options/{key}", f"'{key}' must be a string"))
    if problems:
        raise InvalidInput(problems)
    assert path is not None
    return FileReplay(
        path,
        fmt,
        sink,
        float(speed),
        batch,
        options.get("time_column", "ts"),
        options.get("delimiter", ","),
    )


class FileReplay:
    def __init__(
        self, path: Path, fmt: str, sink: Sink, speed: float, batch: int, time_column: str, delimiter: str
    ) -> None:
        self.path, self.fmt, self.sink = path, fmt, sink
        self.speed, self.batch = speed, batch
        self.time_column, self.delimiter = time_column, delimiter
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = "stopped"
        self.messages = 0
        self.last_error: str | None = None

    def start(self) -> None:
        self._stop.clear()
        self.state = "running"
        self._thread = threading.Thread(target=self._run, name=f"futago-replay-{self.path.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.state == "running":
            self.state = "stopped"

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "messages": self.messages, "lastError": self.last_error}

    def wait(self, timeout: float) -> bool:
        """Wait for the replay to finish (for tests and one-shot use)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state == "finished"

    def _run(self) -> None:
        try:
            self._replay()
            self.state = "stopped" if self._stop.is_set() else "finished"
        except (FutagoError, OSError, ValueError) as exc:
            self.state, self.last_error = "failed", str(exc)
            log.error("replay of %s failed: %s", self.path, exc)

    def _replay(self) -> None:
        batch: list[RawMessage] = []
        data_start: int | None = None
        wall_start = time.monotonic()
        for message in self._messages():
            if data_start is None:
                data_start = message.received_us
            if self.speed > 0:
                due = wall_start + (message.received_us - data_start) / 1e6 / self.speed
                if due > time.monotonic() and batch:
                    self._flush(batch)
                    batch = []
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    return
            elif self._stop.is_set():
                return
            batch.append(message)
            if len(batch) >= self.batch:
                self._flush(batch)
                batch = []
        if batch:
            self._flush(batch)

    def _flush(self, batch: list[RawMessage]) -> None:
        self.sink(batch)
        self.messages += len(batch)

    def _messages(self) -> Iterator[RawMessage]:
        if self.fmt == "ndjson":
            yield from self._ndjson()
        else:
            rows = self._csv_rows() if self.fmt == "csv" else self._parquet_rows()
            yield from self._wide(rows)

    def _ndjson(self) -> Iterator[RawMessage]:
        now_us = time.time_ns() // 1000
        with self.path.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                ts = now_us
                try:
                    raw = orjson.loads(line).get(self.time_column)
                    if raw is not None:
                        ts = parse_timestamp(raw)
                except (orjson.JSONDecodeError, AttributeError, FutagoError):
                    pass  # the mapping decides; a bad line becomes a dead letter there
                yield RawMessage(f"{self.path.name}:{number}", line.rstrip(b"\r\n"), ts)

    def _wide(self, rows: Iterator[dict[str, Any]]) -> Iterator[RawMessage]:
        for row in rows:
            raw_time = row.get(self.time_column)
            if raw_time is None:
                raise InvalidInput(
                    [
                        Problem(
                            "/options/time_column",
                            f"{self.path.name} has no time column '{self.time_column}'",
                        )
                    ]
                )
            ts = parse_timestamp(raw_time if not isinstance(raw_time, str) else raw_time.replace(" ", "T"))
            for column, cell in row.items():
                if column != self.time_column and cell is not None and cell != "":
                    yield RawMessage(column, str(cell).encode(), ts)

    def _csv_rows(self) -> Iterator[dict[str, Any]]:
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            yield from csv.DictReader(handle, delimiter=self.delimiter)

    def _parquet_rows(self) -> Iterator[dict[str, Any]]:
        import pyarrow.parquet as pq

        for record_batch in pq.ParquetFile(self.path).iter_batches(batch_size=10_000):
            yield from record_batch.to_pylist()
