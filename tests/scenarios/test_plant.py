"""``futago scenario plant``: a fault in the real OPC UA plant is detected and answered inside the envelope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from futago.cli import main


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    """One run of the scenario (about 40 s of wall-clock plant) shared by the tests below."""
    result = CliRunner().invoke(main, ["scenario", "plant", "--json"])
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.output)
    return loaded


@pytest.mark.timeout(180)
def test_a_fouled_reactor_raises_an_anomaly_and_gets_a_cooler_setpoint_over_opcua(figures: dict[str, Any]) -> None:
    (alert,) = figures["alerts"]
    assert alert["rule"] == "reactor-anomaly" and figures["anomaly_alert"] == "reactor-anomaly"
    assert alert["raisedAt"] >= figures["fault_at"]  # normal operation raised nothing; the fault did
    (command,) = figures["commands"]
    assert command["command"] == "setSetpoint" and command["proposedBy"] == "rule:reactor-anomaly"
    assert command["approvedBy"] and command["state"] == "completed"
    assert [c["stage"] for c in command["checks"]] == ["proposal", "approval"] and all(
        c["ok"] for c in command["checks"]
    )
    assert command["sent"]["transport"] == "opcua" and command["sent"]["value"] == 340.0
    assert command["resultState"]["value"] == 340.0  # read back from the plant
    assert figures["applied"] is True and figures["plant_setpoint"] == 340.0


@pytest.mark.timeout(180)
def test_the_reactor_anomaly_score_reads_as_times_its_limit(figures: dict[str, Any]) -> None:
    # score ÷ learned threshold: above 1 once the jacket fouls, and a readable multiple of the limit rather than
    # the billions a chart learned on the settled (near-constant) coolant flow used to write.
    assert 1.0 < figures["anomaly_score_max"] <= 100.0
    (alert,) = figures["alerts"]
    # anomaly_score_max is reported to 3 decimals; the alert's evidence keeps the full value
    assert 1.0 < alert["evidence"]["trigger"]["value"] <= figures["anomaly_score_max"] + 0.0005
