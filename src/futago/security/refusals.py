"""A bounded audit of refused requests: one entry per client, caller and window, not one per refusal.

Anyone can send refused requests, as many as they like, with paths of ~100 kB; the audit is append-only, so an
entry per refusal would let anonymous traffic fill the disk. Instead each (client address, caller) gets a window
(a minute by default) that counts its refusals, their status codes and keeps a few example requests, cut to
``PATH_CHARS``; the window is written as one entry once it has ended (at the next refusal of anyone after
that), when the server stops, or when the audit is read. At most ``MAX_OPEN`` windows are open at once; beyond
that, refusals of further clients share one overflow window, so the store grows by at most ``MAX_OPEN + 1``
entries a window whatever the traffic.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from futago.security.audit import AuditLog

WINDOW_S = 60.0
PATH_CHARS = 200  # enough to see what was tried; an attacker's 100 kB path is not kept
EXAMPLES = 3
MAX_OPEN = 1000
OVERFLOW = ("*", "*")  # the window of the clients beyond MAX_OPEN


@dataclass
class _Window:
    started: float  # monotonic
    first: str  # wall-clock time of the first refusal, for the reader
    last: str = ""
    count: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def example(method: str, path: str) -> str:
    """``METHOD path``, the path cut to PATH_CHARS with its full length said."""
    if len(path) > PATH_CHARS:
        path = f"{path[:PATH_CHARS]}… ({len(path)} characters)"
    return f"{method} {path}"


class RefusalSummary:
    def __init__(
        self, audit: AuditLog, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.audit = audit
        self.window_s = window_s
        self.clock = clock
        self._open: dict[tuple[str, str], _Window] = {}  # in the order they opened: the oldest first
        self._lock = threading.Lock()

    def add(self, client: str | None, caller: str, method: str, path: str, status: int) -> None:
        """Count one refused request; writes the windows that have ended meanwhile."""
        now = self.clock()
        with self._lock:
            ended = self._take_ended(now)
            key = (client or "unknown", caller)
            if key not in self._open and len(self._open) >= MAX_OPEN:
                key = OVERFLOW
            window = self._open.get(key)
            if window is None:
                window = self._open[key] = _Window(now, _now())
            window.count += 1
            window.last = _now()
            window.statuses[status] += 1
            if len(window.examples) < EXAMPLES:
                window.examples.append(example(method, path))
        self._write(ended)

    def flush(self) -> None:
        """Write every open window now (the server stops, or someone reads the audit)."""
        with self._lock:
            ended, self._open = list(self._open.items()), {}
        self._write(ended)

    def _take_ended(self, now: float) -> list[tuple[tuple[str, str], _Window]]:
        ended = []
        for key, window in self._open.items():  # oldest first: stop at the first one still open
            if now - window.started < self.window_s:
                break
            ended.append((key, window))
        for key, _ in ended:
            del self._open[key]
        return ended

    def _write(self, ended: list[tuple[tuple[str, str], _Window]]) -> None:
        for (client, caller), window in ended:
            detail = {
                "client": client,
                "count": window.count,
                "statuses": {str(status): n for status, n in sorted(window.statuses.items())},
                "examples": window.examples,
                "from": window.first,
                "to": window.last,
            }
            self.audit.record(caller, "api.refused", f"clients/{client}", detail)
