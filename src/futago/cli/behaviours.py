"""``futago behaviours``, ``validate`` and ``calibrate``: models attached to twins, run, checked and fitted."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from futago.cli.context import command_settings, opened_app
from futago.cli.options import dask_option, db_option
from futago.cli.output import Steps, console, print_json, progress_shown, reported_errors
from futago.core.errors import FutagoError, InvalidInput
from futago.core.problems import Problem


def _period(start: str, end: str) -> tuple[int, int]:
    """--from and --to as microseconds; a bad one is named by its option, not by the parser's wording."""
    from futago.core.telemetry import parse_timestamp

    times = []
    for option, value in (("--from", start), ("--to", end)):
        try:
            times.append(parse_timestamp(value))
        except FutagoError as exc:
            raise InvalidInput([Problem(option, f"not a time: {value!r} (ISO 8601 or epoch milliseconds)")]) from exc
    return times[0], times[1]


@click.group()
def behaviours() -> None:
    """Models attached to twins: list them and run them on demand. Define them in futago.toml
    ([behaviours.<name>]) or with PUT /behaviours/<name>."""


@behaviours.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
@click.pass_context
def behaviours_list(ctx: click.Context, as_json: bool, db: str | None) -> None:
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        specs = [{**spec.to_json(), "attachedTwins": app.behaviours.twins_of(spec)} for spec in app.behaviours.all()]
    if as_json:
        print_json(specs)
        return
    table = Table("behaviour", "model", "version", "twins")
    for spec in specs:
        table.add_row(spec["name"], spec["model"], spec["version"], ", ".join(spec["attachedTwins"][:5]))
    Console().print(table)


@behaviours.command("run")
@click.argument("name")
@click.option("--twin", help="Only this twin (default: every twin it is attached to).")
@dask_option
@db_option
@click.pass_context
def behaviours_run(ctx: click.Context, name: str, twin: str | None, dask: str | None, db: str | None) -> None:
    """Run a behaviour now; prints each run's record (provenance) as JSON.

    With --dask, a simulator's Monte Carlo ensemble runs on the cluster in chunks of 50,000 members (each
    seeded as in process, so the forecast is identical); below that it is one task.
    """
    from futago.sim.distributed import maybe_dask

    settings = command_settings(ctx, db=db, dask=dask)
    # Its output is always JSON: the line shows on a terminal only (an ensemble of 100,000 members takes a while).
    Steps("behaviours run", progress_shown(True))(f"running {name} for {twin or 'every twin it is attached to'}")
    # maybe_dask first: an unreachable cluster fails before the store opens
    with reported_errors(), maybe_dask(settings.dask) as mapper, opened_app(settings) as app:
        if mapper is not None:
            app.behaviours.ensemble_mapper = mapper
        print_json(app.behaviours.run(name, twin))


@click.command()
@click.argument("behaviour")
@click.option("--twin", required=True, help="The twin whose measurements the behaviour is compared with.")
@click.option("--from", "start", required=True, help="Start of the period (ISO 8601 or epoch ms).")
@click.option("--to", "end", required=True, help="End of the period (exclusive).")
@click.option("--out", type=click.Path(file_okay=False), default="validation", show_default=True,
              help="Folder for the residual and scatter plots (PNG).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@db_option
@click.pass_context
def validate(
    ctx: click.Context, behaviour: str, twin: str, start: str, end: str, out: str, as_json: bool, db: str | None
) -> None:
    """Compare a behaviour's output with measured readings over a period (the QA view).

    Prints RMSE, MAE, MAPE, R², Pearson r, NSE and KGE, judges them against the tolerances declared with the
    behaviour, and saves residual and scatter plots. Exits with status 1 when a tolerance is not met.

    \b
    Example:
      futago validate river-forecast --twin river-1 --from 2026-07-01 --to 2026-07-08
    """
    from futago.sim.validation import validate_behaviour

    Steps("validate", progress_shown(as_json))(f"replaying {behaviour} over {twin}'s readings from {start} to {end}")
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        report = validate_behaviour(app.behaviours, behaviour, twin, *_period(start, end))
    paths = report.save_plots(Path(out), f"{behaviour}_{twin}")
    if as_json:
        print_json(report.to_json(plot_paths=paths))
    else:
        table = Table("metric", "value", "tolerance", "result")
        for metric, value in report.metrics.items():
            check = report.checks.get(metric)
            limit = "" if check is None else ("≤ " if check["bound"] == "max" else "≥ ") + f"{check['limit']:g}"
            verdict = "" if check is None else ("[green]pass[/green]" if check["ok"] else "[red]fail[/red]")
            table.add_row(metric, f"{value:.4g}", limit, verdict)
        Console().print(table)
        console.print(f"plots: {', '.join(paths.values())}")
        console.print("[green]passed[/green]" if report.passed else "[red]failed[/red]")
    if not report.passed:
        sys.exit(1)


@click.command()
@click.argument("behaviour")
@click.option("--twin", required=True, help="The twin whose history the parameters are fitted to.")
@click.option("--from", "start", required=True, help="Start of the period (ISO 8601 or epoch ms).")
@click.option("--to", "end", required=True, help="End of the period (exclusive).")
@click.option("--save", is_flag=True, help="Keep the fitted parameters in the behaviour.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
@click.pass_context
def calibrate(
    ctx: click.Context, behaviour: str, twin: str, start: str, end: str, save: bool, as_json: bool, db: str | None
) -> None:
    """Fit a physics behaviour's parameters to a twin's history, with standard errors and 95 % intervals."""
    from futago.sim.calibration import calibrate_behaviour

    Steps("calibrate", progress_shown(as_json))(f"fitting {behaviour} to {twin}'s readings from {start} to {end}")
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        result = calibrate_behaviour(app.behaviours, behaviour, twin, *_period(start, end), save=save)
    if as_json:
        print_json(result.to_json())
        return
    table = Table("parameter", "value", "std. error", "95 % interval")
    for name, value in result.params.items():
        low, high = result.ci95[name]
        table.add_row(name, f"{value:.5g}", f"{result.stderr[name]:.2g}", f"{low:.5g} … {high:.5g}")
    Console().print(table)
    console.print(f"RMSE {result.rmse_before:.4g} → {result.rmse:.4g} over {result.n} steps")
