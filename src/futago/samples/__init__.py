"""Sample data that ships with futago: the demo's DTDL models and rules, and the inputs the README's examples use.

- ``readings.csv``: a week (2026-07-01 to 07-08, 10-minute steps) of ``rain-1`` rainfall and ``river-1``/``river-2``
  water levels in ``futago ingest``'s CSV layout (twinId,name,ts,value), made by the demo's own weather and rivers
  (``futago.demo.Rivers``: the tank model and rating curve the river-forecast behaviour uses, with the gauges'
  noise), so that ``futago validate`` and ``futago calibrate`` have a real week to judge in the demo's store.
- ``skab_rig.json``: a DTDL model of the SKAB benchmark's water-circulation rig, its telemetry named as the columns
  of SKAB's CSV files, for the README's replay example.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson


def demo_models() -> list[dict[str, Any]]:
    """The demo's DTDL Interfaces (a district, buildings, river stations, a rain gauge, a pump, a floodgate,
    a reactor): what ``futago demo`` and the scenarios load."""
    documents: list[dict[str, Any]] = orjson.loads(resources.files(__name__).joinpath("demo_models.json").read_bytes())
    return documents
