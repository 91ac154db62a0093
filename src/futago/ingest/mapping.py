"""The one mapping layer every connector shares: a raw message becomes core readings.

A mapping names a source pattern (an MQTT topic filter with named captures, an OPC UA node,
a file column), the twin and telemetry it feeds (templates over the captures), and how to read
the payload: JSON with JMESPath expressions for value, timestamp, unit and quality; a bare
number; or a SenML pack (RFC 8428) with many records.

Example::

    {"source": "city/river/{station}/level", "twin": "river-{station}", "telemetry": "waterLevel",
     "format": "json", "value": "level", "timestamp": "time", "unit": "unit"}
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import jmespath
import jmespath.exceptions
import orjson

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.telemetry import QUALITY_NOT_EVALUATED, Reading, parse_timestamp
from futago.core.validation import Checker

PayloadFormat = Literal["json", "number", "senml"]
FORMATS: tuple[PayloadFormat, ...] = ("json", "number", "senml")
_CAPTURE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RawMessage(NamedTuple):
    """One message as a connector received it."""

    source: str  # topic, node id, file:line
    payload: bytes
    received_us: int


class MappedReading(NamedTuple):
    reading: Reading
    unit: str | None  # the unit the payload declared, if any; converted to the model's unit later


class MappingError(Exception):
    """Why a message cannot be mapped; it goes to the dead letters with this reason."""

    def __init__(self, reason: str, pointer: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.pointer = pointer


class SourcePattern:
    """An MQTT-style filter with named captures: ``city/+/{station}/#``.

    ``{name}`` matches one level and captures it; ``+`` matches one level; ``#`` (last) matches
    the rest. The same syntax serves OPC UA node ids and file columns (no ``/`` in them).
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        levels = pattern.split("/")
        parts: list[str] = []
        for i, level in enumerate(levels):
            if level == "#":
                if i != len(levels) - 1:
                    raise ValueError("'#' may only be the last level of a pattern")
                parts.append("(?:/.*)?" if i else ".*")
                continue
            piece = "[^/]+" if level == "+" else _capture_level(level)
            parts.append(("/" if i else "") + piece)
        self._regex = re.compile("".join(parts) + r"\Z")
        self.captures = tuple(_CAPTURE.findall(pattern))

    def match(self, source: str) -> dict[str, str] | None:
        found = self._regex.match(source)
        return found.groupdict() if found else None

    @property
    def subscription(self) -> str:
        """The filter to subscribe to at a broker: captures become ``+``."""
        return "/".join("+" if _CAPTURE.search(level) else level for level in self.pattern.split("/"))


def _capture_level(level: str) -> str:
    out, last = [], 0
    for found in _CAPTURE.finditer(level):
        out.append(re.escape(level[last : found.start()]))
        out.append(f"(?P<{found.group(1)}>[^/]+)")
        last = found.end()
    out.append(re.escape(level[last:]))
    return "".join(out)


def _fill(template: str, values: dict[str, str], what: str) -> str:
    try:
        return template.format_map(values)
    except KeyError as exc:
        raise MappingError(f"the {what} template '{template}' uses {{{exc.args[0]}}}, which was not captured") from None


#: Bounds of a JMESPath expression. jmespath parses and evaluates by recursion, one level per bracket,
#: parenthesis, negation or pipe, so a long enough one ends in a RecursionError; these are far above what
#: a payload mapping needs, and far below that.
MAX_EXPRESSION_CHARS = 1024
MAX_EXPRESSION_NESTING = 32
_NESTING = re.compile(r"[([{!|&]")


