"""Temporal instances that are not telemetry readings: every attribute kind, datasetId, unitCode, sub-attributes.

A plain Property instance (a value at an ``observedAt``, nothing else) is a telemetry reading, as before; any
other instance (Relationship, GeoProperty, LanguageProperty, JsonProperty, VocabProperty, ListProperty,
ListRelationship, or a Property with a datasetId, a unitCode or sub-attributes) is kept whole, expanded, in the
store's ``ngsild_temporal_instances`` table (both adapters), with its own ``instanceId`` and its createdAt and
modifiedAt. This module turns those rows into the three temporal representations (GS CIM 009 4.5.x temporal,
5.6.11 - 5.6.14, 6.18 - 6.24); ``temporal.py`` joins them with the telemetry part of the same attribute.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import orjson

from futago.core.telemetry import SeriesData, parse_timestamp
from futago.services.ngsild.aggregation import aggregate, answer_time
from futago.services.ngsild.attributes import VALUE_MEMBER, Instance, Rendering
from futago.services.ngsild.context import TermMap
from futago.services.ngsild.errors import BadRequestData

#: How many instances one write may add (over every attribute), and how many one attribute of an entity keeps.
MAX_WRITE = 10_000
MAX_PER_ATTRIBUTE = 100_000
MAX_INSTANCE_BYTES = 64 * 1024  # one instance's JSON, sub-attributes included
#: The temporalValues member of each kind (4.5.x simplified temporal representation).
PLURAL = {
    "Property": "values",
    "GeoProperty": "values",
    "Relationship": "objects",
    "LanguageProperty": "languageMaps",
    "JsonProperty": "jsons",
    "VocabProperty": "vocabs",
    "ListProperty": "valueLists",
    "ListRelationship": "objectLists",
}
#: The kinds whose temporalValues pairs carry the bare value; the others wrap it in its member ({"json": ...}).
BARE = frozenset({"Property", "GeoProperty", "Relationship"})
_STORED = frozenset({"type", "datasetId", "observedAt", "unitCode", "objectType", "sub", *VALUE_MEMBER.values()})
#: An instanceId futago gives a kept-apart instance.
INSTANCE_ID_PREFIX = "urn:ngsi-ld:Instance:"


@runtime_checkable
class InstanceStore(Protocol):
    """The store's ``ngsild_temporal_instances`` table (``futago.store.sql.ngsild_instances``)."""

    def add_temporal_instances(self, rows: list[Any], per_attribute: int) -> None: ...

    def temporal_instance_counts(
        self, twin_id: str, time_property: str, start_us: int | None, end_us: int | None
    ) -> dict[str, int]: ...

    def temporal_instances(
        self,
        twin_id: str,
        attr: str,
        time_property: str,
        window: tuple[int | None, int | None],
        limit: int,
        newest_first: bool = False,
    ) -> list[Any]: ...

    def temporal_instance_attrs(self, twin_id: str) -> set[str]: ...

    def get_temporal_instance(self, twin_id: str, attr: str, instance_id: str) -> Any: ...

    def replace_temporal_instance(self, twin_id: str, attr: str, row: Any) -> bool: ...

    def delete_temporal_instances(
        self, twin_id: str, attr: str | None = None, instance_id: str | None = None, dataset_id: str | None = None
    ) -> int: ...


@dataclass
class Kept:
    """One stored instance, read back: its times in µs and the instance (expanded, without system members)."""

    instance_id: str
    dataset_id: str
    observed_us: int
    created_us: int
    modified_us: int
    instance: Instance

    def at(self, time_property: str) -> int:
        if time_property == "createdAt":
            return self.created_us
        if time_property == "modifiedAt":
            return self.modified_us
        return self.observed_us

    @property
    def kind(self) -> str:
        return str(self.instance.get("type", "Property"))

    @property
    def value(self) -> Any:
        return self.instance.get(VALUE_MEMBER.get(self.kind, "value"))


def kept_apart(instance: Instance) -> bool:
    """Whether an instance goes to the instances table: all but a plain Property reading."""
    if instance.get("type", "Property") != "Property":
        return True
    return any(key in instance for key in ("datasetId", "unitCode", "sub", "objectType"))


def new_row(twin_id: str, iri: str, instance: Instance, now_us: int) -> tuple[Any, ...]:
    """The store row of a new instance (the instanceId futago's, whatever the client sent)."""
    stored = {k: v for k, v in instance.items() if k in _STORED}
    body = orjson.dumps(stored).decode()
    if len(body) > MAX_INSTANCE_BYTES:
        raise BadRequestData(f"an instance of {iri} is over {MAX_INSTANCE_BYTES // 1024} KiB")
    observed = parse_timestamp(instance["observedAt"])
    instance_id = f"{INSTANCE_ID_PREFIX}{uuid.uuid4()}"
    return (twin_id, iri, instance_id, stored.get("datasetId", ""), observed, now_us, now_us, body)


