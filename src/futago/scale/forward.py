"""Connection start and stop, and command approvals, reach the leader from whichever process a request lands on.

Connectors run only in the leading process (futago.scale.leader), and only its dispatcher sends commands. While it
leads it answers requests on two NATS subjects; a process that does not lead sends the action there and answers its
caller with the leader's answer (the connection as the leader describes it, the command's record as the leader
approved it, or the leader's refusal with its status). NATS rather than HTTP:
processes of one host share one port (``serve --workers``), so an address would not single out the leader, and the
API process has already checked the caller's access. A leader that paused past its lease keeps quiet, so that
the answer comes from the leader of now.

A command approved (or requested, which in autonomous mode approves it) through a process that does not lead is
approved *by the leader*, under its fencing token, and handed to its dispatcher at once: approving on the process
that received the request would leave a record ``approved`` that no dispatcher sends, until the next change of lead
failed it. When no process leads (the lead is moving), or the leader does not answer in time, nothing is approved
here: the caller hears 503 or 504 and the command stays ``proposed`` for a second try. Exactly one send follows an
approval: the approval is a compare-and-set from ``proposed`` (two leaders answering one request approve once), and
the dispatcher confirms the lease and re-reads the record before it sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from futago.core.errors import FutagoError, InvalidInput
from futago.core.fence import Fence, acting
from futago.core.secrets import json_default
from futago.ingest.connections import ConnectionManager
from futago.protocols.nats import kv as nats_kv
from futago.protocols.nats.link import Msg, NatsLink

if TYPE_CHECKING:
    from futago.act.commands import CommandService

log = logging.getLogger(__name__)

SUBJECT = "futago.leader.connections"
ACTIONS = ("start", "stop")
COMMANDS_SUBJECT = "futago.leader.commands"
COMMAND_ACTIONS = ("approve", "request")
BINDINGS_SUBJECT = "futago.commands.bindings"


class LeaderAnswer(FutagoError):
    """The leader refused an action sent on to it: its status and detail, as it would have answered."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class NoLeader(FutagoError):
    """No process leads now (the lead is moving): nothing was done; the caller may try again in a few seconds."""

    status = 503
    title = "No leader"


class LeaderSilent(FutagoError):
    """The leader did not answer in time: whether it acted is to be read from the record."""

    status = 504
    title = "The leader did not answer"


