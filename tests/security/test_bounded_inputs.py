"""Bounded memory and stack on every input (issue 15, items 8, 13 and the slowloris part of 14).

Each test sends what an attacker sent: a large NDJSON body, more bulk bodies than the server parses at once,
DTDL and JMESPath nested far past any real need, and HTTP headers a byte at a time or from too many sockets.
The answer is a result or a problem with a pointer: never a 500, a RecursionError or memory without bound.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.api.serving import uvicorn_options
from futago.app import App
from futago.cli import main
from futago.config import Settings
from futago.core.dtdl.model_set import validate
from futago.core.errors import InvalidInput
from futago.ingest.mapping import Mapper
from futago.ingest.records import MAX_LINE_BYTES
from tests.conftest import LiveServer

M = "dtmi:futago:demo:"
CTX = "dtmi:dtdl:context;3"
NDJSON = {"content-type": "application/x-ndjson"}
T0 = 1_767_225_600_000


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app), raise_server_exceptions=False) as test_client:
        assert test_client.put("/twins/rs", json={"$metadata": {"$model": M + "RiverStation;1"}}).status_code == 201
        yield test_client


def _ndjson(count: int) -> bytes:
    line = b'{"name": "waterLevel", "ts": %d, "value": %d.25, "quality": 1}'
    return b"\n".join(line % (T0 + i * 1000, i % 1000) for i in range(count))


def _stored(client: TestClient) -> int:
    points = client.get("/twins/rs/telemetry", params={"name": "waterLevel", "limit": 1_000_000}).json()["points"]
    return len(points)


# -- item 8: NDJSON is parsed as it arrives --------------------------------------------------------------------
def test_a_12_mb_ndjson_body_is_parsed_in_bounded_memory(client: TestClient) -> None:
    body = _ndjson(160_000)
    assert len(body) > 11_000_000
    tracemalloc.start()
    try:
        response = client.post("/twins/rs/telemetry", content=body, headers=NDJSON)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 160_000}
    # Read whole and then parsed, the same body peaked at over 5 times its size (60 MB); streamed, what
    # is held is one batch of parsed lines plus the validated readings in compact columns.
    assert peak < 30_000_000, f"peak {peak / 1e6:.0f} MB for a {len(body) / 1e6:.0f} MB body"


def test_a_bad_line_after_many_batches_names_its_line_and_stores_nothing(client: TestClient) -> None:
    good = _ndjson(12_000)  # more than two batches of lines
    bad_json = client.post("/twins/rs/telemetry", content=good + b"\n\n{oops", headers=NDJSON)
    assert bad_json.status_code == 422
    assert bad_json.headers["content-type"].startswith("application/problem+json")
    assert bad_json.json()["pointer"] == "/12001"  # 0-based lines, the empty one counted, as before
    bad_reading = client.post(
        "/twins/rs/telemetry", content=good + b'\n{"name": "waterLevel", "ts": "soon", "value": 1}', headers=NDJSON
    )
    assert bad_reading.status_code == 422 and bad_reading.json()["pointer"] == "/12000/ts"
    bad_value = client.post(
        "/twins/rs/telemetry", content=good + b'\n{"name": "waterLevel", "ts": 0, "value": "high"}', headers=NDJSON
    )
    assert bad_value.status_code == 422 and bad_value.json()["pointer"].startswith("/12000")
    assert _stored(client) == 0  # the good batches before the bad line were not stored either


def test_a_line_without_end_is_refused_at_the_line_limit(client: TestClient) -> None:
    body = _ndjson(3) + b"\n" + b'{"name": "waterLevel", "pad": "' + b"x" * MAX_LINE_BYTES + b'"}'
    response = client.post("/twins/rs/telemetry", content=body, headers=NDJSON)
    assert response.status_code == 422 and response.json()["pointer"] == "/3"
    assert "longer than" in response.json()["detail"]
    crlf = client.post("/twins/rs/telemetry", content=_ndjson(4).replace(b"\n", b"\r\n"), headers=NDJSON)
    assert crlf.json() == {"accepted": 4}


def _hold_bulk_upload(port: int) -> socket.socket:
    """A bulk upload that has sent its headers and one line, and keeps the rest of its body back."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    line = _ndjson(1) + b"\n"
    sock.sendall(
        b"POST /twins/rs/telemetry HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\n"
        b"content-length: 1000000\r\n\r\n" + line
    )
    return sock


