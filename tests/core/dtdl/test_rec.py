"""The RealEstateCore ontology (767 Interfaces) must load cleanly and fast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from futago.core.dtdl import load

REC = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "dtdl" / "rec"
SPACE = "dtmi:digitaltwins:rec_3_3:core:Space;1"


@pytest.fixture(scope="module")
def rec():  # type: ignore[no-untyped-def]
    if not REC.is_dir():
        pytest.skip(f"RealEstateCore models not found at {REC}")
    started = time.perf_counter()
    models = load(REC)
    print(f"REC: {len(models)} interfaces loaded in {time.perf_counter() - started:.3f} s")
    return models


def test_rec_loads_all_interfaces(rec) -> None:  # type: ignore[no-untyped-def]
    assert len(rec) == 767
    assert len(rec.documents) == 767


def test_rec_space_semantics(rec) -> None:  # type: ignore[no-untyped-def]
    occupancy = rec[SPACE].properties["personOccupancy"]
    assert occupancy.writable is True
    assert occupancy.schema.kind == "integer"
    rooms = [dtmi for dtmi in rec.interfaces if dtmi.split(":")[-1].startswith("Room;")]
    assert rooms, "REC should define a Room"
    assert all(rec.is_of_model(room, SPACE) for room in rooms)
    assert set(rooms) <= rec.descendants(SPACE)
    assert not rec.is_of_model(SPACE, rooms[0])
    # inherited contents are present on the subtype
    assert "personOccupancy" in rec[rooms[0]].properties
