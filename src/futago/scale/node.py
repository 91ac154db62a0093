"""What one process holds when it is part of a scaled-out deployment (``[scale] nats`` set)."""

from __future__ import annotations

from dataclasses import dataclass

from futago.core.events import EventBus
from futago.protocols.nats.link import NatsLink
from futago.scale.ingest_log import NatsIngestLog
from futago.scale.leader import Leadership
from futago.scale.relay import EventRelay
from futago.scale.states import ConnectionStates


@dataclass
class ScaleOut:
    link: NatsLink
    relay: EventRelay
    ingest_log: NatsIngestLog
    leadership: Leadership | None = None
    states: ConnectionStates | None = None  # the leader records its connectors' states, the others read them

    @classmethod
    def connect(cls, url: str, bus: EventBus, partitions: int, name: str, follow: tuple[str, ...] = (">",)) -> ScaleOut:
        link = NatsLink(url, name)
        return cls(link, EventRelay(bus, link, follow), NatsIngestLog(link, partitions))

    def close(self) -> None:
        if self.leadership is not None:
            self.leadership.close()
        self.relay.close()
        self.link.close()
