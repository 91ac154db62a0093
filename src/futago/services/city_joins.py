"""Spatial joins of a city import: a building whose footprint centre lies in a zone gets a relationship to it.

- ``inFloodZone`` to a FloodZone (rank; the building's own planned depth for that river and scale, else the zone's);
- ``inHazardArea`` to a SedimentDisasterProneArea (kind "landslide", zoneType = areaType label, disasterType);
- ``inZone`` to every urban-planning zone (any urf model: zoneClass, function).

Files come in any order, and a city arrives over several imports (zones today, buildings tomorrow), so the join
works against the store, not against what one import holds in memory:

- zones already stored when the import starts, and zones read earlier in it, are kept (a few thousand shapes at
  most) and each building is tested as it streams past;
- a zone read after buildings exist (in the store before the import, or earlier in it) is joined at the end by
  scanning the stored building twins inside its bounding box, a page at a time.

Nothing per building is kept: peak memory follows the zones and one page of buildings, not the city's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from futago.city.classes import HAZARD_AREA, urf_model_ids
from futago.city.twins import BUILDING, FLOOD_ZONE
from futago.core.twins import Relationship, TwinScan
from futago.services.twins import TwinService

PAGE = 5_000  # building twins read back per scan page


@dataclass(slots=True)
class Zone:
    id: str
    name: str  # the relationship: inFloodZone, inHazardArea or inZone
    shape: shapely.Geometry
    properties: dict[str, Any]  # of the relationship
    river: tuple[str, str] | None = None  # flood zones: (river, scale), to find the building's own depth


def zone_of(twin_id: str, document: dict[str, Any], urf: frozenset[str]) -> Zone | None:
    """The join zone of a twin document (or stored twin's JSON), None for a twin that is no zone."""
    model = document.get("$metadata", {}).get("$model")
    geometry = document.get("geometry")
    if not geometry or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    properties: dict[str, Any]
    river = None
    if model == FLOOD_ZONE:
        name = "inFloodZone"
        properties = {k: document[k] for k in ("rank", "depth") if document.get(k) is not None}
        river = (document.get("description") or "", document.get("scale") or "")
    elif model == HAZARD_AREA:
        name = "inHazardArea"
        properties = {"kind": "landslide"}
        for key, source in (("zoneType", "areaType"), ("disasterType", "disasterType")):
            if source in document:
                properties[key] = document[source]
    elif model in urf:
        name = "inZone"
        properties = {"zoneClass": model.removeprefix("dtmi:futago:city:").removesuffix(";1")}
        if document.get("function") is not None:
            properties["function"] = document["function"]
    else:
        return None
    shape = shapely.geometry.shape(geometry)
    if shape.is_empty:
        return None
    shapely.prepare(shape)
    return Zone(twin_id, name, shape, properties, river)


def relationship(building_id: str, risks: list[dict[str, Any]] | None, zone: Zone) -> Relationship:
    properties = dict(zone.properties)
    if zone.river is not None and risks:
        for risk in risks:  # the building's own planned depth for this river and scale wins over the zone's
            key = (risk.get("description") or "", risk.get("scale") or "")
            if risk.get("kind") == "river_flooding" and risk.get("depth") is not None and key == zone.river:
                properties["depth"] = risk["depth"]
    return Relationship(building_id, f"{zone.name}-{zone.id}", zone.name, zone.id, properties)


class ZoneJoin:
    def __init__(self, twins: TwinService) -> None:
        self.twins = twins
        self.urf = urf_model_ids()
        self.zones: list[Zone] = []
        self.later: list[Zone] = []  # zones met after buildings existed: joined by scanning the store
        self._tree: shapely.STRtree | None = None
        self._buildings_exist = False

    def zone_models(self) -> frozenset[str]:
        return self.urf | {FLOOD_ZONE, HAZARD_AREA}

    def start(self) -> None:
        """Take in the zones already stored; note whether buildings are."""
        store = self.twins.store
        self._buildings_exist = bool(store.scan_twins(TwinScan(model_ids=frozenset({BUILDING}), limit=1)))
        after = None
        while page := store.scan_twins(TwinScan(model_ids=self.zone_models(), after_id=after, limit=PAGE)):
            for twin in page:
                zone = zone_of(twin.id, twin.to_json(), self.urf)
                if zone is not None:
                    self.zones.append(zone)
            after = page[-1].id
        self._tree = None

    def add_zone(self, twin_id: str, document: dict[str, Any]) -> None:
        zone = zone_of(twin_id, document, self.urf)
        if zone is None:
            return
        self.zones.append(zone)
        self._tree = None
        if self._buildings_exist:
            self.later.append(zone)

    def saw_building(self) -> None:
        self._buildings_exist = True

    def building(self, twin_id: str, document: dict[str, Any], centre: tuple[float, float]) -> list[Relationship]:
        """The relationships of a building streaming past to the zones known now."""
        self._buildings_exist = True
        if not self.zones:
            return []
        if self._tree is None:
            self._tree = shapely.STRtree([zone.shape for zone in self.zones])
        hits = self._tree.query(shapely.Point(centre), predicate="within")
        risks = document.get("risks")
        return [relationship(twin_id, risks, self.zones[i]) for i in sorted(hits.tolist())]

    def finish(self) -> Iterator[list[Relationship]]:
        """Relationships of the zones met after buildings, a page of stored buildings at a time.

        Zones that overlap (flood zones of L1 and L2, nested urban-planning zones) are scanned together, once
        over their common box, rather than reading the same buildings again for each; zones far apart are
        scanned each over its own box."""
        if not self.later:
            return
        boxes = shapely.bounds(np.array([zone.shape for zone in self.later], dtype=object))
        union = (*boxes[:, :2].min(axis=0).tolist(), *boxes[:, 2:].max(axis=0).tolist())
        each = float(((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sum())
        if each < (union[2] - union[0]) * (union[3] - union[1]):
            for zone, box in zip(self.later, boxes.tolist(), strict=True):
                yield from _scan(self.twins, [zone], (box[0], box[1], box[2], box[3]))
        else:
            yield from _scan(self.twins, self.later, (union[0], union[1], union[2], union[3]))


def _scan(
    twins: TwinService, zones: list[Zone], box: tuple[float, float, float, float]
) -> Iterator[list[Relationship]]:
    tree = shapely.STRtree([zone.shape for zone in zones])
    scan = TwinScan(model_ids=frozenset({BUILDING}), bbox=box, limit=PAGE)
    after = None
    while page := twins.store.scan_twins(scan._replace(after_id=after)):
        after = page[-1].id
        shaped = [t for t in page if t.geometry]
        if not shaped:
            continue
        centres = shapely.centroid(np.array([shapely.geometry.shape(t.geometry) for t in shaped], dtype=object))
        buildings, hits = tree.query(centres, predicate="within")
        if len(buildings):
            yield [
                relationship(shaped[b].id, shaped[b].properties.get("risks"), zones[z])
                for b, z in zip(buildings.tolist(), hits.tolist(), strict=True)
            ]
