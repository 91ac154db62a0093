"""Notifications: who an alert concerns (geo-targeting), the message in their language, and its delivery by the
registered channels (webhook, MQTT, email: ``futago.protocols``) or the dashboard, with retries, a delivery log
and dead letters."""

from futago.act.notify.channel import Channel, ChannelContext, ChannelFactory, Message, Outcome
from futago.act.notify.dashboard import DashboardChannel
from futago.act.notify.service import (
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    Affected,
    NotificationService,
    NotificationSettings,
    NotificationStore,
    RetryPolicy,
    render,
)
from futago.act.notify.subscribers import Recipient, Subscriber, Targeting, parse_subscriber

__all__ = [
    "NOTIFICATION_FAILED",
    "NOTIFICATION_SENT",
    "Affected",
    "Channel",
    "ChannelContext",
    "ChannelFactory",
    "DashboardChannel",
    "Message",
    "NotificationService",
    "NotificationSettings",
    "NotificationStore",
    "Outcome",
    "Recipient",
    "RetryPolicy",
    "Subscriber",
    "Targeting",
    "parse_subscriber",
    "render",
]
