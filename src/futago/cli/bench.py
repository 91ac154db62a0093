"""``futago bench``: the benchmarks of a source checkout, run by name."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from futago.cli.options import db_option
from futago.cli.output import Steps, print_figures, progress_shown, reported_errors

# src/futago/cli/bench.py → the checkout's root, which holds benchmarks/ (an installed wheel has none).
CHECKOUT = Path(__file__).resolve().parents[3]


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of figures.")
@db_option
def bench(name: str, as_json: bool, db: str | None) -> None:
    """Run a benchmark from benchmarks/<NAME>.py (e.g. core) and print its figures."""
    if not (CHECKOUT / "benchmarks" / f"{name}.py").is_file():
        raise click.ClickException(f"no benchmark '{name}' in {CHECKOUT / 'benchmarks'} (run from a source checkout)")
    shown = progress_shown(as_json)
    # Some benchmarks report their own stages; this line says at least which one runs, for those that do not.
    Steps(f"bench {name}", shown)(f"running benchmarks/{name}.py (a benchmark takes up to a few minutes)")
    sys.path.insert(0, str(CHECKOUT))
    module = importlib.import_module(f"benchmarks.{name}")
    with reported_errors():
        figures = module.run(db=db, progress=shown)
    print_figures(figures, as_json)
