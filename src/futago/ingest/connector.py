"""What a connector is: the interface every inbound protocol implements, and the factory that builds one.

Connectors live with their protocol (``futago.protocols.<name>``) or, for files, in ``ingest.replay``; the
composition root (``futago.app``) registers a factory per connector type name, and the ConnectionManager builds
connectors through them. Adding a protocol therefore touches its own folder and one registration line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from futago.ingest.mapping import RawMessage
from futago.ingest.pipeline import IngestResult

if TYPE_CHECKING:
    from futago.ingest.connections import ConnectionSpec

# Connectors call the sink from their own thread with a batch of messages. It stores what it
# can and dead-letters the rest; it raises only when the store itself fails, and then the
# connector must not acknowledge the batch, so that the source delivers it again.
Sink = Callable[[Sequence[RawMessage]], IngestResult]


class Connector(Protocol):
    def start(self) -> None:
        """Begin receiving in the background; return at once."""
        ...

    def stop(self) -> None:
        """Stop receiving and release the connection; wait for in-flight batches."""
        ...

    def status(self) -> dict[str, Any]:
        """At least {"state": "connecting" | "running" | "reconnecting" | "stopped" | "failed"}."""
        ...


# Builds a connector from validated options; raises InvalidInput (pointers under /options).
ConnectorFactory = Callable[["ConnectionSpec", Sink], Connector]
