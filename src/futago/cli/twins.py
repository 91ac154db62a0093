"""``futago twins`` and ``futago query``: reading twins, one by id, a list, or through the query language."""

from __future__ import annotations

import json
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from futago.cli.context import command_settings, opened_app
from futago.cli.options import db_option
from futago.cli.output import console, print_json, reported_errors


@click.group()
def twins() -> None:
    """Read twins."""


@twins.command("get")
@click.argument("twin_id")
@db_option
@click.pass_context
def twins_get(ctx: click.Context, twin_id: str, db: str | None) -> None:
    """Print a twin as JSON, with the latest value of each telemetry."""
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        print_json(app.twins.get_json(twin_id))


@twins.command("list")
@click.option("--model", help="Only twins of this model (sub-models included).")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@db_option
@click.pass_context
def twins_list(ctx: click.Context, model: str | None, limit: int, as_json: bool, db: str | None) -> None:
    """List twins in id order."""
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        found = app.twins.list_twins(model=model, limit=limit)
    if as_json:
        print_json([t.to_json() for t in found])
        return
    table = Table("twin", "model", "properties")
    for t in found:
        table.add_row(t.id, t.model, json.dumps(t.properties, ensure_ascii=False)[:80])
    Console().print(table)


@click.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as one JSON array.")
@db_option
@click.pass_context
def query(ctx: click.Context, text: str, as_json: bool, db: str | None) -> None:
    """Run a twin query, e.g. futago query "SELECT T FROM DIGITALTWINS T WHERE T.height > 30"."""
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        rows: list[dict[str, Any]] = []
        token = None
        while True:  # every page: a script wants the whole answer, not the first page of it
            result = app.twins.query(text, continuation=token)
            rows += result.items
            token = result.continuation
            if not token:
                break
    if as_json:
        print_json(rows)
    else:
        for row in rows:
            click.echo(orjson.dumps(row).decode())
        console.print(f"{len(rows)} rows")
