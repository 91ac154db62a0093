"""Which process runs the stateful parts when several serve one store: the connectors (one subscription per
broker topic, not one per process), the behaviour schedules, the alert rules, notifications and maintenance.

The process that holds the lease leads (futago.scale.lease): a row in PostgreSQL for a cluster of machines, a
file lock beside a SQLite store for one machine. The others retry every ``retry_s`` and take over within the
lease's length when the leader dies. Each lease comes with a fencing token, given to the process's ``Fence``: every
side effect checks it, so a leader that paused past its lease acts no more once it wakes; it stops what it runs
(``on_lose``) and stands by again.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path

from futago.core.fence import Fence
from futago.scale.lease import FileLease, Lease, deadline, now

log = logging.getLogger(__name__)


class Leadership:
    def __init__(
        self,
        lease: Lease | Path,
        on_lead: Callable[[], None],
        retry_s: float = 2.0,
        *,
        on_lose: Callable[[], None] | None = None,
        fence: Fence | None = None,
        address: str | None = None,
    ) -> None:
        """``on_lead``: start what the leader runs (again after a loss); ``on_lose``: stop it. ``fence``: the one
        this lease grants and revokes (and confirms its tokens against); ``address``: where this process serves its
        API, for the others to forward to while it leads."""
        self.lease: Lease = FileLease(lease) if isinstance(lease, Path) else lease
        self.on_lead = on_lead
        self.on_lose = on_lose
        self.retry_s = retry_s if math.isinf(self.lease.ttl_s) else min(retry_s, self.lease.ttl_s / 6)
        self.fence = fence if fence is not None else Fence()
        self.fence.use(self.lease.confirm)  # a fence built with the App (futago.app) learns its lease here
        self.address = address
        self.leading = False
        self._token: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def token(self) -> int | None:
        return self._token

    def start(self) -> None:
        """Lead now if no one does, else stand by; a thread keeps the lease (or waits for it) until ``close``."""
        self._try()
        self._thread = threading.Thread(target=self._run, name="futago-leadership", daemon=True)
        self._thread.start()

    def leader_address(self) -> str | None:
        """Where the current leader serves its API (None: nobody leads now, or it did not say)."""
        try:
            return self.lease.address()
        except Exception:  # the database is unreachable: no leader is known
            log.warning("could not read the leader's address", exc_info=True)
            return None

    def _try(self) -> bool:
        if self._stop.is_set():  # closing: the lease is for a process that will run what it leads
            return False
        started = now()
        try:
            token = self.lease.acquire(self.address)
        except Exception:
            log.warning("could not ask for the lead; trying again in %.1f s", self.retry_s, exc_info=True)
            return False
        if token is None:
            return False
        self._token, self.leading = token, True
        self.fence.grant(token, deadline(started, self.lease.ttl_s))
        log.info("process %d leads with fencing token %d", os.getpid(), token)
        try:
            self.on_lead()
        except Exception:  # give the lease back, so that a healthy process leads instead of nobody
            log.exception("process %d could not start what it leads; it stands by again", os.getpid())
            self._give_up(release=True)
            return False
        return True

    def _run(self) -> None:
        renew_s = self.retry_s if math.isinf(self.lease.ttl_s) else self.lease.ttl_s / 3
        while not self._stop.wait(renew_s if self.leading else self.retry_s):
            if not self.leading:
                self._try()
            elif not self._renew():
                log.warning("process %d lost the lead (token %s); it stops what it led", os.getpid(), self._token)
                self._give_up(release=False)

    def _renew(self) -> bool:
        """Keep the lease; False once it is lost (taken by another, or past its deadline without a renewal)."""
        assert self._token is not None
        started = now()
        try:
            if self.lease.renew(self._token):
                self.fence.grant(self._token, deadline(started, self.lease.ttl_s))
                return True
            return False
        except Exception:  # the database did not answer: the lease holds until its deadline, no longer
            log.warning("could not renew the lead", exc_info=True)
            return self.fence.holds()

    def _give_up(self, release: bool) -> None:
        token, self._token, self.leading = self._token, None, False
        self.fence.revoke()  # first: nothing more is sent on this token
        if release and token is not None:
            try:
                self.lease.release(token)
            except Exception:
                log.warning("could not hand the lead back; it expires instead", exc_info=True)
        if self.on_lose is not None and token is not None:
            try:
                self.on_lose()
            except Exception:
                log.exception("process %d could not stop all it led", os.getpid())

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.retry_s + 5)
        if self.leading:
            token, self._token, self.leading = self._token, None, False
            self.fence.revoke()
            if token is not None:
                try:
                    self.lease.release(token)
                except Exception:
                    log.warning("could not hand the lead back; it expires instead", exc_info=True)
        self.lease.close()
