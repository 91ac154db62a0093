"""A sensor calibration and the audit record of a change to one: the records the calibration store keeps.

A calibration maps a sensor's raw value to the calibrated one, either linearly (``gain × raw + offset``) or by a
polynomial (coefficients lowest order first), over a validity window ``[validFrom, validTo)`` (``validTo`` absent:
still in force). Constructing a record checks it, so a record in hand is always applicable.

They live in core because the calibration store's port (``core.ports.CalibrationStore``) takes and gives them;
the book of a series, which decides whether a change is allowed and applies calibrations to readings, is quality's
(``futago.quality.calibration``), which re-exports these names.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from futago.core.errors import InvalidInput
from futago.core.problems import Problem, join_pointer
from futago.core.records import JsonRecord, json_meta
from futago.core.telemetry import format_timestamp, parse_timestamp

CalibrationKind = Literal["linear", "polynomial"]
ChangeAction = Literal["created", "corrected", "retired"]

MAX_DEGREE = 9  # a higher-order fit is over-fitting a certificate, not calibrating a sensor
MAX_CERTIFICATE_LENGTH = 500
END_OF_TIME = np.iinfo(np.int64).max
_KEYS = frozenset(
    {
        "id",
        "twinId",
        "telemetry",
        "kind",
        "gain",
        "offset",
        "coefficients",
        "validFrom",
        "validTo",
        "certificate",
    }
)


def _finite_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class Calibration:
    """One calibration of one series (twin, telemetry) over ``[valid_from_us, valid_to_us)``.

    Constructing one checks it (InvalidInput, with Problems at the JSON keys), so a record in
    hand is always applicable.
    """

    id: str
    twin_id: str
    telemetry: str
    kind: CalibrationKind
    valid_from_us: int
    valid_to_us: int | None = None
    gain: float = 1.0
    offset: float = 0.0
    coefficients: tuple[float, ...] = ()
    certificate: str | None = None

    def __post_init__(self) -> None:
        problems = _record_problems({name: getattr(self, name) for name in self.__slots__})
        if problems:
            raise InvalidInput(problems)

    @property
    def polynomial(self) -> tuple[float, ...]:
        """The mapping as polynomial coefficients, lowest order first (linear: offset, gain)."""
        return (self.offset, self.gain) if self.kind == "linear" else self.coefficients

    @property
    def end_us(self) -> int:
        """The exclusive end of the window as a number (open-ended: the largest int64)."""
        return END_OF_TIME if self.valid_to_us is None else self.valid_to_us

    def contains(self, ts_us: int) -> bool:
        return self.valid_from_us <= ts_us < self.end_us

    def overlaps(self, other: Calibration) -> bool:
        return self.valid_from_us < other.end_us and other.valid_from_us < self.end_us

    def evaluate(self, raw: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The calibrated values of ``raw`` (NaN stays NaN; overflow gives ±inf, silently)."""
        x = np.asarray(raw, dtype=np.float64)
        with np.errstate(all="ignore"):
            return horner(np.asarray(self.polynomial, dtype=np.float64)[None, :], x)

    @classmethod
    def from_json(
        cls,
        data: Any,
        *,
        twin_id: str | None = None,
        telemetry: str | None = None,
        default_id: str | None = None,
    ) -> Calibration:
        """Parse a JSON object; every Problem found is raised at once, at its key.

        ``twin_id`` and ``telemetry`` come from the URL when the API knows them; the body may
        repeat them but must not contradict them. Without an ``id`` (and ``default_id``) a
        fresh UUID is given. ``kind`` may be left out: ``coefficients`` means polynomial.
        Times are ISO 8601 or epoch milliseconds, as everywhere in futago.
        """
        if not isinstance(data, Mapping):
            raise InvalidInput([Problem("", "a calibration is a JSON object")])
        problems: list[Problem] = []
        for key in sorted(set(data) - _KEYS, key=str):
            problems.append(Problem(join_pointer("", str(key)), f"unknown key {key!r}; use {', '.join(sorted(_KEYS))}"))
        record_id = data.get("id", default_id) or str(uuid.uuid4())
        if not isinstance(record_id, str):
            problems.append(Problem("/id", "id must be a string"))
            record_id = str(uuid.uuid4())
        twin = _identity(data, "twinId", twin_id, problems)
        name = _identity(data, "telemetry", telemetry, problems)
        kind = data.get("kind", "polynomial" if "coefficients" in data else "linear")
        if kind not in ("linear", "polynomial"):
            problems.append(Problem("/kind", f"kind must be 'linear' or 'polynomial', got {kind!r}"))
            kind = "linear"
        gain, offset = 1.0, 0.0
        coefficients: tuple[float, ...] = ()
        if kind == "linear":
            for key in ("coefficients",):
                if key in data:
                    problems.append(Problem(f"/{key}", "a linear calibration has gain and offset, not coefficients"))
            if "gain" not in data:
                problems.append(Problem("/gain", "gain is required for a linear calibration"))
            gain = _number(data, "gain", 1.0, problems)
            offset = _number(data, "offset", 0.0, problems)
        else:
            for key in ("gain", "offset"):
                if key in data:
                    problems.append(Problem(f"/{key}", f"a polynomial calibration has coefficients, not {key}"))
            coefficients = _coefficients(data.get("coefficients"), problems)
        valid_from = _time(data, "validFrom", problems, required=True)
        valid_to = _time(data, "validTo", problems, required=False)
        fields: dict[str, Any] = {
            "id": record_id,
            "twin_id": twin,
            "telemetry": name,
            "kind": kind,
            "valid_from_us": valid_from if valid_from is not None else 0,
            "valid_to_us": valid_to if valid_from is not None else None,
            "gain": gain,
            "offset": offset,
            "coefficients": coefficients,
            "certificate": data.get("certificate"),
        }
        if problems:
            # Report the record's own rules too (a zero gain, validTo before validFrom), except
            # where the key already has a Problem: one answer names everything to fix.
            flagged = {p.pointer.split("/")[1] for p in problems if p.pointer}
            problems += [p for p in _record_problems(fields) if p.pointer.split("/")[1] not in flagged]
            raise InvalidInput(problems)
        return cls(**fields)

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form; `from_json` reads it back to an equal record."""
        # Not a core.records mapping: the keys depend on the kind, and from_json validates a user's body.
        out: dict[str, Any] = {
            "id": self.id,
            "twinId": self.twin_id,
            "telemetry": self.telemetry,
            "kind": self.kind,
        }
        if self.kind == "linear":
            out["gain"] = self.gain
            out["offset"] = self.offset
        else:
            out["coefficients"] = list(self.coefficients)
        out["validFrom"] = format_timestamp(self.valid_from_us)
        out["validTo"] = None if self.valid_to_us is None else format_timestamp(self.valid_to_us)
        out["certificate"] = self.certificate
        return out


def _record_problems(fields: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with a record, at its JSON keys: the one check behind both constructors."""
    cal = _Fields(**fields)
    problems: list[Problem] = []
    if not isinstance(cal.id, str) or not cal.id:
        problems.append(Problem("/id", "id must be a non-empty string"))
    for key, value in (("twinId", cal.twin_id), ("telemetry", cal.telemetry)):
        if not isinstance(value, str) or not value:
            problems.append(Problem(f"/{key}", f"{key} must be a non-empty string"))
    if cal.kind == "linear":
        if not _finite_number(cal.gain) or cal.gain == 0:
            problems.append(
                Problem(
                    "/gain",
                    f"gain must be a finite, non-zero number (zero erases the signal), got {cal.gain!r}",
                )
            )
        if not _finite_number(cal.offset):
            problems.append(Problem("/offset", f"offset must be a finite number, got {cal.offset!r}"))
        if cal.coefficients:
            problems.append(Problem("/coefficients", "a linear calibration has gain and offset, not coefficients"))
    elif cal.kind == "polynomial":
        problems.extend(_coefficient_problems(cal.coefficients))
    else:
        problems.append(Problem("/kind", f"kind must be 'linear' or 'polynomial', got {cal.kind!r}"))
    for key, value in (("validFrom", cal.valid_from_us), ("validTo", cal.valid_to_us)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer)):
            problems.append(Problem(f"/{key}", f"{key} must be integer microseconds, got {value!r}"))
    if (
        isinstance(cal.valid_to_us, int | np.integer)
        and isinstance(cal.valid_from_us, int | np.integer)
        and cal.valid_to_us <= cal.valid_from_us
    ):
        problems.append(
            Problem(
                "/validTo",
                f"validTo ({_when(cal.valid_to_us)}) must be after validFrom ({_when(cal.valid_from_us)})",
            )
        )
    if cal.certificate is not None and (
        not isinstance(cal.certificate, str)
        or not cal.certificate.strip()
        or len(cal.certificate) > MAX_CERTIFICATE_LENGTH
    ):
        problems.append(
            Problem(
                "/certificate",
                f"certificate is a non-empty reference of at most {MAX_CERTIFICATE_LENGTH} characters, or null",
            )
        )
    return problems


