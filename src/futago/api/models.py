"""/models: upload, list, read, decommission and delete DTDL models."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.answers import ModelInfo, ModelList
from futago.api.deps import JSONRoute, json_response
from futago.api.prefer import ReturnPreference, deleted_answers, patched_answers, return_preference
from futago.api.providers import model_service
from futago.core.errors import InvalidInput
from futago.core.ports import ModelRecord
from futago.core.problems import Problem
from futago.services.models import ModelService
from futago.services.twins import apply_json_patch

router = APIRouter(prefix="/models", tags=["models"], route_class=JSONRoute)


def _model_json(record: ModelRecord, include_definition: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": record.id,
        "uploadTime": record.uploaded,
        "decommissioned": record.decommissioned,
    }
    display = record.document.get("displayName")
    if display is not None:
        doc["displayName"] = display
    if include_definition:
        doc["model"] = record.document
    return doc


@router.get("", summary="List models", response_model=ModelList)
def list_models(
    include_model_definition: Annotated[bool, Query(alias="includeModelDefinition")] = False,
    models: ModelService = Depends(model_service),
    access: Access = Depends(require("READ", "models")),
) -> Response:
    readable = [r for r in models.list_models() if access.may("READ", f"models/{r.id}")]  # as GET /models/{id}
    return json_response({"value": [_model_json(r, include_model_definition) for r in readable]})


@router.post(
    "",
    status_code=201,
    summary="Upload models (one Interface or a JSON array of Interfaces)",
    response_model=list[ModelInfo],
)
def upload_models(
    documents: Annotated[list[dict[str, Any]] | dict[str, Any], Body()],
    models: ModelService = Depends(model_service),
    access: Access = Depends(require("WRITE", "models")),
) -> Response:
    docs = documents if isinstance(documents, list) else [documents]
    ids = models.add(docs)
    return json_response([_model_json(models.get(i), False) for i in ids], status_code=201)


@router.get("/{model_id}", summary="Read a model", response_model=ModelInfo)
def get_model(
    model_id: str,
    models: ModelService = Depends(model_service),
    access: Access = Depends(require("READ", "models/{model_id}")),
) -> Response:
    return json_response(_model_as_read(models, model_id))


def _model_as_read(models: ModelService, model_id: str) -> dict[str, Any]:
    """The model as GET /models/{id} shows it, definition included; also what Prefer: return=representation gets."""
    return _model_json(models.get(model_id), True)


@router.patch(
    "/{model_id}",
    summary="Decommission a model: [{'op': 'replace', 'path': '/decommissioned', 'value': true}]",
    **patched_answers(ModelInfo),
)
def patch_model(
    model_id: str,
    operations: Annotated[list[dict[str, Any]], Body()],
    models: ModelService = Depends(model_service),
    access: Access = Depends(require("WRITE", "models/{model_id}")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    record = models.get(model_id)
    patched = apply_json_patch({"decommissioned": record.decommissioned}, operations)
    value = patched.get("decommissioned")
    if set(patched) != {"decommissioned"} or not isinstance(value, bool):
        raise InvalidInput([Problem("/0/path", "only /decommissioned (true or false) can be patched on a model")])
    models.set_decommissioned(model_id, value)
    return prefer.answer(prefer.read(access, lambda: _model_as_read(models, model_id)))


@router.delete("/{model_id}", summary="Delete a model no twin uses", **deleted_answers(ModelInfo))
def delete_model(
    model_id: str,
    models: ModelService = Depends(model_service),
    access: Access = Depends(require("WRITE", "models/{model_id}")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: _model_as_read(models, model_id))
    models.delete(model_id)
    return prefer.answer(before)
