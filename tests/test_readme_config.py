"""Every TOML example in the README is valid configuration."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from futago.app import App
from futago.ingest.connections import ConnectionSpec
from futago.sim.behaviours import BehaviourSpec
from tests.conftest import REPO


def _toml_examples() -> list[dict[str, Any]]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return [tomllib.loads(block) for block in re.findall(r"```toml\n(.*?)```", readme, re.S)]


def test_readme_toml_examples_are_valid(app: App) -> None:
    examples = _toml_examples()
    connections = [c for e in examples for c in e.get("connections", {}).items()]
    qualities = [q for e in examples for q in e.get("quality", {}).items()]
    assert {name for name, _ in connections} >= {"river", "plant"} and qualities
    for name, config in connections:
        spec = ConnectionSpec.from_config(name, config, list(app.connections.factories))
        app.connections.factories[spec.type](spec, app.connections.sink_for(spec))  # options validate
    behaviours = [b for e in examples for b in e.get("behaviours", {}).items()]
    assert behaviours
    for name, body in behaviours:
        BehaviourSpec.parse(name, body)
    commands = {twin: c for e in examples for twin, c in e.get("commands", {}).items()}
    assert commands
    app.commands.load(commands)  # a mistake raises InvalidInput with its pointer
    for model, per_telemetry in qualities:
        app.telemetry.checks.load({model: per_telemetry})  # type: ignore[union-attr]