def _when(us: Any) -> str:
    """A timestamp for a message, even one outside the writable years."""
    try:
        return format_timestamp(int(us))
    except (OverflowError, ValueError):
        return f"{us} µs"


@dataclass(frozen=True, slots=True)
class _Fields:
    """A record's fields before they are known to be valid (what `_record_problems` reads)."""

    id: Any
    twin_id: Any
    telemetry: Any
    kind: Any
    valid_from_us: Any
    valid_to_us: Any
    gain: Any
    offset: Any
    coefficients: Any
    certificate: Any


def _coefficient_problems(coefficients: Any) -> list[Problem]:
    if not isinstance(coefficients, tuple | list) or not 2 <= len(coefficients) <= MAX_DEGREE + 1:
        return [
            Problem(
                "/coefficients",
                f"coefficients is a list of 2 to {MAX_DEGREE + 1} numbers, lowest order first (c0 + c1·x + c2·x² ...)",
            )
        ]
    problems = [
        Problem(f"/coefficients/{i}", f"coefficient must be a finite number, got {c!r}")
        for i, c in enumerate(coefficients)
        if not _finite_number(c)
    ]
    if not problems and all(c == 0 for c in coefficients[1:]):
        problems.append(
            Problem("/coefficients", "a constant polynomial erases the signal; give a non-zero c1 or higher")
        )
    return problems


