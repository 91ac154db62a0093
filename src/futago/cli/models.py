"""``futago models``: DTDL v3 models, validated from files and kept in the store."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from futago.cli.context import command_settings, opened_app
from futago.cli.options import db_option
from futago.cli.output import Steps, console, print_json, progress_shown, reported_errors


@click.group()
def models() -> None:
    """DTDL v3 models: validate, load, list."""


@models.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help='Print {"interfaces": N, "problems": [...]}.')
def models_validate(paths: tuple[str, ...], as_json: bool) -> None:
    """Validate DTDL files or folders as one model set; exit 1 on any problem."""
    from futago.core.dtdl import read_documents, validate

    step = Steps("models validate", progress_shown(as_json))  # a folder of thousands of files takes a while
    with reported_errors():
        step(f"reading {', '.join(paths)}")
        documents, problems = read_documents(*paths)
        if not problems:
            step(f"validating {len(documents):,} documents as one model set")
            problems = validate(documents)
    interfaces = sum(1 for d in documents if isinstance(d, dict) and d.get("@type") == "Interface")
    if as_json:
        print_json({"interfaces": interfaces, "problems": [p.to_json() for p in problems]})
    else:
        for problem in problems:
            click.echo(str(problem))
        click.echo(f"{interfaces} interfaces, {len(problems)} problems")
    sys.exit(1 if problems else 0)


@models.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@db_option
@click.pass_context
def models_load(ctx: click.Context, paths: tuple[str, ...], db: str | None) -> None:
    """Validate and store DTDL models in the store."""
    from futago.core.dtdl import read_documents
    from futago.core.errors import InvalidInput

    with reported_errors():
        documents, problems = read_documents(*paths)
        if problems:
            raise InvalidInput(problems)
        with opened_app(command_settings(ctx, db=db)) as app:
            ids = app.models.add(documents)
    console.print(f"loaded {len(ids)} models")


@models.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def models_list(ctx: click.Context, db: str | None, as_json: bool) -> None:
    """List the stored models."""
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        records = app.models.list_models()
    if as_json:
        print_json([{"id": r.id, "uploadTime": r.uploaded, "decommissioned": r.decommissioned} for r in records])
        return
    table = Table("model", "uploaded", "decommissioned")
    for r in records:
        table.add_row(r.id, r.uploaded, "yes" if r.decommissioned else "")
    Console().print(table)
