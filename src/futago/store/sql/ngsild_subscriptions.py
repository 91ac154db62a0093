"""NGSI-LD subscriptions (``/ngsi-ld/v1/subscriptions``): each one's document and, apart, its delivery status.

Both are named JSON specifications keyed by tenant and id (the default tenant is ``""``). The status is its own
table so that the leader's counters (timesSent, lastSuccess, ...) never race a PATCH of the subscription itself.
"""

from __future__ import annotations

import contextlib
from typing import Any

from futago.core.errors import NotFound
from futago.store.sql.db import Database
from futago.store.sql.specs import NamedSpecs


def _missing(key: tuple[str, str]) -> str:
    return f"subscription '{key[1]}' does not exist"


class SqlNgsiLdSubscriptions:
    def __init__(self, db: Database) -> None:
        self.db = db
        columns = ("tenant", "id")
        self._subscriptions: NamedSpecs[tuple[str, str]] = NamedSpecs(
            db, "ngsild_subscriptions", "subscription", columns=columns, missing=_missing
        )
        self._statuses: NamedSpecs[tuple[str, str]] = NamedSpecs(
            db, "ngsild_subscription_status", "subscription status", columns=columns, missing=_missing
        )

    def put_ngsild_subscription(self, tenant: str, subscription_id: str, spec: dict[str, Any]) -> None:
        self._subscriptions.put((tenant, subscription_id), spec)

    def list_ngsild_subscriptions(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._subscriptions.all()

    def delete_ngsild_subscription(self, tenant: str, subscription_id: str) -> None:
        self._subscriptions.delete((tenant, subscription_id))
        with contextlib.suppress(NotFound):  # never notified: no status yet
            self._statuses.delete((tenant, subscription_id))

    def put_ngsild_subscription_status(self, tenant: str, subscription_id: str, status: dict[str, Any]) -> None:
        self._statuses.put((tenant, subscription_id), status)

    def list_ngsild_subscription_statuses(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._statuses.all()
