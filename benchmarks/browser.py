"""Headless Chromium and a futago server in a thread: shared by ``futago bench web`` and the browser tests.

Chromium is Debian's package (``scripts/install-system-deps.sh``), driven by Playwright with
``executable_path``: Playwright's own browser download does not work offline. WebGL runs on SwiftShader
(the CPU), and every background network feature is off, so the page can reach nothing but the server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from futago.app import App

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-angle=swiftshader",  # WebGL on the CPU: there is no GPU here
    "--enable-unsafe-swiftshader",
    # Anything beyond this machine (a CDN, a tile service) would be a bug of an offline page: every request
    # but loopback ones (which bypass a proxy) goes to a proxy that is not there, and fails. Playwright's
    # request routing would do the same but turns off the HTTP cache and pauses every request.
    "--proxy-server=http://127.0.0.1:9",
]


class BackgroundServer:
    """The API (and dashboard) of an App on a free loopback port, in a thread, for as long as the ``with``."""

    def __init__(self, app: App) -> None:
        import uvicorn

        from futago.api.server import create_api

        # Port 0: the OS picks a free port at bind time, so two servers can never race for one.
        self.api = create_api(app)
        config = uvicorn.Config(self.api, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 10 s")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def wait_until_warm(self, timeout_s: float = 120.0) -> float:
        """Wait for the server's background encoding of the city's first tiles; the seconds it took."""
        start = time.monotonic()
        while not getattr(self.api.state, "city_warmed", False):
            if time.monotonic() - start > timeout_s:
                raise RuntimeError(f"the city's tiles were not encoded within {timeout_s:.0f} s")
            time.sleep(0.05)
        return time.monotonic() - start

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def chromium(viewport: tuple[int, int] = (1280, 800), timeout_ms: int = 60_000) -> Iterator[Any]:
    """A fresh Chromium profile (a persistent context over an empty folder) that reaches only loopback servers
    (see ``FLAGS``), closed afterwards."""
    import tempfile

    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise FileNotFoundError("Chromium is not installed: run scripts/install-system-deps.sh (Debian 'chromium')")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=FLAGS,
            headless=True,
            viewport={"width": viewport[0], "height": viewport[1]},
            timeout=timeout_ms,
        )
        try:
            yield context
        finally:
            context.close()


def open_dashboard(context: Any, url: str, errors: list[str] | None = None, timeout_ms: int = 60_000) -> Any:
    """Open the dashboard and wait until every view has loaded and the map has drawn its first frame.

    Console errors and uncaught page errors are appended to ``errors``."""
    page = context.new_page()
    if errors is not None:
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/", timeout=timeout_ms)
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=timeout_ms)
    page.wait_for_function("() => window.futago.probe.firstRenderMs !== null", timeout=timeout_ms)
    return page
