"""Per-telemetry QC configuration: which QARTOD tests run on a telemetry, with which limits.

It is written as a dict (JSON or YAML in a model or a config file) whose sections and keys
mirror ioos_qc's: ``{"gross_range": {"fail_span": [0, 10], "suspect_span": [0.5, 8]}}``. The
``_test`` suffix of ioos_qc's section names is accepted too, so an ioos_qc ``qartod`` block
can be pasted in. Everything is checked at once, and each Problem points at the key to fix
(``/spike/suspect_threshold``), because a bad limit found at ingest time would flag good data.
Times are seconds, as in ioos_qc, or duration strings such as ``"5m"`` and ``"PT1H"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from futago.core.errors import InvalidInput
from futago.core.problems import Problem, join_pointer
from futago.core.telemetry import parse_duration
from futago.core.validation import Checker
from futago.quality.qartod import SpikeMethod


@dataclass(frozen=True, slots=True)
class GrossRangeConfig:
    fail_span: tuple[float, float]
    suspect_span: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class SpikeConfig:
    suspect_threshold: float | None = None
    fail_threshold: float | None = None
    method: SpikeMethod = "average"


@dataclass(frozen=True, slots=True)
class RateOfChangeConfig:
    threshold: float
    fail_threshold: float | None = None


@dataclass(frozen=True, slots=True)
class FlatLineConfig:
    suspect_threshold: float
    fail_threshold: float
    tolerance: float = 0.0


@dataclass(frozen=True, slots=True)
class TimingConfig:
    """When readings are due; used for gaps and as the streaming flat-line spacing."""

    expected_interval: float
    grace: float = 0.0


@dataclass(frozen=True, slots=True)
class TimeSanityConfig:
    future_tolerance: float = 0.0
    max_age: float | None = None


@dataclass(frozen=True, slots=True)
class QcConfig:
    """The tests configured for one telemetry; a section left out is a test that does not run."""

    gross_range: GrossRangeConfig | None = None
    spike: SpikeConfig | None = None
    rate_of_change: RateOfChangeConfig | None = None
    flat_line: FlatLineConfig | None = None
    timing: TimingConfig | None = None
    time_sanity: TimeSanityConfig | None = None

    @classmethod
    def from_dict(cls, data: Any, id: str | None = None, pointer: str = "") -> QcConfig:
        """Parse and validate; raises InvalidInput listing every Problem found."""
        parser = _Parser(Checker(id=id))
        config = parser.config(data, pointer)
        parser.check.raise_if_any()
        return config

    def to_dict(self) -> dict[str, Any]:
        """The canonical dict form (spans sorted, defaults filled in); `from_dict` reads it back."""
        out: dict[str, Any] = {}
        for name in SECTIONS:
            section = getattr(self, name)
            if section is not None:
                out[name] = {
                    k: list(v) if isinstance(v, tuple) else v
                    for k in section.__slots__
                    if (v := getattr(section, k)) is not None
                }
        return out


SECTIONS = ("gross_range", "spike", "rate_of_change", "flat_line", "timing", "time_sanity")
_KEYS: dict[str, tuple[str, ...]] = {
    "gross_range": ("fail_span", "suspect_span"),
    "spike": ("suspect_threshold", "fail_threshold", "method"),
    "rate_of_change": ("threshold", "fail_threshold"),
    "flat_line": ("suspect_threshold", "fail_threshold", "tolerance"),
    "timing": ("expected_interval", "grace"),
    "time_sanity": ("future_tolerance", "max_age"),
}
_SPIKE_METHODS: tuple[SpikeMethod, ...] = ("average", "differential")
_NOT_AN_OBJECT = 'a QC configuration is an object of test sections, e.g. {"gross_range": {...}}'


def _method_said(method: Any) -> str:
    return f"method must be 'average' or 'differential', got {method!r}"


@dataclass
class _Parser:
    """Reads the sections of one QC configuration, each mistake added to ``check`` (which names the id)."""

    check: Checker

    def problem(self, pointer: str, message: str) -> None:
        self.check.add(pointer, message)

    def config(self, data: Any, at: str) -> QcConfig:
        if not isinstance(data, Mapping):  # at the document's own pointer, which may be the whole document ("")
            self.check.extend([Problem(at, _NOT_AN_OBJECT, self.check.id)])
            return QcConfig()
        sections: dict[str, Any] = {}
        for key, body in data.items():
            name = key[: -len("_test")] if isinstance(key, str) and key.endswith("_test") else key
            where = join_pointer(at, str(key))
            if name not in _KEYS:
                self.problem(where, f"unknown QC test {key!r}; use {', '.join(SECTIONS)}")
            elif name in sections:
                self.problem(where, f"test {name!r} is configured twice")
            elif not isinstance(body, Mapping):
                self.problem(where, f"the {name} section is an object of settings")
            else:
                for extra in body.keys() - set(_KEYS[name]):
                    self.problem(
                        join_pointer(where, str(extra)),
                        f"unknown setting {extra!r} for {name}; use {', '.join(_KEYS[name])}",
                    )
                sections[name] = getattr(self, name)(body, where)
        return QcConfig(**{k: v for k, v in sections.items() if v is not None})

    # -- values ---------------------------------------------------------------------------------

    def number(self, body: Mapping[str, Any], key: str, at: str, minimum: float | None = None) -> float | None:
        def said(value: Any) -> str:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                return f"{key} must be a finite number, got {value!r}"
            return f"{key} must be at least {minimum:g}, got {value!r}"

        return self.check.number(body, key, at, minimum, message=said)

    def seconds(self, body: Mapping[str, Any], key: str, at: str, positive: bool = False) -> float | None:
        value = body.get(key)
        if isinstance(value, str):
            try:
                return parse_duration(value) / 1_000_000
            except InvalidInput as exc:
                self.problem(join_pointer(at, key), exc.detail)
                return None
        seconds = self.number(body, key, at, minimum=0)
        if positive and seconds == 0:
            self.problem(join_pointer(at, key), f"{key} must be a positive number of seconds")
            return None
        return seconds

    def span(self, body: Mapping[str, Any], key: str, at: str) -> tuple[float, float] | None:
        value = body.get(key)
        if value is None:
            return None
        ok = (
            isinstance(value, list | tuple)
            and len(value) == 2
            and all(not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v) for v in value)
        )
        if not ok:
            self.problem(join_pointer(at, key), f"{key} must be [low, high] with two finite numbers, got {value!r}")
            return None
        low, high = sorted(float(v) for v in value)
        return low, high

    def required(self, body: Mapping[str, Any], key: str, at: str) -> None:
        if body.get(key) is None:
            self.problem(join_pointer(at, key), f"{key} is required")

    # -- sections -------------------------------------------------------------------------------

    def gross_range(self, body: Mapping[str, Any], at: str) -> GrossRangeConfig | None:
        self.required(body, "fail_span", at)
        fail = self.span(body, "fail_span", at)
        suspect = self.span(body, "suspect_span", at)
        if fail is None:
            return None
        if suspect is not None and (suspect[0] < fail[0] or suspect[1] > fail[1]):
            self.problem(
                join_pointer(at, "suspect_span"),
                f"suspect_span {list(suspect)} must fall within fail_span {list(fail)}",
            )
        return GrossRangeConfig(fail, suspect)

    def spike(self, body: Mapping[str, Any], at: str) -> SpikeConfig | None:
        suspect = self.number(body, "suspect_threshold", at, minimum=0)
        fail = self.number(body, "fail_threshold", at, minimum=0)
        method = self.check.choice(body, "method", _SPIKE_METHODS, at, default="average", message=_method_said)
        if body.get("suspect_threshold") is None and body.get("fail_threshold") is None:
            self.problem(at, "give suspect_threshold, fail_threshold or both (in the telemetry's units)")
        self.ordered(at, "suspect_threshold", suspect, "fail_threshold", fail)
        return SpikeConfig(suspect, fail, method)

    def rate_of_change(self, body: Mapping[str, Any], at: str) -> RateOfChangeConfig | None:
        self.required(body, "threshold", at)
        threshold = self.number(body, "threshold", at, minimum=0)
        fail = self.number(body, "fail_threshold", at, minimum=0)
        self.ordered(at, "threshold", threshold, "fail_threshold", fail)
        return None if threshold is None else RateOfChangeConfig(threshold, fail)

    def flat_line(self, body: Mapping[str, Any], at: str) -> FlatLineConfig | None:
        self.required(body, "suspect_threshold", at)
        self.required(body, "fail_threshold", at)
        suspect = self.seconds(body, "suspect_threshold", at)
        fail = self.seconds(body, "fail_threshold", at)
        tolerance = self.number(body, "tolerance", at, minimum=0)
        self.ordered(at, "suspect_threshold", suspect, "fail_threshold", fail)
        if suspect is None or fail is None:
            return None
        return FlatLineConfig(suspect, fail, 0.0 if tolerance is None else tolerance)

    def timing(self, body: Mapping[str, Any], at: str) -> TimingConfig | None:
        self.required(body, "expected_interval", at)
        interval = self.seconds(body, "expected_interval", at, positive=True)
        grace = self.seconds(body, "grace", at)
        return None if interval is None else TimingConfig(interval, grace or 0.0)

    def time_sanity(self, body: Mapping[str, Any], at: str) -> TimeSanityConfig | None:
        future = self.seconds(body, "future_tolerance", at)
        max_age = self.seconds(body, "max_age", at, positive=True)
        return TimeSanityConfig(future or 0.0, max_age)

    def ordered(self, at: str, low_key: str, low: float | None, high_key: str, high: float | None) -> None:
        if low is not None and high is not None and low > high:
            self.problem(join_pointer(at, low_key), f"{low_key} ({low:g}) must not exceed {high_key} ({high:g})")