def _post(port: int) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        body = _ndjson(2)
        sock.sendall(
            b"POST /twins/rs/telemetry HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\n"
            b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, payload


def test_bulk_bodies_beyond_the_limit_are_refused_with_429(app: App) -> None:
    app.twins.put("rs", {"$metadata": {"$model": M + "RiverStation;1"}})
    with LiveServer(app) as server:
        gate = server.api.state.bulk_gate
        assert gate.limit == Settings().max_bulk_requests == 2
        held = [_hold_bulk_upload(server.port) for _ in range(gate.limit)]
        try:
            for _ in range(500):  # both uploads are inside the gate once their first bytes are read
                if gate.busy == gate.limit:
                    break
                time.sleep(0.01)
            assert gate.busy == gate.limit
            status, headers, payload = _post(server.port)
            assert status == 429
            assert headers["retry-after"] == "1"
            assert headers["content-type"].startswith("application/problem+json")
            assert json.loads(payload)["status"] == 429
        finally:
            for sock in held:
                sock.close()
        for _ in range(500):  # the abandoned uploads leave the gate
            if gate.busy == 0:
                break
            time.sleep(0.01)
        assert gate.busy == 0
        assert _post(server.port)[0] == 202


# -- item 13: depth is refused before anything recurses over it -------------------------------------------------
def _chain(count: int) -> list[dict[str, Any]]:
    return [
        {"@context": CTX, "@id": f"dtmi:x:I{i};1", "@type": "Interface", **({"extends": [f"dtmi:x:I{i + 1};1"]}
                                                                          if i < count - 1 else {})}
        for i in range(count)
    ]  # fmt: skip


def _nested_arrays(depth: int) -> Any:
    schema: Any = "double"
    for _ in range(depth):
        schema = {"@type": "Array", "elementSchema": schema}
    return schema


def test_a_2000_long_extends_chain_is_a_422_with_a_pointer(client: TestClient) -> None:
    response = client.post("/models", json=_chain(2000))
    assert response.status_code == 422, response.text
    assert response.json()["pointer"] == "/extends/0"
    assert "at most 10 levels" in response.json()["detail"]


def test_every_recursion_of_dtdl_is_bounded() -> None:
    problems = validate(_chain(2000))
    assert [(p.id, p.pointer) for p in problems] == [("dtmi:x:I1988;1", "/extends/0")]  # the first too deep
    components = [
        {"@context": CTX, "@id": f"dtmi:x:C{i};1", "@type": "Interface",
         "contents": [{"@type": "Component", "name": "c", "schema": f"dtmi:x:C{i + 1};1"}] if i < 1999 else []}
        for i in range(2000)
    ]  # fmt: skip
    problems = validate(components)
    assert problems and all("nested Components" in p.message for p in problems)
    inline: dict[str, Any] = {"@context": CTX, "@id": "dtmi:x:J0;1", "@type": "Interface"}
    node = inline
    for i in range(1, 2000):
        node["extends"] = node = {"@id": f"dtmi:x:J{i};1", "@type": "Interface"}
    problems = validate([inline])
    assert len(problems) == 1 and problems[0].pointer == "/extends" * 11
    named = [
        {"@id": f"dtmi:x:S{i};1", "@type": "Array", "elementSchema": f"dtmi:x:S{i + 1};1" if i < 1999 else "double"}
        for i in range(2000)
    ]
    doc = {"@context": CTX, "@id": "dtmi:x:K;1", "@type": "Interface", "schemas": named,
           "contents": [{"@type": "Telemetry", "name": "t", "schema": "dtmi:x:S0;1"}]}  # fmt: skip
    problems = validate([doc])
    assert any(p.pointer == "/contents/0/schema" and "1999 levels" in p.message for p in problems)
    ok = {"@context": CTX, "@id": "dtmi:x:L;1", "@type": "Interface",
          "contents": [{"@type": "Telemetry", "name": "t", "schema": _nested_arrays(6)}]}  # fmt: skip
    assert validate([ok]) == []  # six Arrays: five levels below the outermost, the most DTDL allows


def test_models_validate_reports_a_schema_300_deep(tmp_path: Path) -> None:
    doc = {"@context": CTX, "@id": "dtmi:x:D;1", "@type": "Interface",
           "contents": [{"@type": "Telemetry", "name": "t", "schema": _nested_arrays(300)}]}  # fmt: skip
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(doc))  # orjson writes at most 254 levels
    result = CliRunner().invoke(main, ["models", "validate", "--json", str(path)])
    assert result.exit_code == 1, result.output
    problems = json.loads(result.output)["problems"]
    assert [p["pointer"] for p in problems] == ["/contents/0/schema"]
    assert "at most 5" in problems[0]["message"]


