"""/privacy: budgets per dataset and privacy-safe releases of people counts on the JIS X 0410 mesh.

A dataset is the twins of one model (people, wearables, residents) with a Point ``geometry``. A release counts
them per mesh cell, k-anonymous, and with a mechanism differentially private, spending from the dataset's budget.
Policies name a dataset as ``privacy/<model>``: READ releases k-anonymous counts, WRITE spends its budget (a DP
release), ADMIN sets the budget.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body, Depends
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.deps import JSONRoute, get_app, json_response
from futago.app import App
from futago.city.export.scan import model_family, scan_with_geometry
from futago.core.errors import InvalidInput, NotFound
from futago.core.problems import Problem
from futago.security import privacy

router = APIRouter(tags=["privacy"], route_class=JSONRoute)

_BUDGET_EXAMPLE = {"epsilon": 1.0, "delta": 1e-5}
_RELEASE_EXAMPLE = {"model": "dtmi:futago:demo:Person;1", "mesh": "500m", "k": 10, "mechanism": "laplace",
                    "epsilon": 0.2, "area": [138.84, 35.08, 138.89, 35.12]}  # fmt: skip


def _number(body: dict[str, Any], name: str, default: float | None = None) -> float | None:
    value = body.get(name, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidInput([Problem(f"/{name}", "give a number")])
    return None if value is None else float(value)


@router.put("/privacy/budgets/{dataset}", summary="Set a dataset's total privacy budget (ε, δ)")
def set_budget(
    dataset: str,
    body: Annotated[Any, Body(examples=[_BUDGET_EXAMPLE])],
    app: App = Depends(get_app),
    access: Access = Depends(require("ADMIN", "privacy/{dataset}")),
) -> Response:
    fields = body if isinstance(body, dict) else {}
    epsilon, delta = _number(fields, "epsilon"), _number(fields, "delta", 0.0)
    if epsilon is None or epsilon <= 0 or delta is None or not 0 <= delta < 1:
        raise InvalidInput([Problem("/epsilon", "give ε > 0 and δ in [0, 1)")])
    app.store.set_privacy_budget(dataset, epsilon, delta)
    app.audit.record(access.caller, "privacy.budget", f"privacy/{dataset}", {"epsilon": epsilon, "delta": delta})
    return json_response(app.store.privacy_budget(dataset))


@router.get("/privacy/budgets/{dataset}", summary="A dataset's privacy budget and what releases have spent of it")
def get_budget(
    dataset: str, app: App = Depends(get_app), access: Access = Depends(require("READ", "privacy/{dataset}"))
) -> Response:
    budget = app.store.privacy_budget(dataset)
    if budget is None:
        raise NotFound(f"dataset '{dataset}' has no privacy budget")
    return json_response(budget)


@router.post("/privacy/releases", summary="Count a model's twins per mesh cell, k-anonymous and optionally DP")
def create_release(
    body: Annotated[Any, Body(examples=[_RELEASE_EXAMPLE])],
    app: App = Depends(get_app),
    access: Access = Depends(require("READ", "privacy")),
) -> Response:
    fields = body if isinstance(body, dict) else {}
    model = fields.get("model")
    if not isinstance(model, str) or model not in app.models.models:
        raise InvalidInput([Problem("/model", "give the id of an uploaded model whose twins are the people")])
    access.security.check(access.principal, "READ", f"privacy/{model}")
    level, k, mechanism = fields.get("mesh", "500m"), fields.get("k", 10), fields.get("mechanism")
    if mechanism is not None:  # a DP release spends the dataset's budget (PUT/GET /privacy/budgets/{model}): a write
        access.security.check(access.principal, "WRITE", f"privacy/{model}")
    epsilon, delta = _number(fields, "epsilon"), _number(fields, "delta")
    area = fields.get("area")
    if area is not None and (
        not isinstance(area, list) or len(area) != 4 or not all(isinstance(v, int | float) for v in area)
    ):
        raise InvalidInput([Problem("/area", "give [west, south, east, north] in degrees")])
    privacy.check_request(level, k, mechanism, epsilon, delta)
    # People whose model has personal data are counted only with their consent to city statistics.
    points = [
        (twin.geometry["coordinates"][1], twin.geometry["coordinates"][0])
        for twin in scan_with_geometry(app.store, model_family(app.models.models, model), None)
        if twin.geometry
        and twin.geometry.get("type") == "Point"
        and (not any(app.personal.fields_of(twin.model)) or app.personal.has_consent(twin.id, "city_statistics"))
    ]
    rng = np.random.default_rng()  # never the caller's seed: a known seed would let them subtract the noise
    result = privacy.release(points, level, k, mechanism, epsilon, delta, tuple(area) if area else None, rng)
    if mechanism is not None:  # nothing leaves unless the budget covers it (the check and the spend are atomic)
        assert epsilon is not None
        record = {"by": access.caller, "mesh": level, "k": k, "mechanism": mechanism}
        app.store.spend_privacy(model, epsilon, delta or 0.0, record)
    detail = {"model": model, "people": len(points), "mesh": level, "k": k, "mechanism": mechanism, "epsilon": epsilon}
    app.audit.record(access.caller, "privacy.release", f"privacy/{model}", detail)
    return json_response({"model": model, **result.to_json(), "budget": app.store.privacy_budget(model)})
