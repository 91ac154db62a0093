"""/privacy: budgets per dataset and privacy-safe releases of people counts on the JIS X 0410 mesh.

A dataset is the twins of one model (people, wearables, residents) with a Point ``geometry``. A release counts
them per mesh cell, k-anonymous, and with a mechanism differentially private, spending from the dataset's budget
(``futago.services.privacy_release``). Policies name a dataset as ``privacy/<model>``: READ releases k-anonymous
counts, WRITE spends its budget (a DP release), ADMIN sets the budget.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.answers import PrivacyBudget, PrivacyRelease
from futago.api.bodies import BudgetRequest, ReleaseRequest, described_by
from futago.api.deps import JSONRoute, json_response
from futago.api.providers import privacy_release_service
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.services.privacy_release import PrivacyReleaseService

router = APIRouter(tags=["privacy"], route_class=JSONRoute)
Releases = Annotated[PrivacyReleaseService, Depends(privacy_release_service)]

_BUDGET_EXAMPLE = {"epsilon": 1.0, "delta": 1e-5}
_RELEASE_EXAMPLE = {"model": "dtmi:futago:demo:Person;1", "mesh": "500m", "k": 10, "mechanism": "laplace",
                    "epsilon": 0.2, "area": [138.84, 35.08, 138.89, 35.12]}  # fmt: skip


def _fields(body: Any) -> dict[str, Any]:
    """The body's fields; a body that is not a JSON object is named as such, rather than blaming ε or the model
    (curl -d without a content-type sends form data, which reaches here as text, not JSON)."""
    if isinstance(body, dict):
        return body
    if isinstance(body, list | int | float | bool) or body is None:
        raise InvalidInput([Problem("", "give a JSON object")])
    raise InvalidInput([Problem("", "the body is not JSON: send a JSON object with content-type: application/json")])


def _number(body: dict[str, Any], name: str, default: float | None = None) -> float | None:
    value = body.get(name, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidInput([Problem(f"/{name}", "give a number")])
    return None if value is None else float(value)


@router.put(
    "/privacy/budgets/{dataset}", summary="Set a dataset's total privacy budget (ε, δ)", response_model=PrivacyBudget
)
def set_budget(
    dataset: str,
    body: Annotated[Any, Body(examples=[_BUDGET_EXAMPLE]), described_by(BudgetRequest)],
    releases: Releases,
    access: Access = Depends(require("ADMIN", "privacy/{dataset}")),
) -> Response:
    fields = _fields(body)
    epsilon, delta = _number(fields, "epsilon"), _number(fields, "delta", 0.0)
    return json_response(releases.set_budget(dataset, epsilon, delta, access.caller))


@router.get(
    "/privacy/budgets/{dataset}",
    summary="A dataset's privacy budget and what releases have spent of it",
    response_model=PrivacyBudget,
)
def get_budget(
    dataset: str, releases: Releases, access: Access = Depends(require("READ", "privacy/{dataset}"))
) -> Response:
    return json_response(releases.budget(dataset))


@router.post(
    "/privacy/releases",
    summary="Count a model's twins per mesh cell, k-anonymous and optionally DP",
    response_model=PrivacyRelease,
)
def create_release(
    body: Annotated[Any, Body(examples=[_RELEASE_EXAMPLE]), described_by(ReleaseRequest)],
    releases: Releases,
    access: Access = Depends(require("READ", "privacy")),
) -> Response:
    fields = _fields(body)
    model = fields.get("model")
    if not releases.is_dataset(model):
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
    answer = releases.release(
        model, level, k, mechanism, epsilon, delta, tuple(area) if area else None, by=access.caller
    )
    return json_response(answer)
