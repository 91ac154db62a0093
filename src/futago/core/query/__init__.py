"""The twin query language: a documented subset of the Azure Digital Twins query language.

``parse`` turns text into a Query; ``execute`` runs one page of it against a GraphSource
(the storage port) and a ModelCatalog (for IS_OF_MODEL inheritance). See docs/query.md.
"""

from futago.core.query.ast import Query
from futago.core.query.executor import QueryResult, RowShaper, execute
from futago.core.query.parser import parse
from futago.core.query.source import GraphSource, ModelCatalog

__all__ = ["GraphSource", "ModelCatalog", "Query", "QueryResult", "RowShaper", "execute", "parse"]
