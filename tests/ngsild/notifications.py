"""What the notification tests share: a real local HTTP receiver, and an App running what the leader runs."""

from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from futago.act.notify import RetryPolicy
from futago.app import App


class Receiver:
    """A local HTTP endpoint that records every notification; ``fail`` makes it answer 500."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], Any]] = []
        self.fail = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                receiver.received.append(({k: v for k, v in self.headers.items()}, body))
                self.send_response(500 if receiver.fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[Any]:
        return [body for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def leading(app: App) -> None:
    """Run what the leader runs for notifications, with quick retries."""
    named = app.notifications.named
    named.settings = dataclasses.replace(
        named.settings, retry=RetryPolicy(attempts=3, base_s=0.05, factor=1, max_s=0.1)
    )
    app.notifications.start()
    assert app.ngsild_subscriptions is not None
    app.ngsild_subscriptions.start()


def settle(app: App) -> None:
    assert app.ngsild_subscriptions is not None
    assert app.ngsild_subscriptions.wait_idle(10)
