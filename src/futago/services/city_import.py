"""Importing a city: CityGML/PLATEAU features become twins, linked and spatially joined.

The whole import is one unit of work: a malformed file anywhere stops it and nothing is
stored. Memory stays bounded: features stream from the reader and are written in batches;
only each building's footprint centre is kept (for the flood-zone join), never its geometry.

A gml:id is a twin id, so it must be unique in one import. The first feature of an id is imported;
a later one (another file, or the same file again under another name) is skipped, counted, and the
first few are named in the summary with both places, never written over the first or lost unsaid.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import orjson
import shapely

from futago.city.features import BuildingFeature, ReliefFeature, RoadFeature, WaterBodyFeature
from futago.city.twins import (
    DISTRICT,
    building_document,
    flood_zone_document,
    geojson,
    road_document,
)
from futago.core.events import CITY_IMPORTED as CITY_IMPORTED
from futago.core.events import Event, EventBus
from futago.core.ports import DatasetStore, UnitOfWork
from futago.core.twins import Relationship, Twin, now_iso
from futago.services import datasets
from futago.services.models import ModelService
from futago.services.twins import TwinService

BATCH = 2_000
DUPLICATES_NAMED = 20  # skipped duplicates named in the summary; the rest are counted
Progress = Callable[[float], None]  # the fraction of the input read, 0 to 1


@dataclass
class CityImportSummary:
    buildings: int = 0
    building_parts: int = 0
    measured_heights: int = 0
    height_max: float | None = None
    height_sum: float = 0.0
    flood_risk_buildings: int = 0
    bbox: list[float] = field(default_factory=lambda: [math.inf, math.inf, -math.inf, -math.inf])
    crs_in: set[str] = field(default_factory=set)
    lods: set[int] = field(default_factory=set)
    flood_zones: int = 0
    roads: int = 0
    seconds: float = 0.0
    duplicates: int = 0  # features skipped because an earlier one of this import had their gml:id
    duplicate_examples: list[dict[str, str]] = field(default_factory=list)

    def add_duplicate(self, gml_id: str, at: str, first_in: str) -> None:
        self.duplicates += 1
        if len(self.duplicate_examples) < DUPLICATES_NAMED:
            self.duplicate_examples.append({"gml_id": gml_id, "at": at, "first_in": first_in})

    def add_building(self, feature: BuildingFeature, footprint: shapely.Geometry | None) -> None:
        if feature.kind == "Building":
            self.buildings += 1
            if any(r.kind == "river_flooding" for r in feature.risks):
                self.flood_risk_buildings += 1
        else:
            self.building_parts += 1
        if feature.kind == "Building" and feature.measured_height is not None:
            self.measured_heights += 1
            self.height_sum += feature.measured_height
            self.height_max = max(self.height_max or -math.inf, feature.measured_height)
        self.lods |= feature.lods
        if footprint is not None:
            minx, miny, maxx, maxy = shapely.bounds(footprint).tolist()
            self.bbox = [
                min(self.bbox[0], minx),
                min(self.bbox[1], miny),
                max(self.bbox[2], maxx),
                max(self.bbox[3], maxy),
            ]

    def to_json(self) -> dict[str, Any]:
        """Exactly the keys of ``futago city import --json``; ``duplicates`` only when some were skipped."""
        report: dict[str, Any] = {
            "buildings": self.buildings,
            "building_parts": self.building_parts,
            "measured_heights": self.measured_heights,
            "height_max": self.height_max,
            "height_sum": round(self.height_sum, 6),
            "flood_risk_buildings": self.flood_risk_buildings,
            "bbox_wgs84": self.bbox if math.isfinite(self.bbox[0]) else None,
            "crs_in": sorted(self.crs_in)[0] if len(self.crs_in) == 1 else sorted(self.crs_in),
            "lods": sorted(self.lods),
        }
        if self.duplicates:
            report["duplicates"] = {"skipped": self.duplicates, "first": self.duplicate_examples}
        return report


class _Centres:
    """Footprint centres of the imported buildings, for the flood-zone join (no geometry kept)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lon: list[float] = []
        self.lat: list[float] = []
        # the building's own planned depth per (river, scale): L1 (planned) and L2 (largest) differ
        self.depth: list[dict[tuple[str, str], float]] = []

    def add(self, twin_id: str, footprint: shapely.Geometry | None, feature: BuildingFeature) -> None:
        if footprint is None or feature.kind != "Building":
            return
        centre = shapely.centroid(footprint)
        self.ids.append(twin_id)
        self.lon.append(centre.x)
        self.lat.append(centre.y)
        self.depth.append(
            {
                (r.description or "", r.scale or ""): r.depth
                for r in feature.risks
                if r.kind == "river_flooding" and r.depth is not None
            }
        )


