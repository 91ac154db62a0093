"""What /health reports: liveness, the store in use and a few counts, for load balancers and people.

The counts are of the whole store, with a breakdown by model namespace (``dtmi:futago:demo`` → ``demo``), so that
a figure can be traced to what put it there: ``futago demo`` prints the same report at start-up, where its sample
district, the flood scenario's generated city and the plant's reactor each show as their own line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from futago import __version__
from futago.core.dtdl import ModelSet


class CountedStore(Protocol):
    """What health reads of the store: where it is, and how many twins it holds (of which models)."""

    @property
    def url(self) -> str: ...

    def count_twins(self) -> int: ...

    def count_twins_of_models(self, model_ids: Iterable[str]) -> int: ...


def namespace(model_id: str) -> str:
    """A model's namespace, short: ``dtmi:futago:city:Building;1`` → ``city``; ``dtmi:com:acme:Pump;1`` →
    ``com:acme``."""
    path = model_id.split(";", 1)[0].split(":")[1:-1]
    if path[:1] == ["futago"] and len(path) > 1:
        path = path[1:]
    return ":".join(path) or model_id


class HealthService:
    def __init__(self, store: CountedStore, models: Callable[[], ModelSet]) -> None:
        self.store = store
        self.models = models

    def report(self) -> dict[str, Any]:
        models = list(self.models())
        by_namespace: dict[str, list[str]] = defaultdict(list)
        for model_id in models:
            by_namespace[namespace(model_id)].append(model_id)
        breakdown = {
            name: {"models": len(ids), "twins": self.store.count_twins_of_models(ids)}
            for name, ids in sorted(by_namespace.items())
        }
        return {
            "status": "ok",
            "version": __version__,
            "store": self.store.url,
            "models": len(models),
            "twins": self.store.count_twins(),
            "byNamespace": breakdown,
        }

    def summary(self) -> str:
        """The report as one line for people: ``15 models, 554 twins (city: 7 models, 520 twins; ...)``."""
        report = self.report()
        parts = "; ".join(
            f"{name}: {c['models']} models, {c['twins']} twins" for name, c in report["byNamespace"].items()
        )
        return f"{report['models']} models, {report['twins']} twins" + (f" ({parts})" if parts else "")
