"""The relay's wire form of an event (``Event.to_wire``/``from_wire``): the bytes other processes read stay as they
were, and what a process sends comes back whole, with the sender as its origin."""

from __future__ import annotations

import numpy as np

from futago.core.events import ALERT_RAISED, Event
from futago.scale.relay import decode, encode


def test_the_bytes_on_the_wire_name_every_field_in_their_order() -> None:
    event = Event(ALERT_RAISED, "2026-01-01T00:00:00Z", "river-1", None, {"level": np.float64(4.5)}, seq=7,
                  about=("alerts/a1",))  # fmt: skip
    assert encode([event], "p1") == (
        b'[{"type":"alert.raised","time":"2026-01-01T00:00:00Z","twinId":"river-1","model":null,'
        b'"data":{"level":4.5},"origin":"p1","about":["alerts/a1"]}]'
    )


def test_an_event_comes_back_whole_from_another_process() -> None:
    sent = Event("twin.updated", "2026-01-01T00:00:00Z", "pump-1", "dtmi:x:Pump;1", {"etag": "W/1"})
    (received,) = decode(encode([sent], "p2"))
    assert (received.type, received.time, received.twin_id, received.model, received.data) == (
        sent.type, sent.time, sent.twin_id, sent.model, sent.data,
    )  # fmt: skip
    assert received.origin == "p2" and received.about == () and received.seq != sent.seq
    assert decode(b'[{"type": "x", "time": "t", "origin": 5, "data": null}]')[0].data == {}
