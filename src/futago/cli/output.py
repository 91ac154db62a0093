"""What every command prints: JSON for scripts, tables and one sentence per problem for people."""

from __future__ import annotations

import sys
import time
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


def progress_shown(as_json: bool) -> bool:
    """Whether a command shows its progress (step lines, bars) on stderr: always for people; with --json only
    when stderr is a terminal, so `futago eval skab --json > figures.json` still says what it is doing while a
    pipe or a log that joins both streams holds the JSON alone."""
    return not as_json or console.is_terminal


class Steps:
    """One line on stderr per stage of a long command, with the seconds since the command began, so that minutes
    of work are never minutes of silence. ``Steps("eval skab")("scoring 34 files")`` prints
    ``eval skab [0.0 s]: scoring 34 files``."""

    def __init__(self, command: str, shown: bool = True) -> None:
        self.command = command
        self.shown = shown
        self._began = time.monotonic()

    def __call__(self, text: str) -> None:
        if self.shown:
            elapsed = time.monotonic() - self._began
            # soft_wrap: one line however narrow the terminal, so a log can be searched for it
            console.print(f"{self.command} [{elapsed:.1f} s]: {text}", soft_wrap=True, highlight=False, markup=False)


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
