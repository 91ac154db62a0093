"""What one process holds when it is part of a scaled-out deployment (``[scale] nats`` set)."""

from __future__ import annotations

from collections.abc import Callable

from futago.core.events import EventBus
from futago.protocols.nats.link import NatsLink
from futago.scale.ingest_log import NatsIngestLog
from futago.scale.leader import Leadership
from futago.scale.relay import EVERYTHING, EventRelay, follow_subjects
from futago.scale.states import ConnectionStates


class ScaleOut:
    def __init__(
        self, link: NatsLink, relay: EventRelay, ingest_log: NatsIngestLog, states: ConnectionStates | None = None
    ) -> None:
        self.link = link
        self.relay = relay
        self.ingest_log = ingest_log
        self.states = states  # the leader records its connectors' states, the others read them
        self._leadership: Leadership | None = None
        self._release_everything: Callable[[], None] | None = None

    @classmethod
    def connect(
        cls,
        url: str,
        bus: EventBus,
        partitions: int,
        name: str,
        follow: tuple[str, ...] = EVERYTHING,
        states: ConnectionStates | None = None,
    ) -> ScaleOut:
        """``follow``: the event types this process always receives (a server: the structure events; while it
        leads it receives every event besides, for its rules and behaviours). ``states``: where the connection
        states are recorded and read. Refuses (InvalidInput) a ``partitions`` the cluster's stored settings
        disagree with."""
        link = NatsLink(url, name)
        try:
            ingest_log = NatsIngestLog(link, partitions)  # agrees on the cluster's settings first
            return cls(link, EventRelay(bus, link, follow), ingest_log, states)
        except BaseException:
            link.close()
            raise

    @property
    def leadership(self) -> Leadership | None:
        return self._leadership

    @leadership.setter
    def leadership(self, leadership: Leadership | None) -> None:
        """While this process leads, its rules, behaviours and notifications need every event of the others:
        subscribe to all of them before it starts them, and unsubscribe once it has stopped them."""
        self._leadership = leadership
        if leadership is None:
            return
        on_lead, on_lose = leadership.on_lead, leadership.on_lose

        def lead() -> None:
            if self._release_everything is None:
                self._release_everything = self.relay.want(follow_subjects(EVERYTHING))
                self.relay.settle()
            on_lead()

        def lose() -> None:
            if on_lose is not None:
                on_lose()
            release, self._release_everything = self._release_everything, None
            if release is not None:
                release()

        leadership.on_lead, leadership.on_lose = lead, lose

    def close(self) -> None:
        if self._leadership is not None:
            self._leadership.close()
        self.relay.close()
        self.link.close()
