"""The fence around a leader's side effects: a leader acts only while it holds its lease.

Scaled out, one process leads (futago.scale.leader): it runs the connectors, the behaviour schedules, the alert
rules, and sends notifications and commands. Each lease carries a fencing token that grows with every change of
holder. A process that paused past its lease (a long garbage collection, SIGSTOP, a frozen virtual machine) may
wake believing it still leads: before each side effect it asks its fence, which answers from a cached deadline
that the lease thread moves forward at each renewal, so the check is a clock read, not a round trip. What is
rare and cannot be taken back (a command to a device) is confirmed against the database as well.

One process alone holds an open fence: it always leads.

The token also travels with what a side effect writes (``acting``): the delivery log, the outbox, command records
carry it in their ``fence_token`` column, and on PostgreSQL the store refuses, in the writing transaction, a row
whose token is lower than the lease's (``futago.store.sql.db.fenced``), so a leader that has not yet noticed that it
lost its lease can neither record nor, where the record comes first, send. A refusal is logged and counted
(``refusals``), never silent: what it would have done is the next leader's to do.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from futago.core.errors import Conflict

log = logging.getLogger(__name__)

#: The leader's lease row (``leader_lease``, futago.scale.lease) that side-effect writes are checked against.
LEASE_NAME = "leader"


class Fenced(Conflict):
    """A side effect refused: this process does not hold the lead (any more)."""


class Fence:
    """Whether this process may act as the leader now, and with which fencing token.

    ``confirm``: an authoritative check of a token (the lease row in the database), used by ``confirm``; the
    lease's holder gives it later (``use``) where the fence is made before its lease."""

    def __init__(self, confirm: Callable[[int], bool] | None = None) -> None:
        self._confirm = confirm
        self._lock = threading.Lock()
        self._token: int | None = None
        self._until = 0.0  # time.monotonic() after which the lease may have gone to another process

    def use(self, confirm: Callable[[int], bool]) -> None:
        """The lease thread (futago.scale.leader): ``confirm`` asks its lease whether a token is the current one."""
        with self._lock:
            self._confirm = confirm

    def grant(self, token: int, until: float) -> None:
        """The lease thread: ``token`` is held until ``until`` (monotonic seconds), renewal after renewal."""
        with self._lock:
            self._token, self._until = token, until

    def revoke(self) -> None:
        with self._lock:
            self._token, self._until = None, 0.0

    @property
    def token(self) -> int | None:
        """The token while the lease holds, else None."""
        with self._lock:
            return self._token if self._token is not None and time.monotonic() < self._until else None

    def holds(self) -> bool:
        return self.token is not None

    def check(self, action: str) -> int:
        """The token to act with; Fenced when this process does not lead now (cached: no round trip)."""
        token = self.token
        if token is None:
            raise Fenced(f"{action}: refused, this process does not hold the lead (its lease expired or went)")
        return token

    def confirm(self, action: str) -> int:
        """As ``check``, and the database agrees that the token is the current, unexpired one."""
        token = self.check(action)
        if self._confirm is not None and not self._confirm(token):
            self.revoke()  # the lease went to another process: act no more until the lease thread wins it back
            raise Fenced(f"{action}: refused, fencing token {token} is stale (another process leads)")
        return token


class OpenFence(Fence):
    """One process alone: it leads for as long as it runs (token 0)."""

    @property
    def token(self) -> int | None:
        return 0

    def use(self, confirm: Callable[[int], bool]) -> None:
        """Nothing to confirm: no other process can lead (and OPEN is shared by every App of the process)."""


#: The fence of a process that is not scaled out.
OPEN = OpenFence()


# -- the token a side effect is written with --------------------------------------------------------------------

_ACTING: ContextVar[int | None] = ContextVar("futago_fence_token", default=None)
_refusals: Counter[str] = Counter()
_refusals_lock = threading.Lock()


@contextlib.contextmanager
def acting(token: int | None) -> Iterator[int | None]:
    """Write what happens inside with ``token`` (the one the fence gave when the side effect was decided). The open
    fence's 0 is written as no token (NULL): a process alone has no lease to check against. A context variable,
    not a parameter: the token reaches the store through the ports without widening each of them, and a thread
    (or task) sees only the tokens it set itself."""
    reset = _ACTING.set(token or None)
    try:
        yield token or None
    finally:
        _ACTING.reset(reset)


def acting_token() -> int | None:
    """The token the side effect being written carries (None: no lease, or not decided under one)."""
    return _ACTING.get()


def refused(kind: str, detail: str, count: int = 1) -> None:
    """Log and count side effects refused for a stale token (``kind``: delivery, notification, command, ...)."""
    with _refusals_lock:
        _refusals[kind] += count
    log.warning("refused %d %s side effect(s) of a former leader: %s", count, kind, detail)


def refusals() -> dict[str, int]:
    """How many side effects of each kind this process was refused for a stale token since it started."""
    with _refusals_lock:
        return dict(_refusals)


def report(fence: Fence) -> dict[str, Any]:
    """What /health says of a process's fence: whether it runs as one of a cluster (``scaledOut``), whether it leads
    now and with which token (None: a process alone, which has no lease, or one that does not lead now), and the
    side effects refused for a stale token since it started, per kind."""
    alone = isinstance(fence, OpenFence)
    token = None if alone else fence.token
    return {"scaledOut": not alone, "leads": alone or token is not None, "token": token, "refusals": refusals()}
