"""``futago city``: 3D city models imported from CityGML/PLATEAU, or a synthetic district generated to import."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from futago.cli.context import command_settings, opened_app
from futago.cli.options import db_option
from futago.cli.output import console, reported_errors


@click.group()
def city() -> None:
    """3D city models: import CityGML/PLATEAU, generate a synthetic district."""


@city.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the import summary as one JSON object.")
@db_option
@click.pass_context
def city_import(ctx: click.Context, paths: tuple[str, ...], as_json: bool, db: str | None) -> None:
    """Import CityGML files, PLATEAU zips or folders (udx/bldg, udx/fld, udx/dem, codelists/).

    Buildings become twins of dtmi:futago:city:Building;1 with their footprint as geometry,
    linked to their parts and district; flood zones become FloodZone twins, and buildings
    inside them get an inFloodZone relationship with the planned depth. All or nothing: a bad
    file stops the import and nothing is stored.
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
            disable=as_json,
        ) as progress:
            task = progress.add_task("", total=1.0)
            summary = importer.run(list(paths), progress=lambda done: progress.update(task, completed=done))
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        table = Table("figure", "value")
        for key, value in summary.to_json().items():
            table.add_row(key, str(value))
        Console().print(table)
        console.print(f"imported in {summary.seconds:.1f} s")


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
@click.option("--json", "as_json", is_flag=True, help="Print the true counts of what was generated.")
def city_generate(
    buildings: int, out: str, seed: int, river: bool, lod2_share: float, parts_share: float, as_json: bool
) -> None:
    """Write a synthetic district as PLATEAU-shaped CityGML that `futago city import` reads.

    Buildings with heights and usage, a river, flood zones with planned depths, and a DEM.
    """
    from futago.city.generator import DistrictSpec, generate_district

    target = Path(out)
    spec = DistrictSpec(
        buildings=buildings, seed=seed, river=river, flood_zones=river, lod2_share=lod2_share, parts_share=parts_share
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
