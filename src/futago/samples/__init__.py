"""Sample data that ships with futago: the demo's DTDL models and rules."""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson


def demo_models() -> list[dict[str, Any]]:
    """The demo's DTDL Interfaces (a district, buildings, river stations, a rain gauge, a pump, a floodgate,
    a reactor): what ``futago demo`` and the scenarios load."""
    documents: list[dict[str, Any]] = orjson.loads(resources.files(__name__).joinpath("demo_models.json").read_bytes())
    return documents
