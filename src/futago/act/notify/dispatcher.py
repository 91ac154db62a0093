"""Sending deliveries: a small thread pool per channel type (so a slow SMTP server never delays a webhook), and
retries after an exponential backoff by a timer thread rather than a sleeping worker. After the last attempt, or
at once when trying again cannot help (a 4xx, a refused address), a delivery becomes a dead letter."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from futago.act.notify.channel import Channel, Outcome, unopened_secrets
from futago.act.notify.delivery_log import DeliveryLog
from futago.act.notify.jobs import InFlight, Job
from futago.act.notify.settings import RetryPolicy
from futago.core.fence import OPEN, Fence, Fenced, acting
from futago.core.notifications import LetterMessage, NotificationDeadLetter
from futago.core.twins import now_iso

log = logging.getLogger(__name__)


class DeliveryDispatcher:
    def __init__(
        self,
        channels: Mapping[str, Channel],
        deliveries: DeliveryLog,
        in_flight: InFlight,
        policy: Callable[[Mapping[str, Any]], RetryPolicy],
        fence: Fence = OPEN,
    ) -> None:
        """``policy`` gives the retry policy of a subscriber's channel entry."""
        self.fence = fence  # scaled out: a delivery is sent only while this process holds the lead
        self.channels = channels
        self.deliveries = deliveries
        self.in_flight = in_flight
        self.policy = policy
        self.closing = False  # no new retries: those not yet due stay ``retrying`` in the log
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._retries: list[tuple[float, int, Job]] = []
        self._retry_wake = threading.Condition()
        self._sequence = itertools.count()

    def open_pools(self, workers: Mapping[str, int]) -> None:
        self.closing = False
        for kind, count in workers.items():
            self._pools[kind] = ThreadPoolExecutor(count, thread_name_prefix=f"futago-notify-{kind}")

    def wake_retries(self) -> None:
        with self._retry_wake:
            self._retry_wake.notify_all()

    def shutdown_pools(self) -> None:
        """Wait for the deliveries in flight; a retry that comes due meanwhile stays queued in the log."""
        for pool in self._pools.values():
            pool.shutdown(wait=True)

    def forget_pools(self) -> None:
        """Closed: a later one-off delivery (``notify``) is sent on the caller's thread."""
        self._pools = {}

    def dispatch(self, job: Job) -> None:
        kind = job.entry["type"]
        self.in_flight.more()
        pool = self._pools.get(kind)
        if pool is None:  # not started (a test or a one-off call): send on this thread
            self._attempt(job)
            return
        try:
            pool.submit(self._attempt, job)
        except RuntimeError:  # shutting down: it stays queued in the log
            self.in_flight.done()

    def _attempt(self, job: Job) -> None:
        try:
            self._try(job)
        except Exception:
            log.exception("delivery %s failed unexpectedly", job.record.id)
        finally:
            self.in_flight.done()

    def _try(self, job: Job) -> None:
        record = job.record
        channel = self.channels[job.entry["type"]]
        started = now_iso()
        try:  # a leader that paused past its lease must not send what the next leader sends
            token = self.fence.check(f"delivery {record.id}")
        except Fenced as exc:  # not sent, not recorded: it stays as the log has it, for the leader to send
            log.warning("delivery %s was not sent: %s", record.id, exc.detail)
            return
        with acting(token):  # its outcomes are recorded under the token it was sent under
            self._send(job, channel, started)

    def _send(self, job: Job, channel: Channel, started: str) -> None:
        record = job.record
        try:
            outcome = _unopened(job.entry) or channel.send(job.entry, job.message)
        except Exception as exc:  # a channel promises not to raise; a bug in one must not lose the delivery
            log.exception("the %s channel raised", channel.type)
            outcome = Outcome(False, True, f"{type(exc).__name__}: {exc}")
        attempt = record.attempts = record.attempts + 1
        record.last_attempt_at = started
        if outcome.ok:
            record.outcome, record.sent_at, record.confirmed_at = "sent", outcome.sent_at or started, now_iso()
            record.error, record.detail, record.next_attempt_at = None, outcome.detail, None
            self.deliveries.record(record)
            self.deliveries.sent(record)
            return
        policy = self.policy(job.entry)
        if outcome.retry and attempt - job.first_attempt + 1 < policy.attempts and not self.closing:
            pause = max(policy.delay(attempt - job.first_attempt + 1), outcome.retry_after_s or 0.0)
            pause = min(pause, max(policy.max_s, 1.0) * 10)  # a Retry-After of days must not park a delivery
            record.outcome, record.error, record.next_attempt_at = "retrying", outcome.detail, _iso_in(pause)
            self.deliveries.record(record)
            self._schedule(job, pause)
            return
        record.outcome, record.error, record.next_attempt_at = "failed", outcome.detail, None
        letter = NotificationDeadLetter(
            delivery_id=record.id,
            alert_id=record.alert_id,
            event=record.event,
            subscriber_id=record.subscriber_id,
            channel=record.channel,
            channel_type=record.channel_type,
            target=record.target,
            reason=outcome.detail,
            attempts=attempt,
            failed_at=now_iso(),
            message=LetterMessage(job.message.subject, job.message.text, job.message.body),
        )
        self.deliveries.record(record, letter)

    def later(self, job: Job, pause: float) -> None:
        """Send ``job`` after ``pause`` seconds, on the retry timer (a retry the previous leader had planned)."""
        self._schedule(job, max(pause, 0.0))

    def _schedule(self, job: Job, pause: float) -> None:
        self.in_flight.more()
        with self._retry_wake:
            heapq.heappush(self._retries, (time.monotonic() + pause, next(self._sequence), job))
            self._retry_wake.notify()

    def retry_loop(self) -> None:
        while True:
            with self._retry_wake:
                while not self.closing and (not self._retries or self._retries[0][0] > time.monotonic()):
                    wait = self._retries[0][0] - time.monotonic() if self._retries else None
                    self._retry_wake.wait(wait)
                if self.closing:
                    left, self._retries = len(self._retries), []
                    self.in_flight.done(left)  # they stay "retrying" in the log
                    return
                _, _, job = heapq.heappop(self._retries)
            try:
                self.dispatch(job)
            finally:
                self.in_flight.done()


def _unopened(entry: Mapping[str, Any]) -> Outcome | None:
    """A final failure for an entry whose secrets are still sealed: no attempt can succeed (it once went out as a
    request to the ciphertext, retried until its last attempt) until this process gets the key vault that sealed
    them; the dead letter can then be retried."""
    sealed = unopened_secrets(entry)
    if not sealed:
        return None
    fields = ", ".join(sealed)
    return Outcome(False, False, f"the channel's {fields} cannot be opened: this process's key vault is not the one "
                   "that sealed the store's secrets (every process of a deployment needs the same vault)")  # fmt: skip


def _iso_in(seconds: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
