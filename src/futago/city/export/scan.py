"""Reading city twins by area in bounded chunks, shared by every export.

The store answers a bbox scan with candidates whose bounds intersect the box; the exports
re-check the exact geometry, and page with ``after_id`` so that a district of any size streams
through in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from futago.core.dtdl.model_set import ModelSet
from futago.core.ports import TwinStore
from futago.core.twins import BBox, Twin, TwinScan

BUILDING = "dtmi:futago:city:AbstractBuilding;1"
FLOOD_ZONE = "dtmi:futago:city:FloodZone;1"
ROAD = "dtmi:futago:city:Road;1"
CITY_PREFIX = "dtmi:futago:city:"
CHUNK = 500


def model_family(models: ModelSet, model_id: str) -> frozenset[str]:
    """The model and every model extending it, so that sub-models (BuildingPart, a city's own) count."""
    return models.descendants(model_id) | {model_id}


def scan_with_geometry(
    store: TwinStore, model_ids: frozenset[str] | None, bbox: BBox | None, chunk: int = CHUNK
) -> Iterator[Twin]:
    """Twins of ``model_ids`` (None: any model) with a geometry whose bounds meet ``bbox``, in ascending id order."""
    after: str | None = None
    while True:
        page = store.scan_twins(TwinScan(model_ids=model_ids, bbox=bbox, after_id=after, limit=chunk))
        for twin in page:
            if twin.geometry is not None:
                yield twin
        if len(page) < chunk:
            return
        after = page[-1].id
