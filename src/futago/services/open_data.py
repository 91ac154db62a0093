"""Open-data export of a non-personal layer (buildings, flood zones, roads...) as GeoJSON, CSV or 3D Tiles, with its
licence, recorded in the data catalog.

A layer is the twins of a model (and its sub-models) with a geometry. A layer whose model marks anything Personal
is refused: people's data leaves only as privacy-safe statistics (``/privacy/releases``). Beside the data the export
writes ``metadata.json`` (licence, attribution, the layer, the files and their SHA-256), and the catalog gets an
``open_data`` record with the same, so that what was published, when and under which terms stays on record.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from futago import __version__
from futago.city.export import geojson, tiles3d
from futago.city.export.scan import BUILDING
from futago.core.datasets import DatasetRecord
from futago.core.dtdl.model_set import ModelSet
from futago.core.errors import InvalidInput
from futago.core.ports import DatasetStore, TwinStore
from futago.core.problems import Problem
from futago.services.catalog import OPEN_DATA

FORMATS = ("geojson", "csv", "3dtiles")
WORLD = (-180.0, -90.0, 180.0, 90.0)


@dataclass(frozen=True, slots=True)
class OpenLicence:
    name: str
    url: str


OPEN_LICENCES = {
    "CC-BY-4.0": OpenLicence("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "ODbL-1.0": OpenLicence("ODbL 1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
    "CC0-1.0": OpenLicence("CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
}
LAYERS = {"buildings": BUILDING, "flood_zones": "dtmi:futago:city:FloodZone;1", "roads": "dtmi:futago:city:Road;1"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _csv(twins: list[Any], path: Path) -> None:
    """One row per twin: id, model, the centre of its geometry's bounds, and every scalar property."""
    rows = [geojson.map_properties(t) for t in twins]
    columns = ["id", "model", "lon", "lat", *sorted({k for r in rows for k in r} - {"id", "model"})]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        for twin, row in zip(twins, rows, strict=True):
            west, south, east, north = geojson.coordinate_bounds(twin.geometry["coordinates"])
            writer.writerow({**row, "lon": round((west + east) / 2, 7), "lat": round((south + north) / 2, 7)})


class OpenDataStore(TwinStore, DatasetStore, Protocol):
    """The roles an export uses: the twins of the layer, and the catalog that records what was published."""


def export_layer(
    store: OpenDataStore,
    models: ModelSet,
    has_personal: Callable[[str], bool],
    layer: str,
    fmt: str,
    licence: str,
    out: Path,
    attribution: str | None = None,
) -> dict[str, Any]:
    """Write the layer under ``out`` and record it in the catalog; returns the catalog record."""
    model = LAYERS.get(layer, layer)
    problems = []
    if model not in models:
        problems.append(Problem("/layer", f"give {', '.join(LAYERS)} or the id of an uploaded model"))
    if fmt not in FORMATS:
        problems.append(Problem("/format", f"give one of {', '.join(FORMATS)}"))
    if licence not in OPEN_LICENCES:
        problems.append(Problem("/licence", f"give one of {', '.join(OPEN_LICENCES)}"))
    if not problems and any(has_personal(m) for m in models.descendants(model) | {model}):
        problems.append(Problem("/layer", "this layer holds personal data: publish it only as statistics "
                                          "(POST /privacy/releases)"))  # fmt: skip
    if problems:
        raise InvalidInput(problems)
    out.mkdir(parents=True, exist_ok=True)
    twins = list(geojson.features_in_bbox(store, models, WORLD, model))
    if fmt == "geojson":
        files = [out / f"{layer.replace(':', '_').replace(';', '_')}.geojson"]
        files[0].write_bytes(b"".join(geojson.feature_collection(iter(twins), WORLD)))
    elif fmt == "csv":
        files = [out / f"{layer.replace(':', '_').replace(';', '_')}.csv"]
        _csv(twins, files[0])
    else:
        tileset = tiles3d.build_tileset(store, models)
        if tileset is None:
            raise InvalidInput([Problem("/layer", "there is no building with a footprint to tile")])
        (out / "tileset.json").write_bytes(tileset.json)
        files = [out / "tileset.json"]
        for name, content in tileset.contents.items():
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            files.append(path)
    terms = OPEN_LICENCES[licence]
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    listed: list[dict[str, Any]] = [
        {"name": str(f.relative_to(out)), "bytes": f.stat().st_size, "sha256": _sha256(f)} for f in files
    ]
    digest = hashlib.sha256("\n".join(f["sha256"] for f in listed).encode()).hexdigest()
    record = DatasetRecord(
        id=f"{OPEN_DATA}:{layer}:{fmt}:{digest[:12]}",
        title=f"Open data: {layer} ({fmt})",
        kind=OPEN_DATA,
        licence=terms.name,
        licence_url=terms.url,
        provenance={
            "layer": layer,
            "model": model,
            "format": fmt,
            "attribution": attribution,
            "files": listed[:200],
            "fileCount": len(listed),
            "sha256": digest,
            "exportedAt": now,
            "folder": str(out),
            "tool": "futago export",
            "toolVersion": __version__,
        },
        records={"features": len(twins)},
        updated=now,
    )
    body = record.to_json()  # what metadata.json holds is what the catalog lists
    (out / "metadata.json").write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
    store.put_dataset(record)
    return body
