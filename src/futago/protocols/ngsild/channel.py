"""The ``ngsild`` notification channel: an NGSI-LD notification POSTed to an HTTP(S) endpoint or published to an
MQTT topic, as GS CIM 009 binds them.

**HTTP**: a POST of the Notification with ``Content-Type`` the subscription's ``accept`` (``application/json``
with the @context in a Link header, or ``application/ld+json`` with it inside), ``NGSILD-Tenant`` for a
tenant's subscription, ``Idempotency-Key`` (and ``X-Futago-Delivery``) with the delivery's id, the same on every
retry and after a takeover, and each ``receiverInfo`` pair as a header. 2xx delivers; 408, 425, 429, 5xx and network
errors are retried; any other answer is final (the webhook channel's rules).

**MQTT** (``mqtt://[user:password@]host[:port]/topic``, ``mqtts://`` for TLS): the payload is
``{"metadata": {...}, "body": <Notification>}`` (the binding's form for MQTT 3.1.1, which MQTT 5 receivers read
too); ``receiverInfo`` pairs go into ``metadata`` and, over MQTT 5, also as user properties. ``notifierInfo``
``MQTT-QoS`` (0, 1, 2) and ``MQTT-Version`` (``mqtt3.1.1``, ``mqtt5.0``) choose how futago publishes.

Every outcome is told to the observers (the subscription's status counters), retries and dead letters are the
notification service's, as for every channel.
"""

from __future__ import annotations

import contextlib
import http.client
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from futago import __version__
from futago.act.notify.channel import ChannelContext, Message, Outcome, delivery_headers
from futago.core.problems import Problem
from futago.core.twins import now_iso
from futago.protocols.http.channel import _KeepAlive, _retry_after
from futago.protocols.mqtt.channel import MqttChannel

CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
_RETRY_STATUS = frozenset({408, 425, 429})
Observer = Callable[[Mapping[str, Any], Message, Outcome], None]


class NgsiLdChannel:
    type = "ngsild"
    workers = 8  # HTTP endpoints answer at their own pace; MQTT publishes share one client per broker

    def __init__(self, context: ChannelContext) -> None:
        self.timeout_s = context.webhook_timeout_s
        self.http = _KeepAlive(context.webhook_timeout_s)
        self.mqtt = MqttChannel(context.named_settings, None, context.mqtt_timeout_s, context.files)
        self.observers: list[Observer] = []  # told every attempt's outcome (the subscriptions' status)

    def check(self, entry: Mapping[str, Any], pointer: str) -> list[Problem]:
        # Entries are made by the subscription service from a checked subscription, never by a subscriber.
        return [Problem(pointer, "ngsild entries belong to NGSI-LD subscriptions (POST /ngsi-ld/v1/subscriptions)")]

    def check_settings(self, spec: Mapping[str, Any], pointer: str) -> list[Problem]:
        return [Problem(pointer, "the ngsild channel has no named settings: each subscription names its endpoint")]

    def target(self, entry: Mapping[str, Any]) -> str:
        parts = urlsplit(str(entry.get("uri", "")))
        netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        return f"{parts.scheme}://{netloc}{parts.path}"  # no credentials or query in the delivery log

    def send(self, entry: Mapping[str, Any], message: Message) -> Outcome:
        scheme = urlsplit(str(entry.get("uri", ""))).scheme
        outcome = self._mqtt(entry, message) if scheme in ("mqtt", "mqtts") else self._http(entry, message)
        for observe in self.observers:
            # The status is bookkeeping: it must never turn a delivery into a failure.
            with contextlib.suppress(Exception):
                observe(entry, message, outcome)
        return outcome

    def _headers(self, entry: Mapping[str, Any]) -> dict[str, str]:
        headers = {"Content-Type": str(entry.get("accept", "application/json"))}
        if headers["Content-Type"] == "application/json" and entry.get("link"):
            headers["Link"] = f'<{entry["link"]}>; rel="{CONTEXT_REL}"; type="application/ld+json"'
        if entry.get("tenant"):
            headers["NGSILD-Tenant"] = str(entry["tenant"])
        for pair in entry.get("receiverInfo") or ():
            headers[pair["key"]] = pair["value"]
        return headers

    def _http(self, entry: Mapping[str, Any], message: Message) -> Outcome:
        headers = {"User-Agent": f"futago/{__version__}", **delivery_headers(message)}
        headers.update(self._headers(entry))
        sent_at = now_iso()
        try:
            status, text, retry_after = self.http.post(str(entry["uri"]), orjson.dumps(message.body), headers)
        except TimeoutError:
            return Outcome(False, True, f"no answer within {self.timeout_s:g} s", sent_at)
        except (OSError, http.client.HTTPException) as exc:
            return Outcome(False, True, f"cannot reach the endpoint: {type(exc).__name__}: {exc}", sent_at)
        if 200 <= status < 300:
            return Outcome(True, detail=f"HTTP {status}", sent_at=sent_at)
        reason = f"the endpoint answered HTTP {status}" + (f": {text}" if text else "")
        if status in _RETRY_STATUS or status >= 500:
            return Outcome(False, True, reason, sent_at, _retry_after(retry_after))
        return Outcome(False, False, reason, sent_at)

    def _mqtt(self, entry: Mapping[str, Any], message: Message) -> Outcome:
        parts = urlsplit(str(entry["uri"]))
        notifier = {p["key"]: p["value"] for p in entry.get("notifierInfo") or ()}
        broker: dict[str, Any] = {"host": parts.hostname, "tls": parts.scheme == "mqtts"}
        if parts.port:
            broker["port"] = parts.port
        if parts.username:
            broker["username"] = unquote(parts.username)
        if parts.password:
            broker["password"] = unquote(parts.password)
        broker["protocol"] = "3.1.1" if notifier.get("MQTT-Version") == "mqtt3.1.1" else "5"
        qos = notifier.get("MQTT-QoS", "1")
        broker["qos"] = int(qos) if qos in ("0", "1", "2") else 1
        metadata = self._headers(entry)
        payload = orjson.dumps({"metadata": metadata, "body": message.body})
        properties = [(k, v) for k, v in metadata.items()]
        return self.mqtt.publish(broker, unquote(parts.path.lstrip("/")), payload, properties)

    def close(self) -> None:
        self.http.close()
        self.mqtt.close()


def ngsild_channel(context: ChannelContext) -> NgsiLdChannel:
    """The ``ngsild`` channel type."""
    return NgsiLdChannel(context)
