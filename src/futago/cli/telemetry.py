"""``futago ingest``: readings from a file, appended to the store in batches."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from futago.cli.context import command_settings, opened_app
from futago.cli.options import db_option
from futago.cli.output import console, reported_errors


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "ndjson"]), default="auto", show_default=True)
@click.option("--batch", type=int, default=20_000, show_default=True, help="Readings per store write.")
@db_option
@click.pass_context
def ingest(ctx: click.Context, file: str, fmt: str, batch: int, db: str | None) -> None:
    """Append readings from a CSV (twinId,name,ts,value[,quality]) or NDJSON file, with a progress bar."""
    from futago.ingest.files import iter_record_batches

    path = Path(file)
    kind = fmt if fmt != "auto" else ("csv" if path.suffix.lower() == ".csv" else "ndjson")
    total = 0
    bar = Progress(
        TextColumn("[bold]ingest[/bold] {task.description}"),
        BarColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app, bar as progress:
        task = progress.add_task(path.name, total=path.stat().st_size)
        for readings, position in iter_record_batches(path, kind, batch):
            total += app.telemetry.append(readings)
            progress.update(task, completed=position)
    console.print(f"ingested {total} readings")
