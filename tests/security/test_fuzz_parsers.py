"""Hypothesis fuzzing of every parser that reads untrusted input: the query language, DTDL, the payload mapping
(JMESPath expressions and templates), SenML packs, NDJSON telemetry bodies and CityGML.

Each gives a documented outcome only: a result, or a futago-typed error that says what is wrong (InvalidInput,
a MappingError for a message, a CityGmlError). Never another exception, never a RecursionError. Each example runs
under a memory limit (``bounded``: the tracemalloc peak) and a time limit (the hypothesis ``deadline``), and the
whole file stays under a minute (``FUTAGO_FUZZ_EXAMPLES`` raises the example count for a longer hunt).
"""

from __future__ import annotations

import io
import os
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futago.city.citygml.reader import iter_features
from futago.core.dtdl.model_set import validate
from futago.core.errors import FutagoError, InvalidInput
from futago.core.query import parse
from futago.core.telemetry import Reading
from futago.ingest.mapping import Mapper, MappingError, RawMessage
from futago.ingest.records import NdjsonStream

FUZZ = settings(
    max_examples=int(os.environ.get("FUTAGO_FUZZ_EXAMPLES", "150")),
    deadline=timedelta(seconds=5),  # per example, generous for a loaded machine: a hang, not a slow run, fails
    suppress_health_check=list(HealthCheck),
    database=None,
)
#: Per example: the inputs are a few kilobytes, so a parser that needs more has amplified without bound.
MEMORY_LIMIT = 64 * 1024 * 1024


@contextmanager
def bounded(limit: int = MEMORY_LIMIT) -> Iterator[None]:
    """Fail when the code inside allocates more than ``limit`` bytes at its peak."""
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, f"peak {peak / 1e6:.0f} MB"


def nested(depth: st.SearchStrategy[int], wrap: Any, core: Any) -> st.SearchStrategy[Any]:
    """``core`` wrapped ``depth`` times: nesting far deeper than any recursion limit, cheaply."""

    def build(n: int) -> Any:
        value = core
        for _ in range(n):
            value = wrap(value)
        return value

    return depth.map(build)


DEEP = st.integers(0, 1500)
INT64 = st.integers(-(2**63), 2**63 - 1)  # what JSON carries here: orjson reads and writes 64-bit integers only
json_values = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)

# -- DTDL ---------------------------------------------------------------------------------------------------------
DTDL_KEYS = ["@context", "@id", "@type", "contents", "name", "schema", "extends", "writable", "unit", "target",
             "displayName", "fields", "enumValues", "valueSchema", "elementSchema", "mapKey", "mapValue"]  # fmt: skip
DTDL_WORDS = ["dtmi:x:A;1", "Interface", "Property", "Telemetry", "double", "string", "Personal", "Object", "Map",
              "dtmi:dtdl:context;3", "dtmi:futago:extension:privacy;1"]  # fmt: skip
dtdl_like = st.recursive(
    st.sampled_from(DTDL_WORDS) | json_values,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(DTDL_KEYS), inner, max_size=6),
    max_leaves=30,
)
CTX = "dtmi:dtdl:context;3"


def _interface(dtmi: str, **members: Any) -> dict[str, Any]:
    return {"@context": CTX, "@id": dtmi, "@type": "Interface", **members}


deep_schemas = nested(
    DEEP,
    lambda s: {"@type": "Array", "elementSchema": s} if isinstance(s, str) or len(s) % 2 else {
        "@type": "Object", "fields": [{"name": "f", "schema": s}]},
    "double",
).map(lambda s: [_interface("dtmi:x:S;1", contents=[{"@type": "Telemetry", "name": "t", "schema": s}])])  # fmt: skip
deep_inline = nested(DEEP, lambda i: {"@id": f"dtmi:x:N{id(i)};1", "@type": "Interface", "extends": i}, "dtmi:x:B;1")
extends_chains = st.integers(1, 1500).map(
    lambda n: [_interface(f"dtmi:x:I{i};1", extends=[f"dtmi:x:I{i + 1};1"] if i < n - 1 else []) for i in range(n)]
)
component_chains = st.integers(1, 1500).map(
    lambda n: [
        _interface(f"dtmi:x:C{i};1", contents=[{"@type": "Component", "name": "c", "schema": f"dtmi:x:C{i + 1};1"}]
                   if i < n - 1 else [])
        for i in range(n)
    ]
)  # fmt: skip


@pytest.mark.timeout(120)
@FUZZ
@given(
    st.one_of(
        dtdl_like,
        st.lists(dtdl_like, max_size=3),
        deep_schemas,
        deep_inline.map(lambda i: [{**i, "@context": CTX}] if isinstance(i, dict) else [i]),
        extends_chains,
        component_chains,
    )
)
def test_the_dtdl_parser_answers_problems_never_raises(document: Any) -> None:
    documents = document if isinstance(document, list) else [document]
    with bounded():
        problems = validate(documents)
    assert all(p.message for p in problems)


