"""File replay of readings: CSV or NDJSON read in batches, so files of any size stream through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from futago.core.errors import InvalidInput
from futago.core.telemetry import Reading
from futago.ingest.records import parse_csv, parse_ndjson, records_to_readings


def iter_record_batches(path: Path, kind: str, batch: int) -> Iterator[tuple[list[Reading], int]]:
    """Yield (readings, bytes read so far). A bad record raises, naming its line in the file."""
    header_lines = 1 if kind == "csv" else 0
    with path.open("rb") as handle:
        header = handle.readline() if kind == "csv" else b""
        index = 0  # of the first record (CSV) or line (NDJSON) in this batch
        while True:
            lines = handle.readlines(batch * 80)
            if not lines:
                return
            chunk = b"".join(lines)
            records: Any = (
                parse_csv((header + chunk).decode("utf-8-sig")) if kind == "csv" else parse_ndjson(chunk, index)
            )
            try:
                readings = records_to_readings(records, first_index=index)
            except InvalidInput as exc:
                pointer = exc.problems[0].pointer if exc.problems else "/0"
                line = int(pointer.split("/")[1]) + 1 + header_lines
                raise InvalidInput(f"{path.name} line {line}: {exc.problems[0].message}", exc.problems) from exc
            index += len(lines)
            yield readings, handle.tell()
