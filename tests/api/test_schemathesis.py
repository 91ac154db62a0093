"""schemathesis against the OpenAPI document: generated requests to every operation never get a 500, and every
answer keeps to the document (documented status code, content type, headers and body schema).

The example count is bounded so that the suite stays quick; raise FUTAGO_SCHEMATHESIS_EXAMPLES for a longer run.
Two checks are left out on purpose: 'positive data acceptance' (bodies are validated by the models, which JSON
Schema cannot fully express, so a schema-valid body may rightly be refused with a problem) and the Allow header
of 405 answers. /events is left out: it is a stream that does not end.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from futago.api.server import create_api
from futago.app import build
from futago.config import Settings
from futago.samples import demo_models

EXAMPLES = int(os.environ.get("FUTAGO_SCHEMATHESIS_EXAMPLES", "10"))
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

_APP = build(Settings(db=str(Path(tempfile.mkdtemp(prefix="futago-schemathesis-")) / "api.db")))
_APP.models.add_missing(demo_models())
schema = schemathesis.openapi.from_asgi("/openapi.json", create_api(_APP)).exclude(path="/events")


@pytest.fixture(scope="module", autouse=True)
def _close_the_app() -> Iterator[None]:
    yield
    _APP.close()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_api_keeps_to_its_openapi_document(case: Any) -> None:
    response = case.call()
    case.validate_response(response, checks=CHECKS)
