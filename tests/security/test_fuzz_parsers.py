"""Hypothesis fuzzing of what reads untrusted input: the CityGML importer, the payload mapping, the query language
and the DTDL parser. Each gives a result or a clear, futago-typed error: never a crash, never a hang (every test
carries a timeout)."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futago.city.citygml.reader import iter_features
from futago.core.dtdl.model_set import validate
from futago.core.errors import FutagoError
from futago.core.query import parse
from futago.ingest.mapping import Mapper, MappingError, RawMessage

FUZZ = settings(
    max_examples=int(os.environ.get("FUTAGO_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
DTDL_KEYS = ["@context", "@id", "@type", "contents", "name", "schema", "extends", "writable", "unit", "target",
             "displayName", "fields", "enumValues", "valueSchema", "elementSchema", "mapKey", "mapValue"]  # fmt: skip
DTDL_WORDS = ["dtmi:x:A;1", "Interface", "Property", "Telemetry", "double", "string", "Personal", "Object", "Map",
              "dtmi:dtdl:context;3", "dtmi:futago:extension:privacy;1"]  # fmt: skip
dtdl_like = st.recursive(
    st.sampled_from(DTDL_WORDS) | json_values,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(DTDL_KEYS), inner, max_size=6),
    max_leaves=30,
)
FALLBACK = [{"source": "+/+", "twin": "{1}", "telemetry": "{2}", "value": "v", "timestamp": "t"}]


@pytest.mark.timeout(120)
@FUZZ
@given(st.one_of(dtdl_like, st.lists(dtdl_like, max_size=3)))
def test_the_dtdl_parser_answers_problems_never_raises(document: Any) -> None:
    documents = document if isinstance(document, list) else [document]
    problems = validate(documents)
    assert all(p.message for p in problems)


QUERY_WORDS = ["SELECT", "FROM", "DIGITALTWINS", "WHERE", "JOIN", "RELATED", "AND", "OR", "NOT", "T", "R", "*",
               "COUNT()", "TOP(3)", "IS_OF_MODEL(T, 'dtmi:x;1')", "T.height", ">", "=", "'x'", "1.5", "(", ")",
               "ST_WITHIN(T.geometry, 'POLYGON((0 0, 1 0, 1 1, 0 0))')", "IN", "[1, 2]", ",", "."]  # fmt: skip


@pytest.mark.timeout(120)
@FUZZ
@given(st.one_of(st.text(max_size=200), st.lists(st.sampled_from(QUERY_WORDS), max_size=25).map(" ".join)))
def test_the_query_language_parses_or_says_where_it_stopped(text: str) -> None:
    try:
        parse(text)
    except FutagoError as error:
        assert error.detail


@pytest.mark.timeout(120)
@FUZZ
@given(
    json_values,
    st.binary(max_size=300) | json_values.map(lambda v: repr(v).encode()),
    st.text(max_size=30),
)
def test_the_payload_mapping_maps_or_rejects_with_a_reason(config: Any, payload: bytes, source: str) -> None:
    try:
        mapper = Mapper.from_config(config)
    except FutagoError as error:
        assert error.detail
        mapper = Mapper.from_config(
            [{"source": "+/+", "twin": "{1}", "telemetry": "{2}", "value": "v", "timestamp": "t"}]
        )
    try:
        mapper.map(RawMessage(source, payload, 0))
    except MappingError as error:
        assert str(error)


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


@pytest.mark.timeout(120)
@FUZZ
@given(st.one_of(st.binary(max_size=400), st.lists(st.sampled_from(GML_PIECES), max_size=30).map("".join)))
def test_the_citygml_importer_reads_or_refuses_with_a_clear_error(document: bytes | str) -> None:
    data = document.encode() if isinstance(document, str) else document
    try:
        with iter_features(io.BytesIO(data), name="fuzz.gml") as reader:
            for _ in reader:
                pass
    except FutagoError as error:
        assert error.detail
