"""The composition root: reads the settings and wires adapters into services.

This is the only module that knows every concrete class.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from futago.config import Settings
from futago.core.errors import InvalidInput, NotFound
from futago.core.events import TWIN_DELETED, TWIN_UPDATED, Event, EventBus
from futago.core.problems import Problem
from futago.core.telemetry import ValueKind
from futago.services.models import ModelService
from futago.services.telemetry import TelemetryService
from futago.services.twins import TwinService
from futago.store.port import Store

log = logging.getLogger(__name__)

_NUMERIC_KINDS: dict[str, ValueKind] = {
    "double": "f8",
    "float": "f8",
    "decimal": "f8",
    "integer": "i8",
    "long": "i8",
    "short": "i8",
    "byte": "i8",
    "unsignedByte": "i8",
    "unsignedShort": "i8",
    "unsignedInteger": "i8",
    "unsignedLong": "f8",  # beyond int64; stored as a double
    "boolean": "b1",
}


def open_store(url: str) -> Store:
    """Pick the adapter for a store URL: a path or sqlite:///path (the default)."""
    if url.startswith(("postgresql://", "postgres://")):
        raise InvalidInput(
            [Problem("/store/db", "the PostgreSQL adapter is not available in this version yet")]
        )
    path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
    from futago.store.sqlite import SQLiteStore

    return SQLiteStore(Path(path) if path != ":memory:" else path)


class TelemetryKinds:
    """Resolves (twin, telemetry) to its value kind from the twin's model, with a small cache."""

    def __init__(self, store: Store, models: ModelService, bus: EventBus) -> None:
        self.store = store
        self.models = models
        self._twin_models: dict[str, str] = {}
        self._lock = threading.Lock()
        bus.subscribe(self._forget)

    def _forget(self, event: Event) -> None:
        if event.type in (TWIN_UPDATED, TWIN_DELETED) and event.twin_id:
            with self._lock:
                self._twin_models.pop(event.twin_id, None)

    def __call__(self, twin_id: str, name: str) -> ValueKind:
        model = self._twin_models.get(twin_id)
        if model is None:
            twin = self.store.get_twin(twin_id)
            if twin is None:
                raise NotFound(f"twin '{twin_id}' does not exist")
            model = twin.model
            with self._lock:
                if len(self._twin_models) > 200_000:
                    self._twin_models.clear()
                self._twin_models[twin_id] = model
        telemetry = self.models.interface(model).telemetry.get(name)
        if telemetry is None:
            declared = ", ".join(sorted(self.models.interface(model).telemetry)) or "none"
            raise InvalidInput(
                [
                    Problem(
                        "/name",
                        f"twin '{twin_id}' ({model}) has no telemetry '{name}'; it declares {declared}",
                    )
                ]
            )
        return _NUMERIC_KINDS.get(telemetry.schema.kind, "json")


@dataclass
class App:
    settings: Settings
    store: Store
    bus: EventBus
    models: ModelService
    twins: TwinService
    telemetry: TelemetryService

    def apply_retention(self, now_us: int | None = None) -> int:
        """Drop readings older than the configured retention; returns how many went."""
        if self.settings.retention_days is None:
            return 0
        now_us = now_us if now_us is not None else time.time_ns() // 1000
        return self.store.apply_retention(now_us - int(self.settings.retention_days * 86_400e6))

    def start_maintenance(self, every_s: float = 3600.0) -> threading.Event:
        """Apply the retention policy now and then every ``every_s``; set the event to stop."""
        stop = threading.Event()

        def loop() -> None:
            while True:
                try:
                    removed = self.apply_retention()
                    if removed:
                        log.info("retention removed %d readings", removed)
                except Exception:  # keep the server up; the next pass tries again
                    log.exception("retention pass failed")
                if stop.wait(every_s):
                    return

        threading.Thread(target=loop, name="futago-maintenance", daemon=True).start()
        return stop

    def close(self) -> None:
        self.store.close()


def build(settings: Settings) -> App:
    store = open_store(settings.db)
    bus = EventBus()
    models = ModelService(store, bus)
    twins = TwinService(store, models, bus)
    telemetry = TelemetryService(store, bus, TelemetryKinds(store, models, bus))
    return App(settings, store, bus, models, twins, telemetry)
