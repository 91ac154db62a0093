"""One NATS connection for synchronous callers: nats-py is asyncio, futago's connectors and services are threads.

The connection lives on an event loop in a thread of its own; ``call`` runs a coroutine there and waits for it.
``futago.scale`` builds the ingestion log, the event relay and the ingestion workers on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from futago.core.secrets import redact_url

T = TypeVar("T")

__all__ = ["Msg", "NatsLink"]  # Msg: what a subscriber of the link receives


class NatsLink:
    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"futago-nats-{name}", daemon=True)
        self._thread.start()
        try:
            self.client: Client = self.call(
                nats.connect(url, name=name, connect_timeout=5, max_reconnect_attempts=-1, allow_reconnect=True),
                timeout=15,
            )
        except Exception as exc:
            self._stop_loop()
            raise ConnectionError(f"cannot reach NATS at {redact_url(url)}: {exc}") from exc
        self.js: JetStreamContext = self.client.jetstream()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 60) -> T:
        """Run ``coroutine`` on the link's loop and return its result (from any thread but the loop's own)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        # Flush what was published (events, log messages), then close; nothing needs draining: what a worker took
        # without acknowledging comes again to whoever consumes the partition next.
        with contextlib.suppress(Exception):
            self.call(self.client.flush(timeout=5), timeout=10)
        with contextlib.suppress(Exception):
            self.call(self.client.close(), timeout=10)
        self._stop_loop()

    def _stop_loop(self) -> None:
        async def cancel_the_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.call(cancel_the_rest(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()
