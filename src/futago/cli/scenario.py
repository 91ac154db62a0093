"""``futago scenario``: the end-to-end scenarios of ``futago.scenarios``, run headless."""

from __future__ import annotations

import importlib

import click

from futago.cli.output import Steps, print_figures, progress_shown, reported_errors

#: What each scenario does before its figures, in one line: the plant has no bar of its own, the flood's storm has.
STAGES = {
    "flood": "generating and importing a riverside district with residents, then a storm step by step (under a minute)",
    "plant": "starting the OPC UA reactor; its detector learns half a minute of normal operation, then the "
    "cooling jacket fouls and the run waits for the alert, the proposal and the written setpoint (about a minute)",
}


@click.command()
@click.argument("name", type=click.Choice(["flood", "plant"]))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of figures.")
@click.option("--db", help="Keep the scenario's store here (default: a temporary folder).")
def scenario(name: str, as_json: bool, db: str | None) -> None:
    """Run an end-to-end scenario headless, through the same code paths as live data.

    \b
      flood   a storm over a generated riverside district: readings over MQTT → ensemble forecast every
              10 minutes → rule → alert → residents of affected buildings notified → closeGate
              recommended and approved → the storm passes and the alert resolves
      plant   the OPC UA reactor's cooling jacket fouls → anomaly alert → a cooler setpoint is
              recommended, approved, checked against its envelope and written over OPC UA
    \b
    Example:
      futago scenario flood --json
    """
    shown = progress_shown(as_json)
    Steps(f"scenario {name}", shown)(STAGES[name])
    module = importlib.import_module(f"futago.scenarios.{name}")
    with reported_errors():
        figures = module.run(db=db, progress=shown)
    print_figures(figures, as_json)
