"""Rule descriptions: what parses, what is refused (with pointers), and how each leaf judges readings."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from futago.act.rules import (
    Exceedance,
    LeafState,
    Quality,
    Rate,
    Threshold,
    load_rule_file,
    parse_rule,
    render,
)
from futago.core.errors import InvalidInput

M = 60_000_000  # one minute in µs
RIVER = "dtmi:futago:demo:RiverStation;1"


def pointers(body: Any, name: str = "r1") -> set[str]:
    with pytest.raises(InvalidInput) as caught:
        parse_rule(name, body)
    return {p.pointer for p in caught.value.problems}


def feed(leaf: Any, readings: list[tuple[int, Any]], quality: int = 1) -> list[bool]:
    """The leaf's verdict after each (minute, value) reading."""
    state = LeafState()
    out = []
    for minute, value in readings:
        leaf.feed(state, minute * M, value, quality)
        out.append(leaf.holds(state, minute * M))
    return out


def test_a_full_rule_parses_into_its_parts() -> None:
    rule = parse_rule(
        "flood",
        {
            "description": "d",
            "severity": "critical",
            "twinModel": RIVER,
            "scope": {"near": {"point": [138.86, 35.1], "distanceM": 500}},
            "when": {
                "any": [
                    {"exceedance": {"telemetry": "waterLevel", "stage": "danger", "probability": 0.5, "within": "3h"}},
                    {"all": [{"threshold": {"telemetry": "waterLevel", "above": 4}}, {"not": {"anomaly": {}}}]},
                ]
            },
            "for": "5m",
            "message": {"ja": "{twin} 危険", "en": "{twin} danger {values[waterLevel]:.1f}"},
            "suppress": "30m",
            "escalateAfter": "PT15M",
            "area": {"relationship": "monitors"},
            "recommend": {"twin": "gate-1", "command": "closeGate", "payload": {"force": True}},
        },
    )
    assert rule.severity == "critical" and rule.twin_model == RIVER and rule.for_us == 5 * M
    assert rule.triggers == {"waterLevel_exceedance~danger", "waterLevel", "anomalyScore"}
    assert [leaf.index for leaf in rule.leaves] == [0, 1, 2]
    assert rule.scope is not None and rule.scope.point == (138.86, 35.1) and rule.scope.distance_m == 500
    assert rule.suppress_us == 30 * M and rule.escalate_after_us == 15 * M
    assert rule.recommend is not None and rule.recommend.command == "closeGate"
    assert rule.area.relationship == "monitors"
    assert rule.to_json()["name"] == "flood" and rule.to_json()["severity"] == "critical"


def test_defaults_and_zone_scope_give_the_area() -> None:
    rule = parse_rule("r", {"twins": ["a"], "scope": {"within": "zone-1"}, "when": {"anomaly": {}}})
    assert rule.severity == "warning" and rule.auto_resolve and rule.enabled
    assert rule.area.zone == "zone-1"
    leaf = rule.leaves[0]
    assert isinstance(leaf, Threshold) and leaf.telemetry == "anomalyScore" and leaf.above == 1.0


def on(condition: dict[str, Any], **rule: Any) -> dict[str, Any]:
    """A rule for twin 'a' with the given condition and other members."""
    return {"twins": ["a"], "when": condition, **rule}


def threshold(**leaf: Any) -> dict[str, Any]:
    return on({"threshold": {"telemetry": "x", **leaf}})


