"""Connection start and stop reach the leader from whichever process a request lands on.

Connectors run only in the leading process (futago.scale.leader). While it leads it answers requests on a NATS
subject; a process that does not lead sends the action there and answers its caller with the leader's answer
(the connection as the leader describes it, or the leader's refusal with its status). NATS rather than HTTP:
processes of one host share one port (``serve --workers``), so an address would not single out the leader, and the
API process has already checked the caller's access. A leader that paused past its lease keeps quiet, so that
the answer comes from the leader of now.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from futago.core.errors import FutagoError, InvalidInput
from futago.core.fence import Fence
from futago.core.secrets import json_default
from futago.ingest.connections import ConnectionManager
from futago.protocols.nats import kv as nats_kv
from futago.protocols.nats.link import Msg, NatsLink

log = logging.getLogger(__name__)

SUBJECT = "futago.leader.connections"
ACTIONS = ("start", "stop")


class LeaderAnswer(FutagoError):
    """The leader refused an action sent on to it: its status and detail, as it would have answered."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class LeaderDesk:
    """The leader's side: acts on the requests of the other processes while this one leads."""

    def __init__(self, link: NatsLink, connections: ConnectionManager, fence: Fence) -> None:
        self.link = link
        self.connections = connections
        self.fence = fence
        self._subscription: Any = None

    def open(self) -> None:
        if self._subscription is None:
            self._subscription = self.link.call(self.link.client.subscribe(SUBJECT, cb=self._incoming), timeout=10)

    def close(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            try:
                self.link.call(subscription.unsubscribe(), timeout=5)
            except Exception:  # the link is gone: so is the subscription
                log.debug("could not unsubscribe from %s", SUBJECT, exc_info=True)

    async def _incoming(self, msg: Msg) -> None:
        if not self.fence.holds() or not msg.reply:
            return
        answer = await asyncio.get_running_loop().run_in_executor(None, self.act, msg.data)
        await msg.respond(orjson.dumps(answer, default=json_default))

    def act(self, data: bytes) -> dict[str, Any]:
        """Run one request ``{"action": "start" | "stop", "name": ...}``: ``{"status", "body" | "detail"}``."""
        try:
            request = orjson.loads(data)
            action, name = (request.get("action"), request.get("name")) if isinstance(request, dict) else (None, None)
            if action not in ACTIONS or not isinstance(name, str):
                raise InvalidInput("a leader request is {'action': 'start' or 'stop', 'name': ...}")
            if action == "start":
                self.connections.start(name)
            else:
                self.connections.stop(name)
            return {"status": 200, "body": self.connections.describe(name)}
        except orjson.JSONDecodeError:
            return {"status": 400, "detail": "a leader request is JSON"}
        except FutagoError as exc:
            return {"status": exc.status, "detail": exc.detail}
        except Exception as exc:  # a connector that fails to start: the caller hears it, the desk stays up
            log.exception("the leader could not act on a connection request")
            return {"status": 500, "detail": f"the leader could not do it: {type(exc).__name__}: {exc}"}


class LeaderCall:
    """A process that does not lead: sends an action to the leader and waits for its answer."""

    def __init__(self, link: NatsLink, timeout_s: float = 30.0) -> None:
        self.link = link
        self.timeout_s = timeout_s

    def __call__(self, action: str, name: str) -> dict[str, Any] | None:
        """The connection as the leader describes it after the action; LeaderAnswer when it refused; None when no
        leader answered (none leads now)."""
        data = orjson.dumps({"action": action, "name": name})
        try:
            msg = self.link.call(self.link.client.request(SUBJECT, data, timeout=self.timeout_s), self.timeout_s + 5)
        except (nats_kv.NoRespondersError, nats_kv.TimeoutError, TimeoutError):
            return None
        answer = orjson.loads(msg.data)
        if answer.get("status") != 200:
            raise LeaderAnswer(int(answer.get("status", 502)), str(answer.get("detail", "the leader refused")))
        body: dict[str, Any] = answer["body"]
        return body
