"""The README's NGSI-LD tour, as written, against a running server; the subscription's notification is received
by a real HTTP server on the port the README names."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from futago.app import App
from tests import readme_blocks
from tests.conftest import LiveServer

RECEIVER_PORT = 9999  # as the README's subscription names it


@pytest.fixture
def received() -> Iterator[list[dict[str, Any]]]:
    bodies: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    try:
        server = ThreadingHTTPServer(("127.0.0.1", RECEIVER_PORT), Receiver)
    except OSError:
        pytest.skip(f"port {RECEIVER_PORT}, which the README's subscription names, is taken on this machine")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield bodies
    server.shutdown()
    server.server_close()


def test_readme_ngsild_tour_runs_as_written(
    app: App, live_server: LiveServer, received: list[dict[str, Any]], tmp_path: Path
) -> None:
    app.start()  # this process leads: it runs the subscriptions' notifier
    (block,) = readme_blocks.blocks_for(__file__)
    outputs = [readme_blocks.run(c, tmp_path, live_server.url) for c in block.commands()]
    created, twin, simple, found, batch, subscribed, types = outputs
    assert created == "" and subscribed == ""  # 201, Location only
    assert json.loads(twin)["height"] == 3.2  # the same thing, through the twin door
    assert json.loads(simple) == {
        "id": "urn:ngsi-ld:WaterObserved:kano-1",
        "type": "WaterObserved",
        "height": 3.2,
        "location": {"type": "Point", "coordinates": [138.8627, 35.1016]},
    }
    assert [e["id"] for e in json.loads(found)] == ["urn:ngsi-ld:WaterObserved:kano-1"]
    assert json.loads(batch) == ["urn:ngsi-ld:WaterObserved:kano-2", "urn:ngsi-ld:WaterObserved:kano-3"]  # 201
    assert "WaterObserved" in json.loads(types)["typeList"]
    # A change through the twin door above 3 m is notified (keyValues) to the README's endpoint
    url = f"{live_server.url}/twins/urn:ngsi-ld:WaterObserved:kano-2"
    patch = [{"op": "replace", "path": "/height", "value": 3.4}]
    assert httpx.patch(url, json=patch, headers={"content-type": "application/json-patch+json"}).status_code < 300
    deadline = time.monotonic() + 15
    while not received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert received, "no notification arrived"
    (entity,) = received[0]["data"]
    assert entity["id"] == "urn:ngsi-ld:WaterObserved:kano-2" and entity["height"] == 3.4
    assert received[0]["subscriptionId"] == "urn:ngsi-ld:Subscription:high-water"