# -- the query language -------------------------------------------------------------------------------------------
QUERY_WORDS = ["SELECT", "FROM", "DIGITALTWINS", "WHERE", "JOIN", "RELATED", "AND", "OR", "NOT", "T", "R", "*",
               "COUNT()", "TOP(3)", "IS_OF_MODEL(T, 'dtmi:x;1')", "T.height", ">", "=", "'x'", "1.5", "(", ")",
               "ST_WITHIN(T.geometry, 'POLYGON((0 0, 1 0, 1 1, 0 0))')", "IN", "[1, 2]", ",", "."]  # fmt: skip
deep_queries = st.tuples(DEEP, st.sampled_from(["(", "NOT ", "[", "-"])).map(
    lambda d: (
        "SELECT * FROM DIGITALTWINS T WHERE " + d[1] * d[0] + "T.a = 1" + {"(": ")", "[": "]"}.get(d[1], "") * d[0]
    )
)


@pytest.mark.timeout(120)
@FUZZ
@given(
    st.one_of(st.text(max_size=200), st.lists(st.sampled_from(QUERY_WORDS), max_size=25).map(" ".join), deep_queries)
)
def test_the_query_language_parses_or_says_where_it_stopped(text: str) -> None:
    with bounded():
        try:
            parse(text)
        except InvalidInput as error:
            assert error.detail and error.problems


# -- the payload mapping and SenML ------------------------------------------------------------------------------
FALLBACK = [{"source": "+/{twin}/{name}", "twin": "{twin}", "telemetry": "{name}", "value": "v", "timestamp": "t"}]
JMES_PIECES = ["a", "b.c", "[0]", "[*]", "[?v > `1`]", "|", "&&", "||", "!", "(", ")", "[", "]", "{k: v}", "@",
               "length(@)", "`[[[]]]`", "'x'", "==", ".", "*", "-"]  # fmt: skip
expressions = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(JMES_PIECES), max_size=40).map("".join),
    st.tuples(DEEP, st.sampled_from(["(", "!", "[", "a|", "{a:", "abs("])).map(lambda d: d[1] * d[0] + "a"),
)
templates = st.one_of(
    st.sampled_from(["{twin}", "pump-{twin}", "{0}", "{twin.x}", "{", "}", "{twin!r}"]), st.text(max_size=12)
)
mapping_configs = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"source": st.sampled_from(["+/{twin}/{name}", "a/#", "{twin}"]), "twin": templates},
        optional={
            "telemetry": templates,
            "format": st.sampled_from(["json", "number", "senml", "xml"]),
            "value": expressions,
            "timestamp": expressions,
            "unit": expressions,
            "quality": expressions,
        },
    ).map(lambda c: [c]),
)  # fmt: skip


@pytest.mark.timeout(120)
@FUZZ
@given(mapping_configs, st.binary(max_size=300) | json_values.map(lambda v: orjson.dumps(v, default=str)),
       st.sampled_from(["x/p1/flow", "a/b", "p1", ""]) | st.text(max_size=30))  # fmt: skip
def test_the_payload_mapping_maps_or_rejects_with_a_reason(config: Any, payload: bytes, source: str) -> None:
    with bounded():
        try:
            mapper = Mapper.from_config(config)
        except InvalidInput as error:
            assert error.problems and all(p.message for p in error.problems)
            mapper = Mapper.from_config(FALLBACK)
        try:
            mapper.map(RawMessage(source, payload, 0))
        except MappingError as error:
            assert str(error)


senml_records = st.fixed_dictionaries(
    {},
    optional={
        "bn": st.sampled_from(["urn:dev:p1:", "p1/", ""]) | st.text(max_size=8) | json_values,
        "bt": INT64 | st.floats(allow_nan=True) | json_values,
        "n": st.sampled_from(["flow", "temp", ""]) | st.text(max_size=8) | json_values,
        "u": st.sampled_from(["Cel", "m", "%RH"]) | json_values,
        "v": st.floats(allow_nan=False) | INT64 | json_values,
        "vs": st.text(max_size=8),
        "vb": st.booleans(),
        "t": INT64 | st.floats(allow_nan=True) | json_values,
        "bu": st.text(max_size=4),
        "ver": INT64,
    },
)
# orjson writes at most 254 levels: deeper packs are written by hand, as an attacker would.
deep_packs = st.integers(0, 3000).map(lambda d: b"[" * d + b'{"n": "x", "v": 1}' + b"]" * d)
SENML = [{"source": "senml/{dev}", "twin": "{bn}", "format": "senml"},
         {"source": "pack/{dev}", "twin": "dev-{dev}", "telemetry": "{n}", "format": "senml"}]  # fmt: skip


