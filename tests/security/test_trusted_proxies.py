"""X-Forwarded-For is believed only from the proxies named in ``[server] trusted_proxies`` (none by default), over
real HTTP with futago's uvicorn options: a local process that is not a proxy cannot spoof a client address to dodge
its budget of refusals or spend another client's."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from futago.api.server import create_api
from futago.api.serving import uvicorn_options
from futago.app import App
from futago.config import load_settings
from futago.core.errors import InvalidInput
from futago.security.proxies import TrustedProxies

BURST = 10  # refusals_per_minute=20 allows a burst of 10 refused requests per client


@contextmanager
def _serving(app: App, trusted: tuple[str, ...]) -> Iterator[str]:
    app.settings = app.settings.with_overrides(require_auth=True, refusals_per_minute=2 * BURST,
                                               trusted_proxies=trusted)  # fmt: skip
    config = uvicorn.Config(create_api(app), host="127.0.0.1", port=0, log_level="warning",
                            **uvicorn_options(app.settings))  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _refused_clients(app: App) -> set[str]:
    app.audit.flush()
    return {e.detail["client"] for e in app.audit.entries() if e.action == "api.refused"}


def test_without_trusted_proxies_a_loopback_caller_cannot_spoof_its_address(app: App) -> None:
    with _serving(app, ()) as url, httpx.Client(base_url=url) as http:
        spoofed = [http.get("/twins", headers={"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(BURST)]
        assert [a.status_code for a in spoofed] == [401] * BURST
        # a new made-up address each time, yet all of them were counted against the real peer: it is turned away
        assert http.get("/twins", headers={"X-Forwarded-For": "203.0.113.99"}).status_code == 429
    assert _refused_clients(app) == {"127.0.0.1"}


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(app: App) -> None:
    with _serving(app, ("127.0.0.1", "10.0.0.0/8")) as url, httpx.Client(base_url=url) as http:
        noisy = {"X-Forwarded-For": "203.0.113.7"}
        assert [http.get("/twins", headers=noisy).status_code for _ in range(BURST)] == [401] * BURST
        assert http.get("/twins", headers=noisy).status_code == 429
        # a hop the client wrote itself (leftmost) does not change who it is: the rightmost untrusted hop decides
        forged = {"X-Forwarded-For": "192.0.2.1, 203.0.113.7, 10.0.0.2"}
        assert http.get("/twins", headers=forged).status_code == 429
        # another client behind the same proxy still has its budget
        assert http.get("/twins", headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 401
    assert _refused_clients(app) == {"203.0.113.7", "198.51.100.2"}


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    proxies = TrustedProxies(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])
    assert proxies.client("127.0.0.1", ["1.1.1.1, 203.0.113.7"]) == "203.0.113.7"
    assert proxies.client("127.0.0.1", ["1.1.1.1", "203.0.113.7, 10.1.2.3"]) == "203.0.113.7"  # two headers
    assert proxies.client("::ffff:127.0.0.1", ["203.0.113.7:5555"]) == "203.0.113.7"  # mapped peer, hop with port
    assert proxies.client("fd00::1", ["[2001:db8::1]:443"]) == "2001:db8::1"
    assert proxies.client("127.0.0.1", ["10.0.0.3, 10.0.0.2"]) == "10.0.0.3"  # all trusted: the leftmost
    assert proxies.client("127.0.0.1", ["203.0.113.7, not-an-ip, 10.0.0.2"]) == "10.0.0.2"  # stops at garbage
    assert proxies.client("127.0.0.1", []) == "127.0.0.1"
    assert proxies.client("192.0.2.50", ["203.0.113.7"]) == "192.0.2.50"  # an untrusted peer's header is ignored
    assert TrustedProxies().client("127.0.0.1", ["203.0.113.7"]) == "127.0.0.1"
    assert proxies.scheme("127.0.0.1", ["https"], "http") == "https"
    assert proxies.scheme("192.0.2.50", ["https"], "http") == "http"
    assert proxies.scheme("127.0.0.1", ["gopher"], "http") == "http"


def test_trusted_proxies_are_read_from_toml_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "futago.toml"
    config.write_text('[server]\ntrusted_proxies = ["10.0.0.5", "192.168.0.0/16"]\n', encoding="utf-8")
    assert load_settings(config, environ={}).trusted_proxies == ("10.0.0.5/32", "192.168.0.0/16")
    environ = {"FUTAGO_TRUSTED_PROXIES": "::1, 172.16.0.0/12"}
    assert load_settings(environ=environ).trusted_proxies == ("::1/128", "172.16.0.0/12")
    assert load_settings(environ={}).trusted_proxies == ()
    with pytest.raises(InvalidInput) as caught:
        load_settings(environ={"FUTAGO_TRUSTED_PROXIES": "10.0.0.5, proxy.local"})
    assert caught.value.problems[0].pointer == "/trusted_proxies" and "proxy.local" in caught.value.problems[0].message
