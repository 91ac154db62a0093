"""The shared mapping layer: source patterns, JSON/JMESPath, bare numbers, SenML, units."""

from __future__ import annotations

import pytest

from futago.core.errors import InvalidInput
from futago.ingest.mapping import Mapper, MappingError, RawMessage, SourcePattern
from futago.ingest.units import convert, dtdl_unit


@pytest.mark.parametrize(
    ("pattern", "source", "captures"),
    [
        ("city/river/{station}/level", "city/river/kano-3/level", {"station": "kano-3"}),
        ("city/river/{station}/level", "city/river/a/b/level", None),
        ("plant/+/{sensor}", "plant/line1/t-7", {"sensor": "t-7"}),
        ("plant/#", "plant/a/b/c", {}),
        ("plant/#", "plant", {}),
        ("dev/{id}-temp", "dev/42-temp", {"id": "42"}),
        ("ns=2;s=Plant.Reactor.{name}", "ns=2;s=Plant.Reactor.Temperature", {"name": "Temperature"}),
    ],
)
def test_source_patterns(pattern: str, source: str, captures: dict[str, str] | None) -> None:
    assert SourcePattern(pattern).match(source) == captures


def test_subscription_filter_turns_captures_into_wildcards() -> None:
    assert SourcePattern("city/river/{station}/level").subscription == "city/river/+/level"
    with pytest.raises(ValueError, match="last level"):
        SourcePattern("a/#/b")


def test_json_with_jmespath_value_time_unit_and_quality() -> None:
    mapper = Mapper.from_config(
        [
            {
                "source": "st/{id}",
                "twin": "river-{id}",
                "telemetry": "waterLevel",
                "value": "data.level",
                "timestamp": "data.time",
                "unit": "data.unit",
                "quality": "q",
            }
        ]
    )
    payload = b'{"data": {"level": 2.5, "time": "2026-05-01T00:00:00Z", "unit": "m"}, "q": 1}'
    [(reading, unit)] = mapper.map(RawMessage("st/7", payload, 123))
    assert (reading.twin_id, reading.name, reading.value, reading.quality, unit) == (
        "river-7",
        "waterLevel",
        2.5,
        1,
        "m",
    )
    assert reading.ts == 1_777_593_600_000_000
    [(no_time, _)] = mapper.map(RawMessage("st/7", b'{"data": {"level": 1}}', 123))
    assert no_time.ts == 123  # the receive time when the payload has none


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"data": {}}', "no value at 'data.level'"),
        (b'{"data": {"level": 1, "time": "noon"}}', "ISO 8601"),
        (b'{"data": {"level": 1}, "q": 7}', "QARTOD"),
    ],
)
def test_json_mapping_errors_say_why(payload: bytes, reason: str) -> None:
    mapper = Mapper.from_config(
        [
            {
                "source": "st/{id}",
                "twin": "river-{id}",
                "telemetry": "waterLevel",
                "value": "data.level",
                "timestamp": "data.time",
                "quality": "q",
            }
        ]
    )
    with pytest.raises(MappingError, match=reason):
        mapper.map(RawMessage("st/7", payload, 0))


def test_bare_numbers_and_unmatched_sources() -> None:
    mapper = Mapper.from_config(
        [{"source": "t/{id}", "twin": "{id}", "telemetry": "temp", "format": "number", "unit": "degF"}]
    )
    [(reading, unit)] = mapper.map(RawMessage("t/p1", b" 21.5\n", 99))
    assert (reading.twin_id, reading.value, reading.ts, unit) == ("p1", 21.5, 99, "degF")
    assert mapper.map(RawMessage("t/p1", b"-3", 0))[0].reading.value == -3
    with pytest.raises(MappingError, match="not a number"):
        mapper.map(RawMessage("t/p1", b"warm", 0))
    with pytest.raises(MappingError, match="no mapping matches"):
        mapper.map(RawMessage("other/p1", b"1", 0))


def test_senml_pack_with_base_fields() -> None:
    mapper = Mapper.from_config([{"source": "senml/{dev}", "twin": "{dev}", "format": "senml"}])
    pack = (
        b'[{"bn": "", "bt": 1.7e9, "bu": "Cel", "n": "temp", "v": 21.5},'
        b' {"n": "hum", "u": "%RH", "v": 40, "t": 1}, {"n": "open", "vb": true, "t": 2}]'
    )
    readings = mapper.map(RawMessage("senml/d1", pack, 0))
    assert [(m.reading.name, m.reading.value, m.reading.ts, m.unit) for m in readings] == [
        ("temp", 21.5, 1_700_000_000_000_000, "Cel"),
        ("hum", 40.0, 1_700_000_001_000_000, "%RH"),
        ("open", True, 1_700_000_002_000_000, "Cel"),
    ]
    relative = mapper.map(RawMessage("senml/d1", b'[{"n": "temp", "v": 1, "t": -5}]', 10_000_000))
    assert relative[0].reading.ts == 5_000_000  # RFC 8428: small times are relative to now
    with pytest.raises(MappingError, match="needs v, vb, vs or vd"):
        mapper.map(RawMessage("senml/d1", b'[{"n": "x"}]', 0))


def test_mapping_config_problems_point_at_the_key() -> None:
    with pytest.raises(InvalidInput) as err:
        Mapper.from_config([{"source": "a/{x}", "twin": "t-{y}", "telemetry": "v"}])
    assert err.value.problems[0].pointer == "/mappings/0/twin"
    with pytest.raises(InvalidInput) as err:
        Mapper.from_config([{"source": "a", "twin": "t", "telemetry": "v", "format": "xml", "colour": 1}])
    assert {p.pointer for p in err.value.problems} == {"/mappings/0/format", "/mappings/0/colour"}
    with pytest.raises(InvalidInput):
        Mapper.from_config([])


def test_units_follow_the_model() -> None:
    assert str(dtdl_unit("cubicMetrePerSecond")) == "meter ** 3 / second"
    assert convert(250, "cm", "metre") == pytest.approx(2.5)
    assert convert(70.7, "degF", "degreeCelsius") == pytest.approx(21.5)
    assert convert(21.5, "Cel", "degreeCelsius") == 21.5
    with pytest.raises(MappingError, match="cannot be converted"):
        convert(1, "kg", "metre")
    with pytest.raises(MappingError, match="not a unit"):
        convert(1, "furlongz", "metre")
