"""What /health reports: liveness, the store in use and a few counts, for load balancers and people."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from futago import __version__
from futago.core.dtdl import ModelSet


class CountedStore(Protocol):
    """What health reads of the store: where it is, and how many twins it holds."""

    @property
    def url(self) -> str: ...

    def count_twins(self) -> int: ...


class HealthService:
    def __init__(self, store: CountedStore, models: Callable[[], ModelSet]) -> None:
        self.store = store
        self.models = models

    def report(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "store": self.store.url,
            "models": len(self.models()),
            "twins": self.store.count_twins(),
        }
