"""``futago catalog`` and ``futago export``: the datasets in the store, and non-personal layers published as
open data with their licence (each export becomes a catalog entry)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from futago.cli.context import command_settings, opened_app
from futago.cli.options import db_option
from futago.cli.output import Steps, console, print_json, progress_shown, reported_errors


@click.group()
def catalog() -> None:
    """The data catalog: the datasets in the store, with licence and provenance."""


@catalog.command("list")
@click.option("--kind", help="Only this kind: city_import, telemetry, derived or models.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@db_option
@click.pass_context
def catalog_list(ctx: click.Context, kind: str | None, as_json: bool, db: str | None) -> None:
    """List the datasets: city imports, telemetry per twin, derived telemetry per behaviour, DTDL models."""
    from futago.services.catalog import CatalogService

    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        entries = CatalogService(app.store, app.behaviours, app.connections).entries(kind)
    if as_json:
        print_json({"value": entries})
        return
    table = Table("id", "kind", "licence", "records", "updated")
    for entry in entries:
        records = ", ".join(f"{k} {v:,}" for k, v in entry["records"].items())
        table.add_row(entry["id"], entry["kind"], entry["licence"], records, entry["updated"] or "")
    Console().print(table)


@click.command("export")
@click.option(
    "--layer",
    default="buildings",
    show_default=True,
    help="buildings, flood_zones, roads, or the id of a model whose twins have a geometry.",
)
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv", "3dtiles"]), default="geojson", show_default=True)
@click.option(
    "--licence",
    type=click.Choice(["CC-BY-4.0", "ODbL-1.0", "CC0-1.0"]),
    required=True,
    help="The terms the data is published under (recorded in the catalog and metadata.json).",
)
@click.option("--attribution", help='Who to credit, e.g. "Kano City; PLATEAU (MLIT)".')
@click.option("--out", required=True, type=click.Path(file_okay=False), help="The folder to write to.")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog record as JSON.")
@db_option
@click.pass_context
def export(ctx: click.Context, layer: str, fmt: str, licence: str, attribution: str | None, out: str,
           as_json: bool, db: str | None) -> None:  # fmt: skip
    """Publish a non-personal layer as open data (GeoJSON, CSV or 3D Tiles) with its licence; the export is
    recorded in the data catalog. A layer whose model marks anything Personal is refused."""
    from futago.security.personal import personal_fields
    from futago.services.open_data import export_layer

    Steps("export", progress_shown(as_json))(f"writing the {layer} layer as {fmt} to {out}")
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        models = app.models.models
        record = export_layer(app.store, models, lambda m: any(personal_fields(models, m)), layer, fmt,
                              licence, Path(out), attribution)  # fmt: skip
        app.audit.record("cli", "open_data.exported", f"catalog/{record['id']}",
                         {"licence": licence, "files": record["provenance"]["fileCount"]})  # fmt: skip
    if as_json:
        print_json(record)
    else:
        console.print(f"{record['records']['features']:,} features of {layer} written to {out} "
                      f"({record['licence']}); catalog: {record['id']}")  # fmt: skip
