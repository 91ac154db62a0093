"""What the command tests share: the scenarios' floodgate device and model, and the app's command service."""

from __future__ import annotations

from futago.act.commands import CommandService
from futago.app import App
from futago.scenarios.field import FLOODGATE, GateDevice, gate_connection, running_gate

__all__ = ["FLOODGATE", "GateDevice", "attach_commands", "gate_connection", "running_gate"]


def attach_commands(app: App) -> CommandService:
    return app.commands