@pytest.mark.timeout(120)
@FUZZ
@given(
    st.one_of(
        st.lists(senml_records, max_size=8).map(lambda p: orjson.dumps(p, default=str)),
        deep_packs,
        st.binary(max_size=200),
    ),
    st.sampled_from(["senml/d1", "pack/d1"]),
)  # fmt: skip
def test_senml_packs_map_or_are_rejected_with_a_reason(payload: bytes, source: str) -> None:
    mapper = Mapper.from_config(SENML)
    with bounded():
        try:
            readings = mapper.map(RawMessage(source, payload, 0))
        except MappingError as error:
            assert str(error)
        else:
            assert all(isinstance(r.reading, Reading) for r in readings)


# -- NDJSON telemetry bodies ---------------------------------------------------------------------------------------
ndjson_lines = st.one_of(
    json_values.map(lambda v: orjson.dumps(v, default=str)),
    st.fixed_dictionaries(
        {"name": st.sampled_from(["flow", ""]) | json_values, "ts": INT64 | st.text(max_size=25) | json_values},
        optional={"value": json_values, "values": json_values, "quality": json_values, "twinId": json_values},
    ).map(lambda r: orjson.dumps(r, default=str)),
    st.binary(max_size=40),
)
separators = st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n"])


@pytest.mark.timeout(120)
@FUZZ
@given(st.lists(st.tuples(ndjson_lines, separators), max_size=30), st.lists(st.integers(1, 64), min_size=1))
def test_ndjson_bodies_read_in_any_pieces_give_the_lines_and_readings_of_the_whole(
    lines: list[tuple[bytes, bytes]], cuts: list[int]
) -> None:
    body = b"".join(line + sep for line, sep in lines)
    with bounded():
        stream = NdjsonStream("p1", max_line=256)
        got: list[bytes] = []
        try:
            position, i = 0, 0
            while position < len(body):  # the pieces a network would deliver, of any sizes
                size = cuts[i % len(cuts)]
                got += stream.feed(body[position : position + size])
                position, i = position + size, i + 1
            got += stream.finish()
        except InvalidInput as error:  # only an over-long line stops the cutting
            assert "longer than" in error.detail
            assert any(len(line) > 256 for line in body.splitlines())
            return
        assert got == body.splitlines()
        try:
            readings = stream.readings(got)
        except InvalidInput as error:
            assert error.problems[0].pointer.startswith("/")
        else:
            assert all(r.twin_id == "p1" for r in readings)


# -- CityGML ------------------------------------------------------------------------------------------------------
GML_PIECES = [
    "<core:CityModel xmlns:core='http://www.opengis.net/citygml/2.0' xmlns:gml='http://www.opengis.net/gml' "
    "xmlns:bldg='http://www.opengis.net/citygml/building/2.0'>",
    "</core:CityModel>", "<core:cityObjectMember>", "</core:cityObjectMember>", "<bldg:Building gml:id='b1'>",
    "</bldg:Building>", "<bldg:measuredHeight uom='m'>", "12.5", "x", "</bldg:measuredHeight>",
    "<gml:Envelope srsName='http://www.opengis.net/def/crs/EPSG/0/6697'>", "</gml:Envelope>",
    "<gml:posList>", "35.0 139.0 0 35.0 139.1 0 35.1 139.1 0 35.0 139.0 0", "1 2", "</gml:posList>",
    "<bldg:lod0RoofEdge>", "</bldg:lod0RoofEdge>", "<gml:Polygon>", "</gml:Polygon>", "<!DOCTYPE x [<!ENTITY e 'e'>]>",
    "&e;", "<?xml version='1.0'?>",
]  # fmt: skip
HEAD, TAIL = (
    GML_PIECES[0] + "<core:cityObjectMember><bldg:Building gml:id='b1'>",
    "</bldg:Building></core:cityObjectMember></core:CityModel>",
)
deep_gml = nested(st.integers(0, 3000), lambda inner: "<bldg:x>" + inner + "</bldg:x>", "1").map(
    lambda body: HEAD + body + TAIL
)  # fmt: skip


@pytest.mark.timeout(120)
@FUZZ
@given(st.one_of(st.binary(max_size=400), st.lists(st.sampled_from(GML_PIECES), max_size=30).map("".join), deep_gml))
def test_the_citygml_importer_reads_or_refuses_with_a_clear_error(document: bytes | str) -> None:
    data = document.encode() if isinstance(document, str) else document
    with bounded():
        try:
            with iter_features(io.BytesIO(data), name="fuzz.gml") as reader:
                for _ in reader:
                    pass
        except FutagoError as error:
            assert error.detail