def kept(row: Any) -> Kept:
    instance_id, dataset_id, observed_us, created_us, modified_us, body = row
    return Kept(instance_id, dataset_id, observed_us, created_us, modified_us, orjson.loads(body))


def normalized(rows: list[Kept], terms: TermMap, sys_attrs: bool) -> list[dict[str, Any]]:
    """Each instance as the entity API writes it, with its instanceId (and createdAt, modifiedAt under sysAttrs)."""
    rendering = Rendering(terms, "normalized", sys_attrs)
    out = []
    for row in rows:
        instance = dict(row.instance)
        if sys_attrs:
            instance["createdAt"] = answer_time(row.created_us)
            instance["modifiedAt"] = answer_time(row.modified_us)
        shown = rendering.instance(instance)
        shown["instanceId"] = row.instance_id
        out.append(shown)
    return out


def _by_dataset(rows: list[Kept]) -> dict[str, list[Kept]]:
    groups: dict[str, list[Kept]] = {}
    for row in rows:
        groups.setdefault(row.dataset_id, []).append(row)
    return dict(sorted(groups.items()))  # the default instance ('') first


def _pair_value(row: Kept, terms: TermMap) -> Any:
    value = row.value
    if row.kind == "VocabProperty":
        value = [terms.compact(v) for v in value] if isinstance(value, list) else terms.compact(str(value))
    if row.kind in BARE:
        return value
    return {VALUE_MEMBER[row.kind]: value}


def temporal_values(
    rows: list[Kept], terms: TermMap, time_property: str, readings: list[tuple[int, Any]] | None = None
) -> list[dict[str, Any]]:
    """One entry per datasetId: ``{"type", "datasetId"?, "<values member>": [[value, time], ...]}``; ``readings``
    (the telemetry's (µs, value)) join the default instance's pairs when it is a Property."""
    out = []
    groups = _by_dataset(rows)
    if readings and "" not in groups:
        out.append({"type": "Property", "values": [[v, answer_time(t)] for t, v in readings]})
    for dataset, group in groups.items():
        kind = group[-1].kind
        pairs = [(row.at(time_property), _pair_value(row, terms)) for row in group]
        if dataset == "" and readings and kind == "Property":
            pairs = sorted(pairs + readings, key=lambda p: p[0])
        entry: dict[str, Any] = {"type": kind}
        if dataset:
            entry["datasetId"] = terms.compact(dataset)
        entry[PLURAL[kind]] = [[v, answer_time(t)] for t, v in pairs]
        out.append(entry)
    return out


def aggregated(
    rows: list[Kept],
    terms: TermMap,
    time_property: str,
    window: tuple[int | None, int | None, int | None],
    methods: list[str],
    readings: list[tuple[int, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Each datasetId's aggregates over its values (``window``: origin, period, end; None where open). A
    Property aggregates its values as the telemetry does; other kinds aggregate what their value member holds
    (an object's URI, a language map, ...): totalCount and distinctCount count them, min and max compare strings,
    the numeric methods are null where the values are no numbers."""
    out = []
    groups = _by_dataset(rows)
    pending: list[tuple[str, str, list[tuple[int, Any]]]] = []
    if readings and "" not in groups:
        pending.append(("", "Property", readings))
    for dataset, group in groups.items():
        pairs = [(row.at(time_property), row.value) for row in group]
        kind = group[-1].kind
        if dataset == "" and readings and kind == "Property":
            pairs = pairs + readings
        pending.append((dataset, kind, sorted(pairs, key=lambda p: p[0])))
    origin, period, end = window
    for dataset, kind, pairs in pending:
        ts = np.asarray([t for t, _ in pairs], dtype=np.int64)
        start = origin if origin is not None else int(ts[0])
        until = end if end is not None else int(ts[-1])
        length = period if period is not None else until - start + 1
        data = SeriesData("json", ts, [v for _, v in pairs], np.zeros(len(ts), dtype=np.uint8))
        entry: dict[str, Any] = {"type": kind}
        if dataset:
            entry["datasetId"] = terms.compact(dataset)
        entry.update(aggregate(data, methods, start, length, until if period is None else end))  # as readings
        out.append(entry)
    return out


def merged(old: Instance, new: Instance) -> Instance:
    """An instance after PATCH: the new members over the old ones (sub-attributes merged by name)."""
    out = {**old, **{k: v for k, v in new.items() if k != "sub"}}
    if "type" in new and new["type"] != old.get("type"):
        out.pop(VALUE_MEMBER.get(str(old.get("type")), "value"), None)
        out[VALUE_MEMBER[new["type"]]] = new[VALUE_MEMBER[new["type"]]]
    if new.get("sub"):
        out["sub"] = {**(old.get("sub") or {}), **new["sub"]}
    return out


def single(entries: list[dict[str, Any]]) -> Any:
    """An attribute of one instance group is answered as an object, several (datasetIds) as an array."""
    return entries[0] if len(entries) == 1 else entries
