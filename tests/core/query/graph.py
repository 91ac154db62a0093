"""A small building graph shared by the query tests.

site -contains-> building -contains-> floor -contains-> room/sensor, with sensors
of two models (TempSensor extends Sensor) and weighted relationships.
"""

from __future__ import annotations

from futago.core.twins import Relationship, Twin

from .memory_source import Catalog, MemorySource

SENSOR = "dtmi:x:Sensor;1"
TEMP = "dtmi:x:TempSensor;1"
SITE = "dtmi:x:Site;1"
BUILDING = "dtmi:x:Building;1"
FLOOR = "dtmi:x:Floor;1"

CATALOG = Catalog({TEMP: SENSOR})


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def build() -> MemorySource:
    twins = [
        Twin("site1", SITE, {"name": "Marunouchi"}, point(139.7671, 35.6812)),
        Twin("b1", BUILDING, {"name": "North", "floors": 2}, point(139.7671, 35.6820)),
        Twin("b2", BUILDING, {"name": "South", "floors": 1}, point(139.7671, 35.6800)),
        Twin("f1", FLOOR, {"level": 1}),
        Twin("f2", FLOOR, {"level": 2}),
        Twin("f3", FLOOR, {"level": 1}),
        Twin("s1", TEMP, {"temperature": 21.5, "unit": "C", "meta": {"vendor": "acme", "ok": True}}),
        Twin("s2", TEMP, {"temperature": 18.0, "unit": "C", "meta": {"vendor": "bolt", "ok": False}}),
        Twin("s3", SENSOR, {"temperature": 25, "label": None}),
        Twin("s4", SENSOR, {"temperature": "n/a"}),
        Twin("s5", TEMP, {}, point(139.7005, 35.6896)),
    ]
    rels = [
        Relationship("site1", "r-s-b1", "contains", "b1", {"since": 2001}),
        Relationship("site1", "r-s-b2", "contains", "b2", {"since": 2010}),
        Relationship("b1", "r-b1-f1", "contains", "f1"),
        Relationship("b1", "r-b1-f2", "contains", "f2"),
        Relationship("b2", "r-b2-f3", "contains", "f3"),
        Relationship("f1", "r-f1-s1", "contains", "s1", {"weight": 1}),
        Relationship("f1", "r-f1-s2", "contains", "s2", {"weight": 5}),
        Relationship("f2", "r-f2-s3", "contains", "s3", {"weight": 3}),
        Relationship("f3", "r-f3-s4", "contains", "s4", {"weight": 9}),
        Relationship("f3", "r-f3-s5", "feeds", "s5", {"weight": 9}),
        Relationship("b1", "r-b1-gone", "contains", "missing-twin"),
    ]
    return MemorySource(twins, rels)
