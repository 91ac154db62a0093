"""The dashboard channel: no protocol of its own, as the dashboard follows the bus over SSE."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from futago.act.notify.channel import ENTRY_KEYS, ChannelContext, Message, Outcome, entry_checker
from futago.core.problems import Problem
from futago.core.twins import now_iso


class DashboardChannel:
    """The dashboard follows ``notification.sent`` events over SSE; the service publishes one per delivery,
    so for this channel there is nothing else to send."""

    type = "dashboard"
    workers = 1  # publishing an event on the bus is immediate

    def check(self, entry: Mapping[str, Any], pointer: str) -> list[Problem]:
        return entry_checker(entry, pointer, ENTRY_KEYS).problems

    def check_settings(self, spec: Mapping[str, Any], pointer: str) -> list[Problem]:
        return [Problem(pointer, "the dashboard channel has no settings")]

    def target(self, entry: Mapping[str, Any]) -> str:
        return "events"

    def send(self, entry: Mapping[str, Any], message: Message) -> Outcome:
        return Outcome(True, detail="published as a notification.sent event", sent_at=now_iso())

    def close(self) -> None:
        return None


def dashboard_channel(context: ChannelContext) -> DashboardChannel:
    """The ``dashboard`` channel type."""
    return DashboardChannel()