def _answered(what: str, act: Callable[[], tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """``{"status", "body"}`` of ``act``, or ``{"status", "detail"}`` of its refusal; the desk stays up whatever."""
    try:
        status, body = act()
        return {"status": status, "body": body}
    except orjson.JSONDecodeError:
        return {"status": 400, "detail": "a leader request is JSON"}
    except FutagoError as exc:
        return {"status": exc.status, "detail": exc.detail}
    except Exception as exc:  # a connector that fails to start, say: the caller hears it
        log.exception("the leader could not act on a %s request", what)
        return {"status": 500, "detail": f"the leader could not do it: {type(exc).__name__}: {exc}"}


class LeaderDesk:
    """The leader's side: acts on the requests of the other processes while this one leads."""

    def __init__(
        self, link: NatsLink, connections: ConnectionManager, fence: Fence, commands: CommandService | None = None
    ) -> None:
        self.link = link
        self.connections = connections
        self.fence = fence
        self.commands = commands
        self._subscriptions: list[Any] = []

    def open(self) -> None:
        if self._subscriptions:
            return
        if self.commands is not None:  # a binding changed while this process was away: no notice reached it
            self.commands.reload_bindings()
        subjects = [SUBJECT] + ([COMMANDS_SUBJECT] if self.commands is not None else [])
        for subject in subjects:
            subscribing = self.link.client.subscribe(subject, cb=self._incoming)
            self._subscriptions.append(self.link.call(subscribing, timeout=10))

    def close(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            try:
                self.link.call(subscription.unsubscribe(), timeout=5)
            except Exception:  # the link is gone: so is the subscription
                log.debug("could not unsubscribe from %s", subscription.subject, exc_info=True)

    async def _incoming(self, msg: Msg) -> None:
        if not self.fence.holds() or not msg.reply:
            return
        act = self.act_command if msg.subject == COMMANDS_SUBJECT else self.act
        answer = await asyncio.get_running_loop().run_in_executor(None, act, msg.data)
        await msg.respond(orjson.dumps(answer, default=json_default))

    def act(self, data: bytes) -> dict[str, Any]:
        """Run one request ``{"action": "start" | "stop", "name": ...}``: ``{"status", "body" | "detail"}``."""

        def run() -> tuple[int, dict[str, Any]]:
            request = orjson.loads(data)
            action, name = (request.get("action"), request.get("name")) if isinstance(request, dict) else (None, None)
            if action not in ACTIONS or not isinstance(name, str):
                raise InvalidInput("a leader request is {'action': 'start' or 'stop', 'name': ...}")
            if action == "start":
                self.connections.start(name)
            else:
                self.connections.stop(name)
            return 200, self.connections.describe(name)

        return _answered("connection", run)

    def act_command(self, data: bytes) -> dict[str, Any]:
        """Run one command request, ``{"action": "approve", "id", "by", "note"}`` or ``{"action": "request",
        "twin", "command", "payload", "by", "note"}``, as this process's own, under its fencing token (the record
        carries it, and the store refuses it if the lease moved meanwhile): ``{"status", "body" | "detail"}``."""

        def run() -> tuple[int, dict[str, Any]]:
            request = orjson.loads(data)
            if not isinstance(request, dict) or request.get("action") not in COMMAND_ACTIONS:
                raise InvalidInput("a leader's command request is {'action': 'approve' or 'request', ...}")
            by, note = _text(request, "by"), request.get("note")
            note = note if isinstance(note, str) else None
            token = self.fence.check(f"{request['action']} of a command on behalf of another process")
            assert self.commands is not None  # the desk subscribes to commands only with a service
            with acting(token):
                if request["action"] == "approve":
                    return 200, self.commands.approve(_text(request, "id"), by, note, here=True)
                twin, command = _text(request, "twin"), _text(request, "command")
                return 201, self.commands.request(twin, command, request.get("payload"), by, note, here=True)

        return _answered("command", run)


def _text(request: dict[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str):
        raise InvalidInput(f"a leader's command request names its '{key}' as a string")
    return value


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

    def command(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A command's record as the leader left it after ``action`` (``approve`` or ``request``); LeaderAnswer when
        it refused, NoLeader when none leads now, LeaderSilent when it did not answer in time. Never done here
        instead: an approval outside the leader is one no dispatcher sends."""
        data = orjson.dumps({"action": action, **fields}, default=json_default)
        done = {"approve": "approved", "request": "requested"}.get(action, action)
        try:
            msg = self.link.call(
                self.link.client.request(COMMANDS_SUBJECT, data, timeout=self.timeout_s), self.timeout_s + 5
            )
        except nats_kv.NoRespondersError:
            raise NoLeader(
                f"no process leads now (the lead is moving): the command was not {done} here, since only the "
                "leader sends commands; try again in a few seconds"
            ) from None
        except (nats_kv.TimeoutError, TimeoutError):
            raise LeaderSilent(
                f"the leading process did not answer within {self.timeout_s:g} s; read the command to know whether "
                f"it was {done} before trying again"
            ) from None
        answer = orjson.loads(msg.data)
        if answer.get("status") not in (200, 201):
            raise LeaderAnswer(int(answer.get("status", 502)), str(answer.get("detail", "the leader refused")))
        record: dict[str, Any] = answer["body"]
        return record


class BindingNotices:
    """A command binding stored or removed through one process reaches the others at once, the leader above all,
    whose envelope and dispatcher read it (else it would see the change only at its next start). The process that
    stored it publishes the binding's key on ``BINDINGS_SUBJECT``; every process, the publisher too, reads that
    binding back from the store, so the store stays the one truth and notices that cross need no order. Plain NATS:
    a process that missed a notice (its link was down) reads every binding again when it takes the lead."""

    def __init__(self, link: NatsLink, commands: CommandService) -> None:
        self.link = link
        self.commands = commands
        self._subscription: Any = None

    def open(self) -> None:
        if self._subscription is None:
            subscribing = self.link.client.subscribe(BINDINGS_SUBJECT, cb=self._incoming)
            self._subscription = self.link.call(subscribing, timeout=10)

    def tell(self, twin_id: str, command: str) -> None:
        data = orjson.dumps({"twin": twin_id, "command": command})
        self.link.call(self.link.client.publish(BINDINGS_SUBJECT, data), timeout=5)

    async def _incoming(self, msg: Msg) -> None:
        try:
            notice = orjson.loads(msg.data)
            twin_id, command = _text(notice, "twin"), _text(notice, "command")
        except (orjson.JSONDecodeError, InvalidInput, AttributeError):
            log.warning("a command binding notice that is not {'twin', 'command'} was ignored")
            return
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.commands.reload_binding, twin_id, command)
        except Exception:  # the store is down, say: the binding is read again when this process takes the lead
            log.exception("could not read back the command binding %s/%s", twin_id, command)