class CityImportStore(DatasetStore, UnitOfWork, Protocol):
    """The roles a city import uses beside the twin service: one unit of work around the whole import, and the
    dataset record it leaves in the catalog."""


class CityImporter:
    def __init__(self, store: CityImportStore, models: ModelService, twins: TwinService, bus: EventBus) -> None:
        self.store = store
        self.models = models
        self.twins = twins
        self.bus = bus

    def ensure_models(self) -> None:
        self.models.add_missing(orjson.loads(resources.files("futago.city").joinpath("models.json").read_bytes()))

    def run(
        self,
        paths: Sequence[str | Path],
        progress: Progress | None = None,
        *,
        source: str | None = None,
        licence: str | None = None,
    ) -> CityImportSummary:
        """Import the files; a dataset record of them (files, SHA-256, CRS, counts, licence) is stored with
        the twins. ``source`` is plateau, generated or citygml (default: told from the file names), and
        ``licence`` overrides the source's default licence."""
        from futago.city.citygml import iter_sources
        from futago.city.reading import iter_city  # the reader (lxml) loads only when a city is imported

        started = time.perf_counter()
        datasets.check_source(source)
        names = [name for name, _, _ in iter_sources(paths)]
        files = datasets.source_files(names)  # hashed before the write transaction begins
        self.ensure_models()
        summary = CityImportSummary()
        centres = _Centres()
        zones: list[tuple[str, WaterBodyFeature]] = []
        with self.store.transaction():
            batch = _Batch(self.twins)
            for feature, district, crs in iter_city(paths, progress=progress):
                summary.crs_in.add(crs)
                if isinstance(feature, ReliefFeature):
                    continue  # the reader already used it for ground elevations; it is no twin
                first_in = batch.claim(feature.gml_id, feature.source)
                if first_in is not None:
                    summary.add_duplicate(feature.gml_id, feature.source, first_in)
                    continue
                if isinstance(feature, BuildingFeature):
                    document = building_document(feature)
                    footprint = shapely.geometry.shape(document["geometry"]) if "geometry" in document else None
                    summary.add_building(feature, footprint)
                    centres.add(feature.gml_id, footprint, feature)
                    batch.building(feature, document, district)
                elif isinstance(feature, WaterBodyFeature):
                    zones.append((feature.gml_id, feature))
                    batch.twin(feature.gml_id, flood_zone_document(feature))
                    summary.flood_zones += 1
                elif isinstance(feature, RoadFeature):
                    batch.twin(feature.gml_id, road_document(feature))
                    summary.roads += 1
            batch.flush()
            self._join_flood_zones(zones, centres)
            summary.seconds = time.perf_counter() - started
            self.store.put_dataset(
                _dataset_record(paths, files, source or datasets.detect_source(names), licence, summary, batch)
            )
        summary.seconds = time.perf_counter() - started
        self.bus.publish(Event(CITY_IMPORTED, now_iso(), data=summary.to_json(), about=("city",)))
        return summary

    def _join_flood_zones(self, zones: Sequence[tuple[str, WaterBodyFeature]], centres: _Centres) -> None:
        """inFloodZone: a building whose footprint centre lies in a zone, with the zone's rank and the
        building's own planned depth for that river (else the zone's)."""
        if not zones or not centres.ids:
            return
        lon, lat = np.asarray(centres.lon), np.asarray(centres.lat)
        rels: list[Relationship] = []
        for zone_id, zone in zones:
            shape = shapely.geometry.shape(geojson(zone.polygons)) if zone.polygons else None
            if shape is None:
                continue
            shapely.prepare(shape)
            risk = zone.risks[0] if zone.risks else None
            for index in np.flatnonzero(shapely.contains_xy(shape, lon, lat)):
                own = centres.depth[index].get((risk.description or "", risk.scale or "")) if risk else None
                depth = own if own is not None else (risk.depth if risk else None)
                properties: dict[str, Any] = {}
                if risk is not None and risk.rank is not None:
                    properties["rank"] = risk.rank
                if depth is not None:
                    properties["depth"] = depth
                rels.append(
                    Relationship(centres.ids[index], f"inFloodZone-{zone_id}", "inFloodZone", zone_id, properties)
                )
            for start in range(0, len(rels), 20_000):
                self.twins.import_relationships(rels[start : start + 20_000])
            rels = []