ANOMALY: dict[str, Any] = {"anomaly": {}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], {"/"}),
        ({"when": ANOMALY}, {"/"}),  # no target
        ({"twins": ["a"], "twinModel": RIVER, "when": ANOMALY}, {"/"}),
        ({"twins": "a", "when": ANOMALY}, {"/twins"}),
        ({"twinModel": "River", "when": ANOMALY}, {"/twinModel"}),
        ({"twins": ["a"]}, {"/when"}),
        (threshold(), {"/when/threshold"}),
        (threshold(above=1, below=0), {"/when/threshold"}),
        (threshold(above="high"), {"/when/threshold/above"}),
        (threshold(above=4, clear=5), {"/when/threshold/clear"}),
        (threshold(below=1, clear=0), {"/when/threshold/clear"}),
        (threshold(above=1, **{"for": "soon"}), {"/when/threshold/for"}),
        (threshold(above=1, within="1h"), {"/when/threshold/within"}),
        (on({"rate": {"telemetry": "x", "above": 1}}), {"/when/rate/per"}),
        (
            on({"exceedance": {"telemetry": "x", "stage": "flood"}}),
            {"/when/exceedance/stage", "/when/exceedance/probability"},
        ),
        (on({"exceedance": {"telemetry": "x", "probability": 1.5}}), {"/when/exceedance/probability"}),
        (on({"quality": {"telemetry": "x", "flag": 5}}), {"/when/quality/flag"}),
        (on({"quality": {"telemetry": "x", "stuck": "30m", "flag": 3}}), {"/when/quality"}),
        (on({"all": []}), {"/when/all"}),
        (on({"all": [{"nope": {}}, {"anomaly": {"x": 1}}]}), {"/when/all/0/nope", "/when/all/1/anomaly/x"}),
        (on({"anomaly": {}, "rate": {}}), {"/when"}),
        (on(ANOMALY, severity="fatal"), {"/severity"}),
        (on(ANOMALY, suppress=-1), {"/suppress"}),
        (on(ANOMALY, message={"en": "{twin.__class__}"}), {"/message/en"}),
        (on(ANOMALY, message={"ja": "{secret}"}), {"/message/ja"}),
        (on(ANOMALY, message={"en": "{"}), {"/message/en"}),
        (on(ANOMALY, scope={"within": 3}), {"/scope/within"}),
        (on(ANOMALY, scope={"near": {"point": [200, 0], "distanceM": 5}}), {"/scope/near/point"}),
        (on(ANOMALY, scope={"near": {"point": [1, 2]}}), {"/scope/near/distanceM"}),
        (on(ANOMALY, recommend={"payload": 1}), {"/recommend/command"}),
        (on(ANOMALY, recommend={"command": "c", "twin": "{rule}"}), {"/recommend/twin"}),
        (on(ANOMALY, autoResolve="yes"), {"/autoResolve"}),
        (on(ANOMALY, **{"extra/key": 1}), {"/extra~1key"}),
    ],
)
def test_bad_rules_are_refused_with_pointers(body: Any, expected: set[str]) -> None:
    assert pointers(body) == expected


def test_every_problem_is_reported_at_once_and_names_are_checked() -> None:
    found = pointers({"twins": 1, "severity": 2, "when": {"rate": {}}, "suppress": "x"}, name="bad name!")
    assert {"/name", "/twins", "/severity", "/when/rate/telemetry", "/suppress"} <= found


def test_deep_nesting_is_bounded() -> None:
    body: dict[str, Any] = {"anomaly": {}}
    for _ in range(40):
        body = {"not": body}
    assert any(p.startswith("/when/not/not") for p in pointers({"twins": ["a"], "when": body}))


def test_threshold_hysteresis_keeps_the_verdict_between_the_levels() -> None:
    leaf = Threshold("x", above=4.0, clear=3.8)
    readings = [(0, 3.9), (1, 4.1), (2, 3.95), (3, 4.05), (4, 3.85), (5, 3.7), (6, 3.9), (7, 4.01)]
    assert feed(leaf, readings) == [False, True, True, True, True, False, False, True]
    no_clear = Threshold("x", above=4.0, clear=4.0)
    assert feed(no_clear, readings) == [False, True, False, True, False, False, False, True]
    below = Threshold("x", below=1.0, clear=1.5)
    assert feed(below, [(0, 2.0), (1, 0.9), (2, 1.4), (3, 1.6)]) == [False, True, True, False]


def test_minimum_duration_and_ignored_readings() -> None:
    leaf = Threshold("x", above=4.0, clear=4.0, for_us=10 * M)
    assert feed(leaf, [(0, 5), (5, 5), (9, 5), (10, 5), (11, 3), (12, 5), (21, 5), (22, 5)]) == [
        False,
        False,
        False,
        True,
        False,
        False,
        False,
        True,
    ]
    state = LeafState()
    leaf.feed(state, 0, 5.0, 4)  # a failed reading (flag 4) is ignored by default
    leaf.feed(state, M, float("nan"), 1)  # as is a missing value
    leaf.feed(state, 2 * M, "text", 1)
    assert not state.active and state.last_ts == 2 * M
    leaf.feed(state, M, 9.0, 1)  # late: older than what the state has seen
    assert not state.active


