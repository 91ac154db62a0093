"""``futago eval``: futago's models scored on public benchmarks, each with that benchmark's own protocol."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from futago.cli.output import Steps, print_figures, progress_shown, reported_errors
from futago.services import public_data


@click.command("eval")
@click.argument("benchmark", type=click.Choice(["skab", "nab", "cmapss"]))
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of figures.")
@click.option(
    "--predictions",
    type=click.Path(),
    help="Also write the predictions, so the score can be recomputed from outside "
    "(a folder for skab and nab, a CSV file for cmapss).",
)
@click.option("--detector", help="Detector or model to evaluate (default: the best one futago ships).")
@click.option(
    "--save-model",
    type=click.Path(dir_okay=False),
    help="cmapss only: also pickle a fitted RUL pipeline (sensors s1..s21 in, RUL out) for a behaviour's artifact.",
)
def eval_command(
    benchmark: str,
    path: str | None,
    as_json: bool,
    predictions: str | None,
    detector: str | None,
    save_model: str | None,
) -> None:
    """Score futago's models on a public benchmark with that benchmark's own protocol.

    \b
      skab    SKAB anomaly benchmark: PATH holds valve1/, valve2/, … (first 400 rows of each file train)
      nab     NAB realKnownCause series, standard profile: PATH is the NAB data folder
      cmapss  NASA C-MAPSS FD001 remaining useful life: PATH holds train_/test_/RUL_FD001.txt

    Without PATH, the benchmark's dataset in the cache is used (`futago datasets fetch skab` fills it).

    \b
    Example:
      futago eval skab --json --predictions out/skab
    """
    module = importlib.import_module(f"futago.analytics.evaluation.{benchmark}")
    options: dict[str, Any] = {"detector": detector} if detector else {}
    if save_model:
        if benchmark != "cmapss":
            raise click.UsageError(f"--save-model: only cmapss saves a fitted model, not {benchmark}")
        options["save_model"] = Path(save_model)
    shown = progress_shown(as_json)
    with reported_errors():
        folder = Path(path) if path else public_data.local_path(benchmark)
        default = getattr(module, "DEFAULT_DETECTOR", getattr(module, "DEFAULT_MODEL", ""))
        Steps(f"eval {benchmark}", shown)(f"scoring {detector or default} on {folder}")
        figures = module.evaluate(
            folder, predictions=Path(predictions) if predictions else None, progress=shown, **options
        )
    print_figures(figures, as_json)
