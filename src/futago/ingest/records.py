"""Reading records, as JSON objects from HTTP bodies, NDJSON and CSV files, into core readings.

A record names one reading, ``{"twinId": "pump-1", "name": "flow", "ts": "2026-01-01T00:00:00Z",
"value": 3.2, "quality": 1}``, or several telemetry of one twin at one time, in the style of an
Azure Digital Twins telemetry message, ``{"twinId": "pump-1", "ts": "...", "values": {"flow": 3.2,
"pressure": 1.1}}``. ``twinId`` may be left out where the twin is known (``/twins/{id}/telemetry``).
``ts`` (or ``timestamp``) is ISO 8601, or a number of milliseconds since the epoch.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import orjson

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.telemetry import QUALITY_NOT_EVALUATED, Reading, parse_timestamp


def _bad(index: int, field: str, message: str) -> InvalidInput:
    return InvalidInput([Problem(f"/{index}/{field}" if field else f"/{index}", message)])


def records_to_readings(records: Iterable[Any], twin_id: str | None = None, first_index: int = 0) -> list[Reading]:
    """Turn records into readings; the first bad record raises with a pointer to it."""
    readings: list[Reading] = []
    append = readings.append
    for index, record in enumerate(records, first_index):
        if not isinstance(record, dict):
            raise _bad(index, "", "each reading must be a JSON object with ts and name/value or values")
        twin = record.get("twinId", twin_id)
        if not isinstance(twin, str) or not twin:
            raise _bad(index, "twinId", "say which twin the reading belongs to with 'twinId'")
        if twin_id is not None and twin != twin_id:
            raise _bad(index, "twinId", f"twinId '{twin}' differs from the URL's twin '{twin_id}'")
        raw_ts = record.get("ts", record.get("timestamp"))
        if raw_ts is None:
            raise _bad(index, "ts", "a reading needs 'ts': ISO 8601 or epoch milliseconds")
        try:
            ts = parse_timestamp(raw_ts)
        except InvalidInput as exc:
            raise _bad(
                index, "ts", f"'ts' must be ISO 8601 or epoch milliseconds (years 1 to 9999), not {raw_ts!r}"
            ) from exc
        quality = record.get("quality", QUALITY_NOT_EVALUATED)
        if not isinstance(quality, int) or isinstance(quality, bool) or quality not in (1, 2, 3, 4, 9):
            raise _bad(index, "quality", "'quality' is a QARTOD flag: 1, 2, 3, 4 or 9")
        values = record.get("values")
        if values is not None:
            if not isinstance(values, dict) or not values:
                raise _bad(index, "values", "'values' must be an object of telemetry name → value")
            for name, value in values.items():
                append(Reading(twin, name, ts, value, quality))
            continue
        name = record.get("name")
        if not isinstance(name, str) or not name:
            raise _bad(index, "name", "name the telemetry with 'name' (or send 'values')")
        if "value" not in record:
            raise _bad(index, "value", "a reading needs a 'value'")
        append(Reading(twin, name, ts, record["value"], quality))
    return readings


def parse_ndjson(body: bytes | Iterable[bytes], first_index: int = 0) -> Iterator[Any]:
    """Yield one JSON value per non-empty line; a bad line raises with its (0-based) index.

    ``body`` is a whole body, or its lines already cut (by NdjsonStream)."""
    lines = body.splitlines() if isinstance(body, bytes) else body
    for index, line in enumerate(lines, first_index):
        if line.strip():
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InvalidInput([Problem(f"/{index}", f"line {index + 1} is not valid JSON: {exc}")]) from exc


#: The longest NDJSON line read: a reading takes well under a kilobyte, and a line is held whole while it arrives.
MAX_LINE_BYTES = 1024 * 1024


class NdjsonStream:
    """Cuts an NDJSON body into lines and readings as its bytes arrive.

    A body read whole and then parsed holds every line and every parsed record at once, about eight times the
    body; cut as it arrives, only the unfinished last line and the batch in hand are held. Pointers count lines
    (bad JSON) and records (bad readings) from the start of the body, as a whole-body parse would.
    """

    def __init__(self, twin_id: str | None = None, max_line: int = MAX_LINE_BYTES) -> None:
        self.twin_id = twin_id
        self.max_line = max_line
        self._rest = b""
        self._lines = 0  # lines handed out so far
        self._parsed_lines = 0
        self._records = 0
        self._readings = 0
        self.first_reading = 0  # index of the first reading of the latest batch, in the whole body

    def feed(self, data: bytes) -> list[bytes]:
        """The lines ``data`` completes. A trailing CR is held back: the LF of a CRLF may be in the next chunk."""
        buffer = self._rest + data
        cut = max(buffer.rfind(b"\n"), buffer.rfind(b"\r", 0, len(buffer) - 1))
        lines = buffer[: cut + 1].splitlines() if cut >= 0 else []
        self._rest = buffer[cut + 1 :]
        for offset, line in enumerate(lines):
            if len(line) > self.max_line:
                raise self._too_long(self._lines + offset)
        self._lines += len(lines)
        if len(self._rest) > self.max_line:
            raise self._too_long(self._lines)
        return lines

    def finish(self) -> list[bytes]:
        """The last line, when the body does not end with a line break."""
        lines, self._rest = self._rest.splitlines(), b""
        self._lines += len(lines)
        return lines

    def _too_long(self, index: int) -> InvalidInput:
        message = f"line {index + 1} is longer than {self.max_line} bytes; send one reading per line"
        return InvalidInput([Problem(f"/{index}", message)])

    def readings(self, lines: list[bytes]) -> list[Reading]:
        """The readings of the next ``lines`` (in order, as ``feed`` and ``finish`` gave them)."""
        records = list(parse_ndjson(lines, self._parsed_lines))
        readings = records_to_readings(records, self.twin_id, self._records)
        self._parsed_lines += len(lines)
        self._records += len(records)
        self.first_reading, self._readings = self._readings, self._readings + len(readings)
        return readings


def shift_rows(error: InvalidInput, offset: int) -> InvalidInput:
    """``error`` with its row pointers (``/<row>/...``) counted ``offset`` rows later: the rows of one batch
    named as rows of the whole body."""
    problems = [replace(p, pointer=_shifted(p.pointer, offset)) for p in error.problems]
    return InvalidInput(problems) if problems else error


def _shifted(pointer: str, offset: int) -> str:
    head, _, tail = pointer.lstrip("/").partition("/")
    if not head.isdigit():
        return pointer
    return f"/{int(head) + offset}" + (f"/{tail}" if tail else "")


def parse_json_body(body: bytes) -> list[Any]:
    """A JSON array of records, or a single record."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput([Problem("", f"the body is not valid JSON: {exc}")]) from exc
    return document if isinstance(document, list) else [document]


def parse_csv(text: str) -> Iterator[dict[str, Any]]:
    """CSV with a header: twinId,name,ts,value[,quality]; numbers become numbers."""
    reader = csv.DictReader(io.StringIO(text))
    required = {"twinId", "name", "ts", "value"}
    missing = required - set(reader.fieldnames or ())
    if missing:
        raise InvalidInput(
            [Problem("/0", f"the CSV header needs the columns {sorted(required)}; missing {sorted(missing)}")]
        )
    for row in reader:
        record: dict[str, Any] = dict(row)
        record["value"] = _number_or_text(row["value"])
        if row.get("quality"):
            record["quality"] = int(row["quality"]) if row["quality"].isdigit() else row["quality"]
        else:
            record.pop("quality", None)
        yield record


def _number_or_text(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