def _dataset_record(
    paths: Sequence[str | Path],
    files: Sequence[dict[str, Any]],
    source: str,
    licence: str | None,
    summary: CityImportSummary,
    batch: _Batch,
) -> dict[str, Any]:
    report = summary.to_json()
    districts = len(batch.districts)
    counts = {
        "twins": summary.buildings + summary.building_parts + summary.flood_zones + summary.roads + districts,
        "buildings": summary.buildings,
        "buildingParts": summary.building_parts,
        "floodZones": summary.flood_zones,
        "roads": summary.roads,
        "districts": districts,
        "floodRiskBuildings": summary.flood_risk_buildings,
    }
    if summary.duplicates:
        counts["duplicatesSkipped"] = summary.duplicates
    return datasets.city_import_record(
        paths=paths,
        files=files,
        source=source,
        licence=licence,
        imported=now_iso(),
        crs=sorted(summary.crs_in),
        records=counts,
        extent={"bboxWgs84": report["bbox_wgs84"], "lods": report["lods"]},
        seconds=summary.seconds,
    )


class _Batch:
    """Twins and their relationships, written a batch at a time."""

    def __init__(self, twins: TwinService) -> None:
        self.twins = twins
        self.documents: list[tuple[str, dict[str, Any]]] = []
        self.relationships: list[Relationship] = []
        self.districts: set[str] = set()
        # every twin id of this import -> the index of the file it came from: an int shared by all the ids
        # of a file, so a city of millions of features costs a dict slot each, not a string
        self._claimed: dict[str, int] = {}
        self._files: dict[str, int] = {}
        self._file_names: list[str] = []

    def claim(self, twin_id: str, source: str) -> str | None:
        """Take ``twin_id`` for the feature at ``source`` (file:line); None, or the file that took it first."""
        file = source.rpartition(":")[0] or source
        first = self._claimed.get(twin_id)
        if first is not None:
            return self._file_names[first]
        index = self._files.get(file)
        if index is None:
            index = self._files[file] = len(self._file_names)
            self._file_names.append(file)
        self._claimed[twin_id] = index
        return None

    def twin(self, twin_id: str, document: dict[str, Any]) -> None:
        self.documents.append((twin_id, document))
        if len(self.documents) >= BATCH:
            self.flush()

    def building(self, feature: BuildingFeature, document: dict[str, Any], district: str | None) -> None:
        if feature.kind == "BuildingPart" and feature.parent_id:
            self.relationships.append(Relationship(feature.gml_id, "partOf", "partOf", feature.parent_id))
            self.relationships.append(
                Relationship(feature.parent_id, f"hasPart-{feature.gml_id}", "hasPart", feature.gml_id)
            )
        elif district is not None:
            if district not in self.districts:
                if self.claim(district, district) is not None:  # a feature of the import took the id first
                    return self.twin(feature.gml_id, document)
                self.districts.add(district)
                self.documents.append(
                    (district, {"$metadata": {"$model": DISTRICT}, "meshCode": district.split("-")[-1]})
                )
            self.relationships.append(Relationship(feature.gml_id, "locatedIn", "locatedIn", district))
        self.twin(feature.gml_id, document)

    def flush(self) -> None:
        if self.documents:
            stored = self.twins.import_twins(self.documents, publish=False)
            known: dict[str, Twin] = {t.id: t for t in stored}
            self.documents = []
            # a part may come before its building is flushed: keep those for the next flush
            is_ready = [r.source_id in known or r.target_id in known for r in self.relationships]
            ready = [r for r, ok in zip(self.relationships, is_ready, strict=True) if ok]
            waiting = [r for r, ok in zip(self.relationships, is_ready, strict=True) if not ok]
            if ready:
                self.twins.import_relationships(ready, known)
            self.relationships = waiting
        elif self.relationships:
            self.twins.import_relationships(self.relationships)
            self.relationships = []
