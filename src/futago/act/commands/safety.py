"""Judging a payload against a binding's envelope now: every reason to refuse it, and the record of each check."""

from __future__ import annotations

from typing import Any

from futago.act.commands.binding import Binding
from futago.act.commands.envelope import Envelope, Reason, TwinReader
from futago.core.ports import CommandStore


class EnvelopeCheck:
    """Reads what the envelope's checks need: the commands admitted before (step, rate, rate limit) and the twins
    (interlocks)."""

    def __init__(self, records: CommandStore, twins: TwinReader) -> None:
        self.records = records
        self.twins = twins

    def reasons(self, twin_id: str, command: str, payload: Any, binding: Binding | None, now_us: int) -> list[Reason]:
        """Every reason the envelope has to refuse this payload now (empty: it may be sent)."""
        if binding is None:
            where = f"PUT /command-bindings/{twin_id}/{command}"
            return [Reason("binding", f"command '{command}' of '{twin_id}' has no binding: configure one ({where})")]
        envelope, reasons = binding.envelope, list[Reason]()
        if envelope.numeric:
            reasons += self._numeric(twin_id, command, envelope, payload, now_us)
        if envelope.rate_limit is not None:
            count, window_us = envelope.rate_limit
            recent = self.records.list_admitted_commands(twin_id, command, now_us - window_us, count)
            if len(recent) >= count:
                reasons.append(
                    Reason(
                        "rate_limit",
                        f"{len(recent)} command(s) already sent in the last {window_us / 1e6:g} s; "
                        f"the limit is {count} per {window_us / 1e6:g} s",
                    )
                )
        for interlock in envelope.interlocks:
            reason = interlock.check(twin_id, self.twins, now_us)
            if reason is not None:
                reasons.append(reason)
        return reasons

    def _numeric(self, twin_id: str, command: str, envelope: Envelope, payload: Any, now_us: int) -> list[Reason]:
        value = envelope.number(payload)
        if value is None:
            return [Reason("bounds", f"the envelope limits {envelope.what()}, which must be a finite number")]
        reasons = []
        if envelope.minimum is not None and value < envelope.minimum:
            reasons.append(Reason("bounds", f"{value:g} is below the minimum {envelope.minimum:g}"))
        if envelope.maximum is not None and value > envelope.maximum:
            reasons.append(Reason("bounds", f"{value:g} is above the maximum {envelope.maximum:g}"))
        if envelope.max_step is None and envelope.max_rate is None:
            return reasons
        last = self.records.list_admitted_commands(twin_id, command, None, 1)
        previous = envelope.number(last[0].payload) if last else None
        if previous is None:  # the first command of this twin is held by the bounds alone
            return reasons
        change = abs(value - previous)
        if envelope.max_step is not None and change > envelope.max_step:
            reasons.append(
                Reason(
                    "step",
                    f"{value:g} is {change:g} from the last value sent ({previous:g}); max_step is "
                    f"{envelope.max_step:g}",
                )
            )
        if envelope.max_rate is not None:
            admitted_us = last[0].admitted_us or 0  # never None: only admitted records are listed
            elapsed_s = max(0.0, (now_us - admitted_us) / 1e6)
            allowed = envelope.max_rate * elapsed_s
            if change > allowed:
                reasons.append(
                    Reason(
                        "rate",
                        f"changing by {change:g} {elapsed_s:.1f} s after the last value sent ({previous:g}) is faster "
                        f"than max_rate {envelope.max_rate:g}/s (at most {allowed:.3g} now)",
                    )
                )
        return reasons


def check_entry(stage: str, at: str, reasons: list[Reason], by: str | None) -> dict[str, Any]:
    """One envelope check as the record keeps it (``checks``): when, at which stage, and its reasons."""
    entry: dict[str, Any] = {"at": at, "stage": stage, "ok": not reasons, "reasons": [r.to_json() for r in reasons]}
    return {**entry, "by": by} if by else entry
