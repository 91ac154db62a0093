"""Notifications: who an alert concerns (geo-targeting), the message in their language, and its delivery by
webhook, MQTT, email or the dashboard, with retries, a delivery log and dead letters."""

from futago.act.notify.channels import (
    Channel,
    DashboardChannel,
    EmailChannel,
    Message,
    MqttChannel,
    Outcome,
    WebhookChannel,
    sign,
)
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
    "DashboardChannel",
    "EmailChannel",
    "Message",
    "MqttChannel",
    "NotificationService",
    "NotificationSettings",
    "NotificationStore",
    "Outcome",
    "Recipient",
    "RetryPolicy",
    "Subscriber",
    "Targeting",
    "WebhookChannel",
    "parse_subscriber",
    "render",
    "sign",
]
