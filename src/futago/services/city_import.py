"""Importing a city: CityGML/PLATEAU features become twins, linked and spatially joined.

The whole import is one unit of work: a malformed file anywhere stops it and nothing is stored. Memory stays
bounded: features stream from the reader and are written in batches, and the spatial joins read buildings back
from the store (``city_joins``), so nothing is kept per building.

Nothing read is dropped unsaid: the reader counts every top-level city object in a ``ReadTally``; a class
futago does not model is counted in ``skipped`` with its reason and an example gml:id, and a value that does
not fit its model is kept as text and reported as a warning (feature id and path).

A gml:id is a twin id, so it must be unique in one import. The first feature of an id is imported;
a later one (another file, or the same file again under another name) is skipped, counted, and the
first few are named in the summary with both places, never written over the first or lost unsaid.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import orjson

from futago.city.classes import model_info, model_of
from futago.city.features import (
    BuildingFeature,
    CityFeature,
    CityObjectFeature,
    ReadTally,
    ReliefFeature,
    RoadFeature,
    WaterBodyFeature,
)
from futago.city.objects import city_object_document
from futago.city.twins import BuildingRecord, building_records, flood_zone_document, road_document
from futago.core.datasets import DatasetRecord
from futago.core.errors import Conflict
from futago.core.events import CITY_IMPORTED as CITY_IMPORTED
from futago.core.events import Event, EventBus
from futago.core.ports import DatasetStore, UnitOfWork
from futago.core.twins import now_iso
from futago.services import datasets
from futago.services.city_batch import BATCH as BATCH
from futago.services.city_batch import Batch
from futago.services.city_joins import ZoneJoin
from futago.services.models import ModelService
from futago.services.twins import TwinService

DUPLICATES_NAMED = 20  # skipped duplicates named in the summary; the rest are counted
RELATIONSHIPS_AT_ONCE = 20_000
Progress = Callable[[float], None]  # the fraction of the input read, 0 to 1
Read = Iterator[tuple[CityFeature, str | None, str]]


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
    city_objects: int = 0  # twins of the other classes (urf, luse, lsld, frn, ...)
    twins: int = 0  # created or updated
    tally: ReadTally = field(default_factory=ReadTally)

    def add_duplicate(self, gml_id: str, at: str, first_in: str) -> None:
        self.duplicates += 1
        if len(self.duplicate_examples) < DUPLICATES_NAMED:
            self.duplicate_examples.append({"gml_id": gml_id, "at": at, "first_in": first_in})

    def add_building(self, record: BuildingRecord) -> None:
        document = record.document
        if record.kind == "Building":
            self.buildings += 1
            if record.flood_risk:
                self.flood_risk_buildings += 1
        else:
            self.building_parts += 1
        height = document.get("measuredHeight")
        if record.kind == "Building" and height is not None:
            self.measured_heights += 1
            self.height_sum += height
            self.height_max = max(self.height_max or -math.inf, height)
        self.lods.update(document.get("lods", ()))
        if record.bounds is not None:
            minx, miny, maxx, maxy = record.bounds
            self.bbox = [
                min(self.bbox[0], minx),
                min(self.bbox[1], miny),
                max(self.bbox[2], maxx),
                max(self.bbox[3], maxy),
            ]

    def to_json(self) -> dict[str, Any]:
        """The keys of ``futago city import --json``; ``duplicates`` only when some were skipped, ``warning_examples``
        (the first 20) only when there were warnings."""
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
        tally = self.tally
        report["features"] = dict(sorted(tally.features.items()))
        report["twins"] = self.twins
        report["skipped"] = {
            reason + (f" (e.g. gml:id {example})" if (example := tally.skipped_examples[reason]) else ""): count
            for reason, count in tally.skipped.items()
        }
        report["warnings"] = tally.warning_count
        if tally.warning_count:
            report["warning_examples"] = [w.to_json() for w in tally.warnings]
        return report


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
        """Store the city models this futago bundles; a store holding one of them with other content (made by a
        futago whose bundled model changed without a new version) is refused before anything is written,
        since its twins would be checked against a model this reader does not write for."""
        documents = orjson.loads(resources.files("futago.city").joinpath("models.json").read_bytes())
        differing = self.models.differing(documents)
        if differing:
            raise Conflict(
                f"this store holds {len(differing)} city model(s) with other content than this futago's "
                f"(first: '{differing[0]}'), written by another futago version; models are immutable, so "
                "import into a new store (--db), or delete the city twins and those models first"
            )
        self.models.add_missing(documents)

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

        started = time.perf_counter()
        datasets.check_source(source)
        names = [name for name, _, _ in iter_sources(paths)]
        files = datasets.source_files(names)  # hashed before the write transaction begins
        self.ensure_models()
        summary = CityImportSummary()
        with self.store.transaction():
            run = _Run(self.twins, summary)
            for feature, district, crs in _read(paths, progress, summary.tally):
                summary.crs_in.add(crs)
                run.feature(feature, district)
            run.finish()
            if not summary.tally.features and not summary.tally.skipped:
                summary.tally.skip(f"no city object in {', '.join(names) or 'the input'}", "")
            summary.seconds = time.perf_counter() - started
            self.store.put_dataset(
                _dataset_record(paths, files, source or datasets.detect_source(names), licence, summary, run.batch)
            )
        summary.seconds = time.perf_counter() - started
        self.bus.publish(Event(CITY_IMPORTED, now_iso(), data=summary.to_json(), about=("city",)))
        return summary


def _read(paths: Sequence[str | Path], progress: Progress | None, tally: ReadTally) -> Read:
    from futago.city.reading import iter_city  # the reader (lxml) loads only when a city is imported

    return iter_city(paths, progress=progress, tally=tally, records=True)


class _Run:
    """One import's features becoming twins, relationships and joins."""

    def __init__(self, twins: TwinService, summary: CityImportSummary) -> None:
        self.twins = twins
        self.summary = summary
        self.tally = summary.tally
        self.batch = Batch(twins)
        self.join = ZoneJoin(twins)
        self.join.start()

    def feature(self, feature: CityFeature, district: str | None) -> None:
        if isinstance(feature, ReliefFeature):
            return  # the reader already used it for ground elevations; it is no twin
        if isinstance(feature, CityObjectFeature):
            self.city_object(feature, None)
            return
        if isinstance(feature, BuildingFeature):  # read without records: made here
            feature = building_records([feature])[0]
        if not self._claimed(feature.gml_id, feature.source):
            return
        if isinstance(feature, BuildingRecord):
            self.building(feature, district)
        elif isinstance(feature, WaterBodyFeature):
            document = flood_zone_document(feature)
            self.batch.twin(feature.gml_id, document)
            self.join.add_zone(feature.gml_id, document)
            self.summary.flood_zones += 1
        elif isinstance(feature, RoadFeature):
            self.batch.twin(feature.gml_id, road_document(feature))
            self.summary.roads += 1

    def _claimed(self, gml_id: str, source: str) -> bool:
        first_in = self.batch.claim(gml_id, source)
        if first_in is not None:
            self.summary.add_duplicate(gml_id, source, first_in)
        return first_in is None

    def building(self, feature: BuildingRecord, district: str | None) -> None:
        document = feature.document
        self.summary.add_building(feature)
        batch = self.batch
        if feature.kind == "BuildingPart" and feature.parent_id:
            batch.link(feature.gml_id, "partOf", feature.parent_id)
            batch.link(feature.parent_id, "hasPart", feature.gml_id)
        elif district is not None:
            batch.district(feature.gml_id, district)
        batch.twin(feature.gml_id, document)
        if feature.centre is not None and feature.kind == "Building":
            if self.join.zones:
                batch.relationships += self.join.building(feature.gml_id, document, feature.centre)
            else:
                self.join.saw_building()  # no zone known yet: a zone met later scans the store

    def city_object(self, feature: CityObjectFeature, parent_id: str | None) -> None:
        model_id = model_of(feature.module, feature.kind)
        if model_id is None:
            self.tally.skip(f"{feature.module}:{feature.kind}: futago has no model for this class", feature.gml_id)
            return
        if not self._claimed(feature.gml_id, feature.source):
            return
        document = city_object_document(feature, model_info(model_id), self.tally.warn)
        self.batch.twin(feature.gml_id, document)
        self.summary.city_objects += 1
        self.join.add_zone(feature.gml_id, document)
        parent = feature.parent_id or parent_id
        if parent:
            self.batch.link(feature.gml_id, "partOf", parent)
            down = "hasInstallation" if feature.kind == "BuildingInstallation" else "hasPart"
            self.batch.link(parent, down, feature.gml_id)
        for part in feature.parts:
            self.city_object(part, feature.gml_id)

    def finish(self) -> None:
        self.batch.finish(self.tally.warn)
        for relationships in self.join.finish():
            for start in range(0, len(relationships), RELATIONSHIPS_AT_ONCE):
                self.twins.import_relationships(relationships[start : start + RELATIONSHIPS_AT_ONCE])
        self.summary.twins = self.batch.written


def _dataset_record(
    paths: Sequence[str | Path],
    files: Sequence[dict[str, Any]],
    source: str,
    licence: str | None,
    summary: CityImportSummary,
    batch: Batch,
) -> DatasetRecord:
    report = summary.to_json()
    counts = {
        "twins": summary.twins,
        "buildings": summary.buildings,
        "buildingParts": summary.building_parts,
        "floodZones": summary.flood_zones,
        "roads": summary.roads,
        "cityObjects": summary.city_objects,
        "districts": len(batch.districts),
        "floodRiskBuildings": summary.flood_risk_buildings,
        "features": sum(summary.tally.features.values()),
        "skipped": sum(summary.tally.skipped.values()),
        "warnings": summary.tally.warning_count,
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