@pytest.mark.parametrize(
    "expression",
    ["(" * 600 + "a" + ")" * 600, "!" * 900 + "a", "a" + "|a" * 400, "[" * 300 + "a" + "]" * 300, "a" * 2000],
)
def test_mapping_expressions_are_refused_before_jmespath_recurses(expression: str) -> None:
    config = [{"source": "s/{id}", "twin": "{id}", "telemetry": "t", "value": expression}]
    with pytest.raises(InvalidInput) as caught:
        Mapper.from_config(config)
    assert caught.value.problems[0].pointer == "/mappings/0/value"


def test_a_template_that_cannot_format_is_refused_when_configured() -> None:
    for template in ("{0}", "{id.x}", "pump-{"):
        with pytest.raises(InvalidInput) as caught:
            Mapper.from_config([{"source": "s/{id}", "twin": template, "telemetry": "t"}])
        assert caught.value.problems[0].pointer == "/mappings/0/twin"


# -- item 14: slowloris -----------------------------------------------------------------------------------------
async def _hello(scope: Any, receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def guarded_port() -> Iterator[int]:
    """A real uvicorn with futago's serving options: 0.5 s for headers, at most 3 connections."""
    settings = Settings(header_timeout_s=0.5, max_connections=3)
    config = uvicorn.Config(_hello, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                            **uvicorn_options(settings))  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started:
            break
        time.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)


def _answer(sock: socket.socket) -> bytes:
    try:
        return sock.recv(4096)
    except (ConnectionResetError, TimeoutError):
        return b""


def test_headers_sent_a_byte_at_a_time_are_cut_off(guarded_port: int) -> None:
    head = b"GET / HTTP/1.1\r\nhost: x\r\n" + b"".join(b"x-pad-%d: y\r\n" % i for i in range(200)) + b"\r\n"
    with socket.create_connection(("127.0.0.1", guarded_port), timeout=5) as sock:
        sent = 0
        try:
            for byte in head:  # bounded: the loop ends with the head or with the closed connection
                sock.sendall(bytes([byte]))
                sent += 1
                time.sleep(0.005)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < len(head)
        assert _answer(sock).startswith(b"HTTP/1.1 408")


def test_a_second_request_on_a_kept_alive_connection_has_the_same_deadline(guarded_port: int) -> None:
    with socket.create_connection(("127.0.0.1", guarded_port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        first = b""
        while not first.endswith(b"ok"):  # the whole first answer, head and body
            chunk = _answer(sock)
            assert chunk, first
            first += chunk
        assert first.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET / HTTP/1.1\r\n")  # and nothing more
        assert _answer(sock).startswith(b"HTTP/1.1 408")


def test_connections_beyond_the_cap_are_closed(guarded_port: int) -> None:
    held = [socket.create_connection(("127.0.0.1", guarded_port), timeout=5) for _ in range(3)]
    try:
        with socket.create_connection(("127.0.0.1", guarded_port), timeout=5) as extra:
            assert _answer(extra) == b""  # closed without a word, not held open
    finally:
        for sock in held:
            sock.close()
    for _ in range(100):  # bounded: once the server has seen the closes, a client is served again
        with socket.create_connection(("127.0.0.1", guarded_port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            if _answer(sock).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.02)
    pytest.fail("the server did not serve again after the held connections closed")