def test_rate_over_a_window() -> None:
    leaf = Rate("x", per_us=60 * M, over_us=30 * M, above=0.3, clear=0.3)
    rising = [(m, 3.0 + 0.01 * m) for m in range(0, 40, 5)]  # 0.6 per hour
    assert feed(leaf, rising)[1:] == [True] * 7
    flat = Rate("x", per_us=60 * M, over_us=30 * M, above=0.3, clear=0.3)
    assert feed(flat, [(m, 3.0) for m in range(0, 40, 5)]) == [False] * 8
    falling = Rate("x", per_us=60 * M, over_us=30 * M, below=-0.3, clear=-0.3)
    assert feed(falling, [(0, 3.0), (30, 2.5), (60, 2.4)]) == [
        False,
        True,
        False,
    ]  # -1.0/h, then -0.2/h over the last 30 min


def test_exceedance_probability_with_its_own_hysteresis() -> None:
    leaf = Exceedance("waterLevel_exceedance~danger", probability=0.5, clear=0.3, stage="danger")
    assert feed(leaf, [(0, 0.2), (10, 0.5), (20, 0.35), (30, 0.29), (40, 0.49)]) == [False, True, True, False, False]


def test_quality_flags_and_stuck_values() -> None:
    flagged = Quality("x", min_quality=None, flag=3)
    state = LeafState()
    verdicts = []
    for minute, flag in enumerate([1, 3, 4, 9, 2]):
        flagged.feed(state, minute * M, 1.0, flag)
        verdicts.append(flagged.holds(state, minute * M))
    assert verdicts == [False, True, True, True, False]
    stuck = Quality("x", min_quality=None, stuck_us=30 * M, tolerance=0.001)
    values = [(m, 3.0 + (0.0005 if m % 10 else 0)) for m in range(0, 45, 5)] + [(45, 3.2), (50, 3.2)]
    assert feed(stuck, values) == [False] * 6 + [True] * 3 + [False, False]


def test_forecast_threshold_judges_the_peak_within_the_window() -> None:
    leaf = Threshold("waterLevel_forecast", above=4.0, clear=4.0, within_us=60 * M)
    rows = [(m * M, 3.0 + m / 30, 1) for m in range(0, 121, 10)]  # 3.0 → 7.0 over two hours
    assert leaf.summarise(rows) == [(0, 5.0, 1)]  # the peak of the first hour
    assert not leaf.seedable


def test_message_templates_render_leniently() -> None:
    context = {"twin": "river-1", "value": 0.734, "values": {"waterLevel": 4.21}, "props": {}}
    assert render("{twin}: {value:.0%} / {values[waterLevel]:.1f} m", context) == "river-1: 73% / 4.2 m"
    assert render("{props[name]} {value:.2f}", {"props": {}, "value": None}) == "? None"


def test_rule_files(tmp_path: Path) -> None:
    sample = resources.files("futago.samples").joinpath("rules.yaml")
    rules = load_rule_file(str(sample))
    assert {"flood-danger-forecast", "river-level-high", "pump-anomaly", "river-sensor-stuck"} <= set(rules)
    flood = rules["flood-danger-forecast"]
    assert flood.triggers == {"waterLevel_exceedance~danger"} and flood.severity == "critical"

    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  ok: {twins: [a], when: {anomaly: {}}}\n  broken: {twins: [a], when: {rate: {}}}\n")
    with pytest.raises(InvalidInput) as caught:
        load_rule_file(bad)
    assert {p.pointer for p in caught.value.problems} >= {"/rules/broken/when/rate/telemetry"}
    for text in ("rules: [1, 2]", "rules: {a: 1", "nothing: here"):
        bad.write_text(text)
        with pytest.raises(InvalidInput):
            load_rule_file(bad)
    with pytest.raises(InvalidInput):
        load_rule_file(tmp_path / "missing.yaml")
