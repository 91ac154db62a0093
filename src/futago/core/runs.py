"""A behaviour run's provenance record: which behaviour ran on which twin, with what model and inputs, what it
wrote, and how it ended.

It lives in core because the sim store's port (``core.ports.SimStore``) takes and gives it; running behaviours is
sim's (``futago.sim.runtime``). Its JSON is what the store keeps and what ``/behaviours/{name}/runs`` answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from futago.core.records import JsonRecord

RunStatus = Literal["ok", "failed"]


@dataclass
class BehaviourRun(JsonRecord):
    """One run. Mutable while the runtime fills it in; what a run did not reach (a model that could not be built,
    outputs of a failed run) is left out of the JSON rather than written as null."""

    # every key but the three that say which run it is may be absent
    json_omit = "none"

    behaviour: str
    twin_id: str
    started: str  # ISO 8601 UTC
    model: dict[str, Any] | None = None  # the model's description (name, version, parameters, artifact)
    status: RunStatus | None = None
    inputs: dict[str, Any] | None = None  # per input column: the twin, telemetry and count read
    outputs: list[str] | None = None  # the telemetry names written
    written: int | None = None  # how many readings
    summary: dict[str, Any] | None = None
    error: str | None = None  # why it failed, in a sentence
    duration_ms: float | None = None
    id: int | None = None  # assigned by the store
