"""What is derived from the city twins (3D Tiles, vector tiles, their statistics), kept until a city twin changes.

Encoding a district's tiles takes a second or more; a map asks for the same tiles on every page load.
The cache key is (change generation, twin count): the generation follows ``twin.*`` events of city
models (and of unnamed models, as summary events of bulk imports have none), and the count catches
writes that published no event at all. Telemetry changes no tile (live values travel over SSE).
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

from futago.city.export.scan import CITY_PREFIX
from futago.core.events import Event, EventBus
from futago.core.ports import TwinStore

T = TypeVar("T")
_MISSING = object()


class CityCache:
    """Values computed from the city twins, each under a name, dropped together when the city changes.

    A value is computed outside the lock, so a slow tile never holds up requests for cached ones; a request
    for a value being computed waits for that computation rather than repeating it."""

    def __init__(self, store: TwinStore, bus: EventBus, limit: int = 4096) -> None:
        self.store = store
        self.limit = limit
        self._counter = itertools.count(1)
        self._generation = 0
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._computing: dict[Hashable, threading.Event] = {}
        self.unsubscribe = bus.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.type.startswith("twin.") and (event.model is None or event.model.startswith(CITY_PREFIX)):
            self._generation = next(self._counter)

    def version(self) -> tuple[int, int]:
        return (self._generation, self.store.count_twins())

    def get(self, name: Hashable, compute: Callable[[], T]) -> T:
        while True:
            key = self.version()
            with self._lock:
                if self._key != key:
                    self._values.clear()
                    self._key = key
                value = self._values.get(name, _MISSING)
                if value is not _MISSING:
                    self._values.move_to_end(name)
                    return cast(T, value)
                running = self._computing.get(name)
                if running is None:
                    running = self._computing[name] = threading.Event()
                    break
            running.wait()  # another request is computing it; then look again (it may have failed)
        try:
            computed = compute()
            with self._lock:
                if self._key == key:
                    self._values[name] = computed
                    while len(self._values) > self.limit:  # the least recently used tiles go first
                        self._values.popitem(last=False)
            return computed
        finally:
            with self._lock:
                del self._computing[name]
            running.set()
