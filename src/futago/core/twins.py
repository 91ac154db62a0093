"""Twins and relationships: the aggregates of the twin graph.

Their JSON form follows Azure Digital Twins (``$dtId``, ``$etag``, ``$metadata.$model``),
so that ADT users recognise it. A twin may also carry a GeoJSON ``geometry`` in WGS84
(longitude, latitude); it is a system member, not a DTDL property, and is spatially indexed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

SYSTEM_KEYS = frozenset({"$dtId", "$etag", "$metadata", "$telemetry", "geometry"})


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_etag() -> str:
    return f'W/"{uuid.uuid4()}"'


@dataclass(slots=True)
class Twin:
    id: str
    model: str
    properties: dict[str, Any] = field(default_factory=dict)
    geometry: dict[str, Any] | None = None
    etag: str = ""
    last_updated: str = ""

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "$dtId": self.id,
            "$etag": self.etag,
            "$metadata": {"$model": self.model, "$lastUpdateTime": self.last_updated},
        }
        if self.geometry is not None:
            doc["geometry"] = self.geometry
        doc.update(self.properties)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any], twin_id: str | None = None) -> Twin:
        """Build a twin from its ADT-style JSON; the caller validates it against the model."""
        metadata = doc.get("$metadata") or {}
        model = metadata.get("$model", "") if isinstance(metadata, dict) else ""
        return cls(
            id=twin_id if twin_id is not None else str(doc.get("$dtId", "")),
            model=model if isinstance(model, str) else "",
            properties={k: v for k, v in doc.items() if k not in SYSTEM_KEYS},
            geometry=doc.get("geometry"),
            etag=str(doc.get("$etag", "")),
            last_updated=str(metadata.get("$lastUpdateTime", "")) if isinstance(metadata, dict) else "",
        )


REL_SYSTEM_KEYS = frozenset({"$relationshipId", "$sourceId", "$targetId", "$relationshipName", "$etag"})


@dataclass(slots=True)
class Relationship:
    source_id: str
    id: str
    name: str
    target_id: str
    properties: dict[str, Any] = field(default_factory=dict)
    etag: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "$relationshipId": self.id,
            "$sourceId": self.source_id,
            "$targetId": self.target_id,
            "$relationshipName": self.name,
            "$etag": self.etag,
            **self.properties,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], source_id: str, rel_id: str) -> Relationship:
        return cls(
            source_id=source_id,
            id=rel_id,
            name=str(doc.get("$relationshipName", "")),
            target_id=str(doc.get("$targetId", "")),
            properties={k: v for k, v in doc.items() if k not in REL_SYSTEM_KEYS},
            etag=str(doc.get("$etag", "")),
        )


BBox = tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat (WGS84)


class PropertyFilter(NamedTuple):
    """``properties[path] <op> value`` for a number or a string value, or, with the ops
    ``array_contains`` / ``array_contains_partial``, an array at ``path`` holding an element equal to
    (or, partial, containing the members of) the JSON text ``value`` (the query's ARRAY_CONTAINS/EXISTS).

    A store may use it to narrow a scan (in its own SQL dialect) or ignore it: the query
    engine re-checks every row exactly. It must never drop a twin for which the comparison
    holds, and may keep extra ones.
    """

    path: tuple[str, ...]
    op: str  # one of = < <= > >= array_contains array_contains_partial
    value: float | int | str


class TwinScan(NamedTuple):
    """What a query can push down to the store; each ``None`` means "no restriction".

    Results come back in ascending twin id order, so ``after_id`` resumes a scan.
    """

    model_ids: frozenset[str] | None = None
    twin_ids: frozenset[str] | None = None
    bbox: BBox | None = None
    after_id: str | None = None
    limit: int | None = None
    properties: tuple[PropertyFilter, ...] = ()
    # Twins whose further NGSI-LD types (the ``types`` of their ``$ngsild`` record: an entity's types after the
    # one its model stands for) hold one of these IRIs. Stores index the few twins that have any, so a scan by
    # them costs what those twins cost, whatever the graph's size.
    extra_types: frozenset[str] | None = None
