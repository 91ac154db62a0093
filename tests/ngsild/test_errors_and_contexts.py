"""NGSI-LD errors (ProblemDetails types, RFC 9457) and JSON-LD contexts: the Link header, bodies, fetching."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.app import App
from futago.services.ngsild import ContextResolver, ContextSettings
from futago.services.ngsild.errors import LdContextNotAvailable
from tests.ngsild.conftest import BASE, CORE, LD

ERR = "https://uri.etsi.org/ngsi-ld/errors/"
USER_CONTEXT = {
    "@context": {
        "sdm": "https://smartdatamodels.org/",
        "WaterObserved": "https://smartdatamodels.org/dataModel.Environment/WaterObserved",
        "flow": "https://smartdatamodels.org/dataModel.Environment/flow",
        "temperature": "sdm:temperature",
    }
}


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == ERR + kind and body["status"] == status and body["detail"]
    return body


def test_errors_carry_ngsi_ld_problem_types(client: TestClient) -> None:
    entity = {"id": "urn:ngsi-ld:Thing:1", "type": "Thing", "size": {"type": "Property", "value": 1}}
    assert client.post(f"{BASE}/entities", json=entity).status_code == 201
    problem(client.post(f"{BASE}/entities", json=entity), 409, "AlreadyExists")
    problem(client.get(f"{BASE}/entities/urn:ngsi-ld:Thing:2"), 404, "ResourceNotFound")
    problem(client.post(f"{BASE}/entities", content=b"<x/>", headers={"Content-Type": "text/xml"}), 415,
            "UnsupportedMediaType")  # fmt: skip
    problem(client.post(f"{BASE}/entities", content=b"{nope", headers={"Content-Type": "application/json"}), 400,
            "InvalidRequest")  # fmt: skip
    problem(client.post(f"{BASE}/entities", json={"id": "not a uri", "type": "Thing"}), 400, "BadRequestData")
    problem(client.post(f"{BASE}/entities", json={"id": "urn:ngsi-ld:Thing:3"}), 400, "BadRequestData")
    problem(client.post(f"{BASE}/entities", json={**entity, "@context": CORE}), 400, "BadRequestData")
    problem(client.post(f"{BASE}/entities", json=entity, headers=LD), 400, "BadRequestData")  # no @context
    problem(client.get(f"{BASE}/entities/urn:ngsi-ld:Thing:1", headers={"Accept": "text/html"}), 406, "NotAcceptable")
    problem(client.get(f"{BASE}/entities"), 400, "BadRequestData")  # a query needs a type, ids or attrs
    problem(client.get(f"{BASE}/entities", params={"type": "Thing", "limit": "x"}), 400, "BadRequestData")
    problem(client.get(f"{BASE}/entities", params={"idPattern": "(["}), 400, "BadRequestData")
    bad_value = {"type": "Property", "value": None}
    problem(client.post(f"{BASE}/entities/urn:ngsi-ld:Thing:1/attrs", json={"size": bad_value}), 400, "BadRequestData")
    # nothing was lost or half-written by the refusals
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:Thing:1", params={"options": "keyValues"}).json()["size"] == 1


def test_a_user_context_in_the_link_header_expands_and_compacts(app: App, client: TestClient) -> None:
    fetched: list[str] = []

    def fetch(url: str, timeout_s: float, max_bytes: int) -> bytes:
        fetched.append(url)
        return json.dumps(USER_CONTEXT).encode()

    assert app.ngsild is not None
    app.ngsild.contexts = ContextResolver(fetch=fetch)
    link = {"Link": '<https://example.org/ctx.jsonld>; rel="http://www.w3.org/ns/json-ld#context"'}
    entity = {"id": "urn:ngsi-ld:WaterObserved:1", "type": "WaterObserved", "flow": {"type": "Property", "value": 3.5}}
    assert client.post(f"{BASE}/entities", json=entity, headers=link).status_code == 201
    # without the context, the same entity answers with full IRIs
    plain = client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:1").json()
    assert plain["type"] == "https://smartdatamodels.org/dataModel.Environment/WaterObserved"
    assert plain["https://smartdatamodels.org/dataModel.Environment/flow"]["value"] == 3.5
    compacted = client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:1", headers=link)
    assert compacted.json()["type"] == "WaterObserved" and compacted.json()["flow"]["value"] == 3.5
    assert "example.org/ctx.jsonld" in compacted.headers["link"]
    found = client.get(f"{BASE}/entities", params={"type": "WaterObserved"}, headers=link).json()
    assert [e["id"] for e in found] == ["urn:ngsi-ld:WaterObserved:1"]
    assert fetched == ["https://example.org/ctx.jsonld"]  # fetched once, then cached
    # an inline context in a JSON-LD body works as well, and the model keeps the type IRI
    inline = {"@context": [USER_CONTEXT["@context"], CORE], **entity, "id": "urn:ngsi-ld:WaterObserved:2"}
    assert client.post(f"{BASE}/entities", json=inline, headers=LD).status_code == 201
    assert (
        client.get("/twins/urn:ngsi-ld:WaterObserved:2")
        .json()["$metadata"]["$model"]
        .startswith("dtmi:ngsild:WaterObserved:h")
    )


def test_an_unreachable_context_is_ld_context_not_available(app: App, client: TestClient) -> None:
    def fail(url: str, timeout_s: float, max_bytes: int) -> bytes:
        raise OSError("connection refused")

    assert app.ngsild is not None
    app.ngsild.contexts = ContextResolver(fetch=fail)
    link = {"Link": '<https://example.org/down.jsonld>; rel="http://www.w3.org/ns/json-ld#context"'}
    response = client.get(f"{BASE}/entities", params={"type": "T"}, headers=link)
    problem(response, 503, "LdContextNotAvailable")
    local = {"Link": '<file:///etc/passwd>; rel="http://www.w3.org/ns/json-ld#context"'}
    problem(client.get(f"{BASE}/entities", params={"type": "T"}, headers=local), 400, "LdContextNotAvailable")


@pytest.fixture
def context_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server that serves one @context and counts the requests for it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = json.dumps(USER_CONTEXT).encode()
            self.send_response(200 if self.path == "/ctx.jsonld" else 404)
            self.send_header("Content-Type", "application/ld+json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_contexts_are_fetched_over_http_cached_and_bounded(
    context_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, hits = context_server
    resolver = ContextResolver(ContextSettings(cache_entries=2, ttl_s=3600))
    terms = resolver.resolve(f"{base}/ctx.jsonld")
    assert terms.expand("flow") == "https://smartdatamodels.org/dataModel.Environment/flow"
    assert terms.expand("temperature") == "https://smartdatamodels.org/temperature"
    assert terms.compact("https://smartdatamodels.org/dataModel.Environment/flow") == "flow"
    assert terms.expand("observedAt") == "https://uri.etsi.org/ngsi-ld/observedAt"  # the core context stays
    resolver.resolve([f"{base}/ctx.jsonld", {"extra": "https://example.org/extra"}])
    assert hits == ["/ctx.jsonld"]
    with pytest.raises(LdContextNotAvailable):
        resolver.resolve(f"{base}/missing.jsonld")
    small = ContextResolver(ContextSettings(max_bytes=10))
    with pytest.raises(LdContextNotAvailable):
        small.resolve(f"{base}/ctx.jsonld")
    copy = tmp_path / "ctx.json"
    copy.write_text(json.dumps(USER_CONTEXT))
    offline = ContextResolver(ContextSettings(offline={"https://example.org/offline.jsonld": str(copy)}))
    assert offline.resolve("https://example.org/offline.jsonld").expand("flow").endswith("Environment/flow")
    assert len(hits) == 3  # the offline copy was read, not fetched


def test_the_core_context_is_built_in() -> None:
    resolver = ContextResolver(fetch=lambda *a: (_ for _ in ()).throw(AssertionError("fetched")))
    terms = resolver.resolve(CORE)
    assert terms.expand("location") == "https://uri.etsi.org/ngsi-ld/location"
    assert terms.expand("temperature") == "https://uri.etsi.org/ngsi-ld/default-context/temperature"
    assert terms.compact("https://uri.etsi.org/ngsi-ld/default-context/temperature") == "temperature"
    assert terms.expand("unitCode") == "https://uri.etsi.org/ngsi-ld/unitCode"
