"""A dataset record: what an import or an export brought into or out of the store, where from, under which licence.

It lives in core because the dataset store's port (``core.ports.DatasetStore``) takes and gives it; building the
record of a city import is ``futago.services.datasets``'s, of an open-data export ``futago.services.open_data``'s,
and listing them is the data catalog's (``futago.services.catalog``). Its JSON is what the store keeps and what
``/catalog`` answers: always the same eight keys, a missing title or licence as null.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from futago.core.records import JsonRecord


@dataclass(frozen=True)
class DatasetRecord(JsonRecord):
    """One dataset; ``put_dataset`` replaces the record of the same ``id``. ``id``, ``kind`` and ``updated`` are
    what the store lists it by, so each must be a non-empty string."""

    json_order = ("id", "title", "kind", "licence", "licence_url", "provenance", "records", "updated")

    id: str  # <kind>:<digest>, e.g. city_import:3f2a...
    kind: str  # city_import, open_data
    updated: str  # ISO 8601 UTC
    title: str | None = None
    licence: str | None = None
    licence_url: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)  # source, files and their SHA-256, tool, extent...
    records: dict[str, Any] = field(default_factory=dict)  # what it holds, counted: {"buildings": 25, ...}