def _check_expression(expression: str, pointer: str, check: Checker) -> None:
    """Refuse an expression too long or too nested before jmespath recurses over it."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        check.add(pointer, f"a JMESPath expression may have at most {MAX_EXPRESSION_CHARS} characters")
    elif len(_NESTING.findall(expression)) > MAX_EXPRESSION_NESTING:
        check.add(pointer, f"a JMESPath expression may hold at most {MAX_EXPRESSION_NESTING} of ( [ {{ ! | &")


@dataclass(frozen=True)
class MessageMapping:
    source: str
    twin: str
    telemetry: str | None = None  # required except for SenML, where the record name may fill it
    format: PayloadFormat = "json"
    value: str = "value"  # JMESPath (json)
    timestamp: str | None = "ts"  # JMESPath (json); None or missing in the payload: receive time
    unit: str | None = None  # JMESPath (json), or a fixed unit for number payloads
    quality: str | None = None  # JMESPath (json) to a QARTOD flag
    pattern: SourcePattern = field(init=False, repr=False, compare=False)
    _compiled: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", SourcePattern(self.source))
        compiled = {}
        if self.format == "json":
            for key in ("value", "timestamp", "unit", "quality"):
                expression = getattr(self, key)
                if expression is not None:
                    compiled[key] = jmespath.compile(expression)
        object.__setattr__(self, "_compiled", compiled)

    @classmethod
    def from_config(cls, config: Any, pointer: str = "") -> MessageMapping:
        """Build from a configuration dict; every mistake is a Problem at its key."""
        check = Checker(pointer)
        if not isinstance(config, dict):
            check.extend([Problem(pointer, "a mapping is an object with source, twin and telemetry")])
            check.raise_if_any()
        known = sorted({"source", "twin", "telemetry", "format", "value", "timestamp", "unit", "quality"})
        check.keys(config, known, message=f"unknown mapping key; use {known}")
        for key in ("source", "twin"):
            if not isinstance(config.get(key), str) or not config[key]:
                check.add(f"{pointer}/{key}", f"'{key}' is required: a non-empty string")
        fmt = config.get("format", "json")
        if fmt not in FORMATS:  # the wrong format stays, so no JSON-only check runs for it
            check.add(f"{pointer}/format", f"format must be one of {list(FORMATS)}")
        if fmt != "senml" and not isinstance(config.get("telemetry"), str):
            check.add(f"{pointer}/telemetry", "name the telemetry the value feeds")
        for key in ("telemetry", "value", "timestamp", "unit", "quality"):
            if key in config and config[key] is not None and not isinstance(config[key], str):
                check.add(f"{pointer}/{key}", f"'{key}' must be a string")
            elif key != "telemetry" and fmt == "json" and isinstance(config.get(key), str):
                _check_expression(config[key], f"{pointer}/{key}", check)
        check.raise_if_any()
        try:
            mapping = cls(**config)
        except ValueError as exc:
            raise InvalidInput([Problem(f"{pointer}/source", str(exc))]) from exc
        except jmespath.exceptions.JMESPathError as exc:
            raise InvalidInput([Problem(pointer, f"a JMESPath expression is invalid: {exc}")]) from exc
        captures = set(mapping.pattern.captures) | ({"bn", "n"} if fmt == "senml" else set())
        for key in ("twin", "telemetry"):
            template = getattr(mapping, key)
            unknown = set(_CAPTURE.findall(template or "")) - captures
            if unknown:
                raise InvalidInput(
                    [Problem(f"{pointer}/{key}", f"{sorted(unknown)} are not captured by the source pattern")]
                )
            try:  # a template is str.format syntax: "{0}", "{a.b}" or a lone "{" would fail on every message
                (template or "").format_map(dict.fromkeys(captures, ""))
            except (KeyError, ValueError, IndexError, AttributeError) as exc:
                raise InvalidInput(
                    [Problem(f"{pointer}/{key}", f"the template is not valid ({exc}); name captures as {{name}}")]
                ) from None
        return mapping

    def map(self, message: RawMessage, captures: dict[str, str]) -> list[MappedReading]:
        if self.format == "number":
            return [self._number(message, captures)]
        if self.format == "senml":
            return self._senml(message, captures)
        return [self._json(message, captures)]

    def _number(self, message: RawMessage, captures: dict[str, str]) -> MappedReading:
        text = message.payload.strip()
        try:
            value: float | int = int(text) if text.lstrip(b"-").isdigit() else float(text)
        except ValueError:
            raise MappingError(f"the payload is not a number: {message.payload[:60]!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise MappingError("the payload is not a finite number")
        twin = _fill(self.twin, captures, "twin")
        telemetry = _fill(self.telemetry or "", captures, "telemetry")
        reading = Reading(twin, telemetry, message.received_us, value, QUALITY_NOT_EVALUATED)
        return MappedReading(reading, self.unit)

    def _json(self, message: RawMessage, captures: dict[str, str]) -> MappedReading:
        document = _decode(message.payload)
        value = self._compiled["value"].search(document)
        if value is None:
            raise MappingError(f"the payload has no value at '{self.value}'", _pointer_of(self.value))
        ts = message.received_us
        if "timestamp" in self._compiled:
            raw_ts = self._compiled["timestamp"].search(document)
            if raw_ts is not None:
                ts = _timestamp(raw_ts, self.timestamp or "")
        unit = self._compiled["unit"].search(document) if "unit" in self._compiled else None
        quality = QUALITY_NOT_EVALUATED
        if "quality" in self._compiled:
            flag = self._compiled["quality"].search(document)
            if flag is not None:
                if flag not in (1, 2, 3, 4, 9) or isinstance(flag, bool):
                    raise MappingError(f"quality {flag!r} is not a QARTOD flag (1, 2, 3, 4, 9)")
                quality = int(flag)
        twin = _fill(self.twin, captures, "twin")
        telemetry = _fill(self.telemetry or "", captures, "telemetry")
        return MappedReading(Reading(twin, telemetry, ts, value, quality), unit if isinstance(unit, str) else None)

    def _senml(self, message: RawMessage, captures: dict[str, str]) -> list[MappedReading]:
        pack = _decode(message.payload)
        if not isinstance(pack, list) or not pack:
            raise MappingError("a SenML pack is a non-empty JSON array of records (RFC 8428)")
        base_name, base_time, base_unit, base_value = "", 0.0, None, 0.0
        out: list[MappedReading] = []
        for i, record in enumerate(pack):
            if not isinstance(record, dict):
                raise MappingError("each SenML record must be a JSON object", f"/{i}")
            base_name = _senml_field(record, "bn", base_name, str, i)
            base_time = _senml_number(record, "bt", base_time, i)
            base_unit = _senml_field(record, "bu", base_unit, str, i)
            base_value = _senml_number(record, "bv", base_value, i)
            name = base_name + _senml_field(record, "n", "", str, i)
            if not name:
                raise MappingError("a SenML record needs a name (bn + n)", f"/{i}/n")
            value: Any
            if "v" in record:
                value = _senml_number(record, "v", 0.0, i) + base_value
            elif "vb" in record:
                value = bool(record["vb"])
            elif "vs" in record:
                value = str(record["vs"])
            elif "vd" in record:
                value = str(record["vd"])
            else:
                raise MappingError("a SenML record needs v, vb, vs or vd", f"/{i}")
            t = base_time + _senml_number(record, "t", 0.0, i)
            if not _SENML_SECONDS[0] <= t < _SENML_SECONDS[1]:
                raise MappingError(f"the SenML time {t!r} s is not within the years 1 to 9999", f"/{i}/t")
            # RFC 8428 §4.5.3: values below 2**28 are relative to now.
            ts = message.received_us + round(t * 1e6) if t < 2**28 else round(t * 1e6)
            values = {**captures, "bn": base_name, "n": str(record.get("n", ""))}
            twin = _fill(self.twin, values, "twin")
            telemetry = _fill(self.telemetry, values, "telemetry") if self.telemetry else name
            unit = _senml_field(record, "u", base_unit, str, i)
            out.append(MappedReading(Reading(twin, telemetry, ts, value, QUALITY_NOT_EVALUATED), unit))
        return out


_SENML_SECONDS = (-62_135_596_800.0, 253_402_300_800.0)  # the years 1 to 9999, as every timestamp in futago


def _senml_number(record: dict[str, Any], key: str, default: float, index: int) -> float:
    """A SenML number field (RFC 8428 §4.2): a finite JSON number, else the record is refused with its pointer."""
    raw = record.get(key, default)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            number = float(raw)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number
    raise MappingError(f"SenML '{key}' must be a finite number, not {raw!r}", f"/{index}/{key}")


def _senml_field(record: dict[str, Any], key: str, default: Any, kind: type, index: int) -> Any:
    raw = record.get(key, default)
    if raw is not default and not isinstance(raw, kind):
        raise MappingError(f"SenML '{key}' must be a {kind.__name__}, not {raw!r}", f"/{index}/{key}")
    return raw


def _decode(payload: bytes) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise MappingError(f"the payload is not valid JSON: {exc}") from None


def _pointer_of(expression: str) -> str:
    """A JSON Pointer for a simple dotted JMESPath (``a.b`` → ``/a/b``); empty otherwise."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", expression):
        return "/" + expression.replace(".", "/")
    return ""


