"""The ``futago`` command: the root group here, one module per command group beside it.

Every command that needs the platform opens it through ``context.opened_app`` and prints through ``output``, so
that all of them read their settings, report errors and close the store in the same way.
"""

from __future__ import annotations

import click

from futago import __version__
from futago.cli import (
    access,
    audit,
    behaviours,
    bench,
    city,
    datasets,
    db,
    evaluation,
    models,
    open_data,
    scenario,
    serving,
    sim,
    telemetry,
    twins,
    worker,
)
from futago.cli.output import reported_errors
from futago.config import load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="futago")
@click.option("--config", type=click.Path(dir_okay=False), help="A TOML settings file (default ./futago.toml).")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """futago (双子): an open digital-twin platform.

    \b
    Start here:
      futago demo                      sample twins with live telemetry, API at http://127.0.0.1:8000/docs
      futago models validate m.json    check DTDL v3 models
      futago serve --db plant.db       serve your own store
    Settings come from flags, then FUTAGO_* environment variables, then futago.toml.
    """
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    with reported_errors():
        ctx.obj["settings"] = load_settings(config)


# Each module declares its commands on its own; they join the root group here, and `futago --help` lists them
# by name whatever the order.
COMMANDS: tuple[click.Command, ...] = (
    serving.serve,
    serving.demo,
    models.models,
    twins.twins,
    twins.query,
    telemetry.ingest,
    city.city,
    worker.worker,
    db.db_group,
    bench.bench,
    behaviours.behaviours,
    behaviours.validate,
    behaviours.calibrate,
    scenario.scenario,
    sim.sim,
    evaluation.eval_command,
    open_data.catalog,
    audit.audit,
    access.keys,
    access.policy,
    open_data.export,
    datasets.datasets,
)
for _command in COMMANDS:
    main.add_command(_command)

__all__ = ["main"]
