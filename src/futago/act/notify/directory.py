"""The subscribers: who may be notified, in which language, through which channels, living where."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from futago.act.notify.subscribers import Subscriber, TwinReader, parse_subscriber
from futago.core.errors import InvalidInput, NotFound
from futago.core.ports import NotificationStore
from futago.core.problems import Problem
from futago.core.secrets import keep_stored, masked

#: Checks a subscriber's channel entry: problems with pointers under the given one.
ChannelCheck = Callable[[Mapping[str, Any], str], list[Problem]]


def redact(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What a reader sees of a channel entry or settings: secrets masked, and a webhook URL's tokens too."""
    shown: dict[str, Any] = masked(doc)
    return shown


class SubscriberDirectory:
    """The subscribers, read once from the store and kept in memory; a change replaces the whole mapping, so
    readers (the planner on its thread) never see it half-made."""

    def __init__(self, store: NotificationStore, twins: TwinReader, check_channel: ChannelCheck) -> None:
        self.store = store
        self.twins = twins
        self.check_channel = check_channel
        self._lock = threading.RLock()
        self._subscribers = {s.id: s for s in store.list_subscribers()}  # a damaged one is logged and left out

    def get(self, subscriber_id: str) -> Subscriber | None:
        return self._subscribers.get(subscriber_id)

    def all(self) -> list[Subscriber]:
        return list(self._subscribers.values())

    def put(self, subscriber_id: str, body: Any) -> tuple[dict[str, Any], bool]:
        """Create or replace; the home must be an existing twin. Returns the (redacted) subscriber and
        whether it was created."""
        known = self._subscribers.get(subscriber_id)
        body = keep_stored(body, known.to_json() if known else None)  # a mask sent back keeps its secret
        subscriber = parse_subscriber(subscriber_id, body, self.check_channel)
        if subscriber.home is not None and self.twins.get_twin(subscriber.home) is None:
            raise InvalidInput([Problem("/home", f"twin '{subscriber.home}' does not exist; create it first")])
        created = self.store.put_subscriber(subscriber)
        with self._lock:
            self._subscribers = {**self._subscribers, subscriber.id: subscriber}
        return self.describe(subscriber), created

    def show(self, subscriber_id: str) -> dict[str, Any]:
        subscriber = self._subscribers.get(subscriber_id)
        if subscriber is None:
            raise NotFound(f"subscriber '{subscriber_id}' does not exist")
        return self.describe(subscriber)

    def page(self, after: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        ids = sorted(i for i in self._subscribers if after is None or i > after)[:limit]
        return [self.describe(self._subscribers[i]) for i in ids]

    def delete(self, subscriber_id: str) -> None:
        self.store.delete_subscriber(subscriber_id)
        with self._lock:
            self._subscribers = {k: v for k, v in self._subscribers.items() if k != subscriber_id}

    @staticmethod
    def describe(subscriber: Subscriber) -> dict[str, Any]:
        doc = subscriber.to_json()
        doc["channels"] = [redact(c) for c in doc["channels"]]
        return doc
