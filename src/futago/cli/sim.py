"""``futago sim``: batches of what-if scenarios of a behaviour, compared with its baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from futago.cli.context import command_settings, opened_app
from futago.cli.options import dask_option, db_option
from futago.cli.output import Steps, print_json, progress_shown, reported_errors
from futago.core.errors import FutagoError, InvalidInput
from futago.core.problems import Problem


@click.group()
def sim() -> None:
    """Simulation in batches: what-if scenario sweeps, in process or on a Dask cluster."""


def _scenario_file(path: str) -> list[Any]:
    """A list of scenarios from JSON (.json) or YAML, or an object holding one under "scenarios"."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    try:
        document = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidInput([Problem("--scenarios", f"{path} is not valid JSON or YAML: {exc}")]) from exc
    if isinstance(document, dict) and "scenarios" in document:
        document = document["scenarios"]
    if not isinstance(document, list) or not document:
        raise InvalidInput([Problem("--scenarios", f"{path}: a list of scenarios {{name, inputs, params, state}}")])
    return document


def _figures(summary: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """A summary's numbers, nested ones named a.b (e.g. exceedance.danger), for a table."""
    found: dict[str, float] = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            found |= _figures(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found[prefix + key] = value
    return found


@sim.command("sweep")
@click.argument("behaviour")
@click.option("--twin", required=True, help="The twin whose state and inputs every scenario starts from.")
@click.option(
    "--scenarios",
    "scenarios_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="JSON or YAML file: a list of scenarios, each {name, inputs, params, state}.",
)
@click.option("--at", help="When the scenarios start (ISO 8601 or epoch ms; default: now).")
@dask_option
@click.option("--json", "as_json", is_flag=True, help="Print the whole comparison, with the series, as JSON.")
@db_option
@click.pass_context
def sim_sweep(
    ctx: click.Context, behaviour: str, twin: str, scenarios_file: str, at: str | None, dask: str | None,
    as_json: bool, db: str | None,
) -> None:  # fmt: skip
    """Run a batch of what-if scenarios of a behaviour and compare each with the baseline; nothing is written.

    A scenario changes the horizon's inputs ({scale|add|set: x}), numeric parameters, or the start state. With
    --dask each scenario is a task on the cluster; the answers are identical to a run in process, in the file's
    order. Up to 1,024 scenarios.

    \b
    scenarios.yaml:
      - name: rain x1.5
        inputs: {rainfall: {scale: 1.5}}
      - name: faster outflow
        params: {a11: 0.2}
    \b
    Example:
      futago sim sweep river-forecast --twin river-1 --scenarios scenarios.yaml --dask local
    """
    import time

    from futago.core.telemetry import parse_timestamp
    from futago.sim.distributed import maybe_dask
    from futago.sim.scenario import sweep

    settings = command_settings(ctx, db=db, dask=dask)
    with reported_errors():
        scenarios = _scenario_file(scenarios_file)
        try:
            at_us = time.time_ns() // 1000 if at is None else parse_timestamp(at)
        except FutagoError as exc:
            raise InvalidInput([Problem("--at", f"not a time: {at!r} (ISO 8601 or epoch milliseconds)")]) from exc
        where = f"on the Dask cluster {settings.dask}" if settings.dask else "in process"
        Steps("sim sweep", progress_shown(as_json))(
            f"running the baseline and {len(scenarios)} scenarios of {behaviour} for {twin} {where}"
        )
        with maybe_dask(settings.dask) as mapper, opened_app(settings) as app:
            if mapper is not None:
                app.behaviours.ensemble_mapper = mapper  # the baseline's ensemble too
            result = sweep(app.behaviours, behaviour, twin, at_us, scenarios, mapper=mapper or map)
    if as_json:
        print_json(result)
        return
    baseline = _figures(result["baseline"]["summary"])
    changes = [_figures(answer["difference"]) for answer in result["scenarios"]]
    shown = [k for k in baseline if any(change.get(k) for change in changes)]  # not the counts every run shares
    table = Table("scenario", *(k.replace("exceedance.", "P ") for k in shown))
    table.add_row("baseline", *(f"{baseline[k]:.4g}" for k in shown))
    for answer, change in zip(result["scenarios"], changes, strict=True):
        figures = _figures(answer["summary"])
        table.add_row(
            str(answer["name"]), *(f"{figures[k]:.4g}\n{change[k]:+.3g}" if k in change else "" for k in shown)
        )
    Console().print(table)
