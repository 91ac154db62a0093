"""What every command prints: JSON for scripts, tables and one sentence per problem for people."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from futago.core.errors import FutagoError
from futago.core.secrets import json_default

# Messages and progress bars go to stderr, so that stdout holds only what a script reads (JSON, rows).
console = Console(stderr=True)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Show futago's own errors as a sentence per problem and exit 1, never as a traceback."""
    try:
        yield
    except FutagoError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        for problem in exc.problems[:20]:
            console.print(f"  [yellow]{problem.pointer or '/'}[/yellow] {problem.message}")
        sys.exit(1)


def print_figures(figures: dict[str, Any], as_json: bool) -> None:
    """Benchmarks and evaluations: one JSON object for scripts, or a table for people."""
    if as_json:
        print_json(figures)
        return
    table = Table("figure", "value")
    for key, value in figures.items():
        table.add_row(key, f"{value:,.3f}" if isinstance(value, float) else str(value))
    Console().print(table)


def print_json(value: Any) -> None:
    """JSON for scripts: orjson writes NaN as null, so the output always parses."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY
    click.echo(orjson.dumps(value, default=json_default, option=options).decode())  # secrets as their mask
