"""What a notification channel is: the interface every way of sending (webhook, MQTT, email, the dashboard)
implements, the message it sends and the outcome it answers, and what a channel type is built from.

The channels themselves live with their protocol (``futago.protocols.<name>``); the composition root
(``futago.app``) registers each type by name, and the notification service builds one channel per registered
type. Adding a channel type (say AMQP) therefore touches its protocol folder, one registration line, and its
tests, never this stage.

Every channel has the same small shape: ``check`` a subscriber's channel entry (problems with pointers),
``check_settings`` for named channel settings (an SMTP server, an MQTT broker), ``target`` (the address, for
the delivery log) and ``send``, which never raises: it answers an ``Outcome`` that says whether the message
was accepted and, when not, whether trying again may help. Retries, backoff and dead letters belong to the
service, so every channel gets them the same way. A channel also says how many of its deliveries are sent at once
(``workers``), which ``[notifications.workers]`` may change per type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from futago.core.paths import NO_FILES, DataRoot
from futago.core.problems import Problem
from futago.core.secrets import SEALED, reveal
from futago.core.validation import Checker

#: The header (and email header) that carries a delivery's id, the same on every retry.
DELIVERY_HEADER = "X-Futago-Delivery"
#: The same id under the name HTTP receivers know (the IETF Idempotency-Key draft): a delivery is sent at least once
#: (a leader that dies between sending and recording it leaves it to the next, which sends it again), so an HTTP
#: receiver drops a key it has already taken. The key is the delivery's id, kept in the log with the body before the
#: first attempt, so it is the same on every retry and after a takeover.
IDEMPOTENCY_HEADER = "Idempotency-Key"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
#: The keys every subscriber channel entry may have, whatever its type.
ENTRY_KEYS = frozenset({"type", "name"})


@dataclass(frozen=True)
class Message:
    """One rendered notification for one subscriber."""

    delivery_id: str
    subscriber_id: str
    language: str
    subject: str
    text: str
    body: dict[str, Any]  # the JSON a machine receives (webhook body, MQTT payload)
    alert_id: str = ""
    rule: str = ""


class Outcome(NamedTuple):
    ok: bool
    retry: bool = False  # on failure: may another attempt succeed?
    detail: str = ""  # on failure: why, in a sentence; on success: what the peer said, if anything
    sent_at: str | None = None  # when the message went on the wire
    retry_after_s: float | None = None  # the peer asked to wait this long


def delivery_headers(message: Message) -> dict[str, str]:
    """The headers every HTTP delivery carries to make a repeated one detectable."""
    return {DELIVERY_HEADER: message.delivery_id, IDEMPOTENCY_HEADER: message.delivery_id}


class Channel(Protocol):
    type: str
    #: How many deliveries of this type are sent at once, unless ``[notifications.workers]`` says otherwise: each
    #: type knows how its peers answer (a slow webhook holds a thread; an event on the bus is immediate).
    workers: int

    def check(self, entry: Mapping[str, Any], pointer: str) -> list[Problem]:
        """Problems with a subscriber's channel entry."""
        ...

    def check_settings(self, spec: Mapping[str, Any], pointer: str) -> list[Problem]:
        """Problems with named settings of this channel type."""
        ...

    def target(self, entry: Mapping[str, Any]) -> str:
        """Where the entry sends to, for the delivery log (no secrets)."""
        ...

    def send(self, entry: Mapping[str, Any], message: Message) -> Outcome: ...

    def close(self) -> None: ...


#: Named channel settings by name (``None`` when there are none by that name).
SettingsLookup = Callable[[str], Mapping[str, Any] | None]


class Connections(Protocol):
    """The part of the ingest stage's ConnectionManager a channel may use: a connection's type and options."""

    def spec(self, name: str) -> Any: ...


@dataclass(frozen=True)
class ChannelContext:
    """What the notification service gives every channel type when it builds the channel."""

    named_settings: SettingsLookup  # the named channel settings (configured and stored), read at each use
    connections: Connections | None = None  # ingest connections an entry may send through
    webhook_timeout_s: float = 5.0
    mqtt_timeout_s: float = 5.0
    files: DataRoot = NO_FILES  # where a file a setting names (a broker's tls.ca) may lie: the data root


#: Builds the channel of one type; the composition root registers one per type name.
ChannelFactory = Callable[[ChannelContext], Channel]


def entry_checker(doc: Mapping[str, Any], pointer: str, known: set[str] | frozenset[str]) -> Checker:
    """A checker for one channel entry or settings object, in the channels' wording (keys named as 'key'), that
    has already named every unknown key, so that every mistake is named at once."""
    checker = Checker(pointer, quote_keys=True)
    checker.keys(doc, sorted(known), message=f"unknown key; use {sorted(known)}")
    return checker


def named_settings_problems(lookup: SettingsLookup, name: str, kind: str, pointer: str) -> list[Problem]:
    """Problems with an entry's ``via``: the named settings must exist and be of the channel's type."""
    spec = lookup(name)
    if spec is None:
        return [Problem(pointer, f"no notification channel settings named '{name}'; PUT /notification-channels/{name}")]
    if spec.get("type") != kind:
        return [Problem(pointer, f"notification channel settings '{name}' are of type {spec.get('type')}, not {kind}")]
    return []


def unopened_secrets(entry: Mapping[str, Any]) -> list[str]:
    """The fields of a subscriber's channel entry whose stored secret this process could not open: the store's
    secrets were sealed under another key vault's key (a host of a cluster given a vault of its own), so the value
    is still ciphertext, and sending to it (a URL that is ciphertext) can never succeed."""
    return sorted(key for key, value in entry.items() if isinstance(v := reveal(value), str) and v.startswith(SEALED))


def check_name(name: str, pointer: str) -> list[Problem]:
    """Names of channel settings and of a subscriber's channel entries."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return [Problem(pointer, "a name has 1 to 64 letters, digits, '.', '_', ':' or '-', starting alphanumeric")]
    return []
