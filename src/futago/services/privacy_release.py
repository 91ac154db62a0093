"""Privacy-safe releases of people counts on the JIS X 0410 mesh, and the privacy budget of each dataset.

A dataset is the twins of one model (people, wearables, residents) with a Point ``geometry``. A release counts
them per mesh cell, k-anonymous, and with a mechanism differentially private, spending from the dataset's budget
(``futago.security.privacy`` holds the mathematics; this is the use case around it: who is counted, what is
spent, what is audited). Authorisation stays with the caller (the API checks ``privacy/<model>``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeGuard

import numpy as np

from futago.city.export.scan import model_family, scan_with_geometry
from futago.core.dtdl import ModelSet
from futago.core.errors import InvalidInput, NotFound
from futago.core.ports import PrivacyStore, TwinStore
from futago.core.privacy import PrivacySpend
from futago.core.problems import Problem
from futago.security import privacy
from futago.security.audit import AuditLog
from futago.security.personal import PersonalData


class PrivacyReleaseStore(PrivacyStore, TwinStore, Protocol):
    """The budgets and spends, and the twins whose positions are counted."""


class PrivacyReleaseService:
    def __init__(
        self, store: PrivacyReleaseStore, models: Callable[[], ModelSet], personal: PersonalData, audit: AuditLog
    ) -> None:
        self.store = store
        self.models = models  # the model set as it is now (models are uploaded while the server runs)
        self.personal = personal
        self.audit = audit

    def is_dataset(self, model: object) -> TypeGuard[str]:
        """Whether ``model`` names an uploaded model, whose twins can be counted."""
        return isinstance(model, str) and model in self.models()

    def set_budget(self, dataset: str, epsilon: float | None, delta: float | None, by: str) -> dict[str, Any] | None:
        if epsilon is None or epsilon <= 0 or delta is None or not 0 <= delta < 1:
            raise InvalidInput([Problem("/epsilon", "give ε > 0 and δ in [0, 1)")])
        self.store.set_privacy_budget(dataset, epsilon, delta)
        self.audit.record(by, "privacy.budget", f"privacy/{dataset}", {"epsilon": epsilon, "delta": delta})
        return self._budget_json(dataset)

    def budget(self, dataset: str) -> dict[str, Any]:
        budget = self.store.privacy_budget(dataset)
        if budget is None:
            raise NotFound(f"dataset '{dataset}' has no privacy budget")
        return budget.to_json()

    def _budget_json(self, dataset: str) -> dict[str, Any] | None:
        budget = self.store.privacy_budget(dataset)
        return None if budget is None else budget.to_json()

    def release(
        self,
        model: str,
        level: Any,
        k: Any,
        mechanism: Any,
        epsilon: float | None,
        delta: float | None,
        area: tuple[float, float, float, float] | None,
        by: str,
    ) -> dict[str, Any]:
        """Count the twins of ``model`` (sub-models too) per mesh cell; with a ``mechanism``, spend ``epsilon``
        (and ``delta``) from the dataset's budget first-or-never: nothing leaves unless the budget covers it."""
        privacy.check_request(level, k, mechanism, epsilon, delta)
        points = self._points(model)
        rng = np.random.default_rng()  # never the caller's seed: a known seed would let them subtract the noise
        result = privacy.release(points, level, k, mechanism, epsilon, delta, area, rng)
        if mechanism is not None:  # the check and the spend are atomic in the store
            assert epsilon is not None
            self.store.spend_privacy(model, epsilon, delta or 0.0, PrivacySpend(by, level, k, mechanism))
        detail = {"model": model, "people": len(points), "mesh": level, "k": k, "mechanism": mechanism,
                  "epsilon": epsilon}  # fmt: skip
        self.audit.record(by, "privacy.release", f"privacy/{model}", detail)
        return {"model": model, **result.to_json(), "budget": self._budget_json(model)}

    def _points(self, model: str) -> list[tuple[float, float]]:
        """(lat, lon) of each twin with a Point; people whose model has personal data are counted only with their
        consent to city statistics."""
        return [
            (twin.geometry["coordinates"][1], twin.geometry["coordinates"][0])
            for twin in scan_with_geometry(self.store, model_family(self.models(), model), None)
            if twin.geometry
            and twin.geometry.get("type") == "Point"
            and (not any(self.personal.fields_of(twin.model)) or self.personal.has_consent(twin.id, "city_statistics"))
        ]