def _timestamp(raw: Any, expression: str) -> int:
    try:
        return parse_timestamp(raw)
    except InvalidInput:
        raise MappingError(
            f"the timestamp at '{expression}' must be ISO 8601 or epoch milliseconds, not {raw!r}",
            _pointer_of(expression),
        ) from None


class Mapper:
    """Every mapping of one connection; a message feeds each mapping whose source matches."""

    def __init__(self, mappings: Sequence[MessageMapping]) -> None:
        self.mappings = list(mappings)

    @classmethod
    def from_config(cls, configs: Any, pointer: str = "/mappings") -> Mapper:
        """Every mapping of a connection; one InvalidInput names the mistakes of all of them."""
        check = Checker(pointer)
        if not isinstance(configs, list) or not configs:
            check.add(pointer, "give at least one mapping")
            check.raise_if_any()
        mappings = [check.parsed(MessageMapping.from_config, c, f"{pointer}/{i}") for i, c in enumerate(configs)]
        check.raise_if_any()
        return cls([m for m in mappings if m is not None])

    def partition_key(self, source: str) -> str:
        """What orders a message among others: the twin its source names, where the first matching mapping names
        it from the source alone (``river-{station}``), else the source itself (one topic, one device)."""
        for mapping in self.mappings:
            captures = mapping.pattern.match(source)
            if captures is None:
                continue
            if mapping.twin and set(_CAPTURE.findall(mapping.twin)) <= set(captures):
                return _fill(mapping.twin, captures, "twin")
            break
        return source

    def map(self, message: RawMessage) -> list[MappedReading]:
        """Readings of a message; raises MappingError when no mapping applies or one fails."""
        readings: list[MappedReading] = []
        matched = False
        for mapping in self.mappings:
            captures = mapping.pattern.match(message.source)
            if captures is None:
                continue
            matched = True
            readings.extend(mapping.map(message, captures))
        if not matched:
            raise MappingError(f"no mapping matches source '{message.source}'")
        return readings
