"""NGSI-LD (ETSI GS CIM 009) over the twin graph: entities are twins, types are DTDL models (docs/ngsi-ld.md)."""

from futago.services.ngsild.context import CORE_CONTEXT_URL, ContextResolver, ContextSettings, TermMap
from futago.services.ngsild.errors import NgsiLdError, problem_type_of
from futago.services.ngsild.service import EntityQuery, NgsiLdService, Outcome

__all__ = [
    "CORE_CONTEXT_URL",
    "ContextResolver",
    "ContextSettings",
    "EntityQuery",
    "NgsiLdError",
    "NgsiLdService",
    "Outcome",
    "TermMap",
    "problem_type_of",
]