def _identity(data: Mapping[str, Any], key: str, given: str | None, problems: list[Problem]) -> str:
    value = data.get(key, given)
    if not isinstance(value, str) or not value:
        problems.append(Problem(f"/{key}", f"{key} is required and must be a non-empty string"))
        return ""
    if given is not None and value != given:
        problems.append(Problem(f"/{key}", f"{key} {value!r} contradicts the addressed {given!r}"))
    return value


def _number(data: Mapping[str, Any], key: str, default: float, problems: list[Problem]) -> float:
    value = data.get(key, default)
    if not _finite_number(value):
        problems.append(Problem(f"/{key}", f"{key} must be a finite number, got {value!r}"))
        return default
    return float(value)


def _coefficients(value: Any, problems: list[Problem]) -> tuple[float, ...]:
    found = _coefficient_problems(value)
    if found:
        problems.extend(found)
        return ()
    return tuple(float(c) for c in value)


def _time(data: Mapping[str, Any], key: str, problems: list[Problem], required: bool) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            problems.append(Problem(f"/{key}", f"{key} is required (ISO 8601 or epoch milliseconds)"))
        return None
    try:
        return parse_timestamp(value)
    except InvalidInput as exc:
        problems.append(Problem(f"/{key}", exc.problems[0].message if exc.problems else exc.detail))
        return None


def horner(coefficients: npt.NDArray[np.float64], x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Evaluate per-element polynomials: row i of ``coefficients`` (lowest order first) at x[i]."""
    result = np.broadcast_to(coefficients[..., -1], x.shape).astype(np.float64, copy=True)
    for j in range(coefficients.shape[-1] - 2, -1, -1):
        result *= x
        result += coefficients[..., j]
    return result


# ---------------------------------------------------------------------------------------------
# The audit record
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalibrationChange(JsonRecord):
    """Who changed which calibration, when, why, and the record before and after.

    ``before`` is None for a creation, ``after`` None for a retirement; a correction has both.
    """

    calibration_id: str
    twin_id: str
    telemetry: str
    action: ChangeAction
    who: str
    when_us: int = field(metadata=json_meta("when", encode=format_timestamp, decode=parse_timestamp))
    why: str
    before: dict[str, Any] | None = None  # the calibrations' JSON
    after: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.who, str) or not self.who.strip():
            problems.append(Problem("/who", "who made the change is required"))
        if not isinstance(self.why, str) or not self.why.strip():
            problems.append(Problem("/why", "a calibration change needs a reason (why)"))
        if isinstance(self.when_us, bool) or not isinstance(self.when_us, int | np.integer):
            problems.append(Problem("/when", f"when must be integer microseconds, got {self.when_us!r}"))
        if self.action not in ("created", "corrected", "retired"):
            problems.append(Problem("/action", f"action must be created, corrected or retired, got {self.action!r}"))
        if problems:
            raise InvalidInput(problems)

    def window(self) -> tuple[int, int | None]:
        """The time range whose calibrated values this change alters: ``[start, end)``, end None = open.

        It spans both the old and the new window: after a correction, readings that left the
        window go back to raw, and readings that joined it get calibrated. When the two are
        disjoint the span includes the time between them, which recomputes to the same values.
        """
        windows = [_window_of_json(j) for j in (self.before, self.after) if j is not None]
        start = min(w[0] for w in windows)
        ends = [w[1] for w in windows]
        return start, None if any(e is None for e in ends) else max(e for e in ends if e is not None)


def _window_of_json(data: Mapping[str, Any]) -> tuple[int, int | None]:
    end = data.get("validTo")
    return parse_timestamp(data["validFrom"]), None if end is None else parse_timestamp(end)
