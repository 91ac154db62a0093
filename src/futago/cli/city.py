"""``futago city``: 3D city models imported from CityGML/PLATEAU, or a synthetic district generated to import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from futago.cli.context import command_settings, opened_app
from futago.cli.options import db_option
from futago.cli.output import Steps, console, progress_shown, reported_errors


@click.group()
def city() -> None:
    """3D city models: import CityGML/PLATEAU, generate a synthetic district."""


@city.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the import summary as one JSON object.")
@click.option(
    "--source",
    type=click.Choice(["plateau", "generated", "citygml"]),
    default=None,
    help="Where the data comes from, for the catalog (default: told from the file names; a district from "
    "`futago city generate` looks like PLATEAU on purpose, so say --source generated).",
)
@click.option("--licence", default=None, help="The data's licence, e.g. 'CC BY 4.0' (default: the source's).")
@db_option
@click.pass_context
def city_import(
    ctx: click.Context, paths: tuple[str, ...], as_json: bool, source: str | None, licence: str | None, db: str | None
) -> None:
    """Import CityGML files, PLATEAU zips or folders (udx/<type>/*.gml with codelists/).

    \b
    Every feature type of the PLATEAU product specification becomes twins of dtmi:futago:city:*:
      bldg  建築物      Building, BuildingPart, BuildingInstallation (footprint, LOD2 surfaces)
      urf   都市計画    UseDistrict 用途地域, FirePreventionDistrict 防火地域, HeightControlDistrict 高度地区,
                        ProductiveGreenZone 生産緑地, AreaClassification 区域区分 ... (every urf class)
      lsld  土砂災害    SedimentDisasterProneArea 土砂災害警戒区域 (areaType = zone type)
      fld/tnm/htd/ifld  FloodZone 浸水想定区域;  luse LandUse 土地利用;  frn CityFurniture 都市設備
      tran/brid/tun/veg/wtr/gen ...  Road, Bridge, Tunnel, PlantCover, WaterBody, GenericCityObject

    Buildings are joined to the zones containing their footprint centre, in whichever order the files come
    (and across imports): inFloodZone (rank, depth), inHazardArea (kind, zoneType), inZone (every urf zone).
    Ask, for example:

    \b
      futago query "SELECT B.$dtId, Z.floorAreaRate FROM DIGITALTWINS B JOIN Z RELATED B.inZone
        WHERE Z.$metadata.$model = 'dtmi:futago:city:UseDistrict;1'"

    Generic attributes of any name (gen:stringAttribute name="総建物階数") are kept in genericAttributes.
    The summary counts the city objects read (features), the twins written, what was skipped and why, and
    warnings (a value kept as text; printed to stderr). All or nothing: a malformed file names its line and
    nothing is stored.
    """
    from futago.services.city_import import CityImporter

    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        importer = CityImporter(app.store, app.models, app.twins, app.bus)
        with Progress(
            TextColumn("[bold]city import[/bold]"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
            console=console,
            disable=not progress_shown(as_json),
        ) as progress:
            task = progress.add_task("", total=1.0)
            summary = importer.run(
                list(paths),
                progress=lambda done: progress.update(task, completed=done),
                source=source,
                licence=licence,
            )
    report = summary.to_json()
    _print_warnings(report)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        table = Table("figure", "value")
        for key, value in report.items():
            if key != "warning_examples":
                table.add_row(key, str(value))
        Console().print(table)
        console.print(f"imported in {summary.seconds:.1f} s")


def _print_warnings(report: dict[str, Any]) -> None:
    examples = report.get("warning_examples", [])
    for warning in examples:
        click.echo(f"warning: {warning['feature']} at {warning['path']}: {warning['message']}", err=True)
    if report["warnings"] > len(examples):
        click.echo(f"warning: ... and {report['warnings'] - len(examples)} more", err=True)


@city.command("footprints")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--out", type=click.Path(dir_okay=False), required=True, help="The GeoJSON file to write (a FeatureCollection)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the count and the file as one JSON object.")
def city_footprints(paths: tuple[str, ...], out: str, as_json: bool) -> None:
    """Building footprints of CityGML files, PLATEAU zips or folders straight to GeoJSON, without importing.

    A quick look at a city's buildings (建物) in any GIS: one Feature per building with its footprint, gml:id,
    measuredHeight and usage, read on every core. Only building files (udx/bldg) are opened.

    \b
    Example:
      futago city footprints 13100_tokyo23-ku_2023_citygml.zip --out futago-data/tokyo-bldg.geojson
    """
    from futago.city.footprints import write_feature_collection

    target = Path(out)
    with reported_errors():
        target.parent.mkdir(parents=True, exist_ok=True)
        count = write_feature_collection(list(paths), target)
    if as_json:
        click.echo(json.dumps({"buildings": count, "path": str(target)}))
    else:
        console.print(f"wrote {count:,} building footprints to {target}")


@city.command("generate")
@click.option("--buildings", type=int, default=1000, show_default=True, help="How many buildings.")
@click.option(
    "--out",
    type=click.Path(),
    default="futago-data/district.zip",
    show_default=True,
    help="A .zip (PLATEAU layout) or a folder.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--river/--no-river", default=True, show_default=True, help="A river with flood zones.")
@click.option("--lod2-share", type=float, default=0.0, help="Fraction of buildings with LOD2 surfaces.")
@click.option("--parts-share", type=float, default=0.0, help="Fraction of buildings with building parts.")
@click.option(
    "--mesh",
    default=None,
    help="Centre the district on this JIS X 0410 mesh cell (6 or 8 digits, e.g. 52385700: Numazu's "
    "Shimokanuki, under real urf and lsld zones), instead of beside Numazu's Kano River.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the true counts of what was generated.")
def city_generate(
    buildings: int,
    out: str,
    seed: int,
    river: bool,
    lod2_share: float,
    parts_share: float,
    mesh: str | None,
    as_json: bool,
) -> None:
    """Write a synthetic district as PLATEAU-shaped CityGML that `futago city import` reads.

    Buildings with heights and usage, a river, flood zones with planned depths, and a DEM.
    """
    from futago.city.generator import DistrictSpec, generate_district

    target = Path(out)
    spec = DistrictSpec(
        buildings=buildings,
        seed=seed,
        river=river,
        flood_zones=river,
        lod2_share=lod2_share,
        parts_share=parts_share,
        mesh_code=mesh,
    )
    # A district of 100,000 buildings takes minutes; say so before it starts.
    Steps("city generate", progress_shown(as_json))(
        f"writing {buildings:,} buildings{' with a river and flood zones' if river else ''} to {target}"
    )
    with reported_errors():
        target.parent.mkdir(parents=True, exist_ok=True)
        generated = generate_district(spec, target, layout="zip" if target.suffix == ".zip" else "dir")
    facts = {
        "path": str(generated.path),
        "buildings": generated.building_count,
        "building_parts": generated.building_part_count,
        "measured_heights": generated.measured_heights,
        "height_sum": generated.height_sum,
        "height_max": generated.height_max,
        "flood_risk_buildings": generated.flood_risk_buildings,
        "bbox_wgs84": generated.bbox_wgs84,
    }
    if as_json:
        click.echo(json.dumps(facts))
    else:
        console.print(f"wrote {generated.building_count} buildings to {generated.path}")
        console.print(f"import it with: futago city import {generated.path} --source generated")
