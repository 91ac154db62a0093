"""The MQTT notification channel: the JSON message published to a broker.

**MQTT** (``{"type": "mqtt", "topic": "residents/{subscriber}", "via": <named settings> | "connection": <an
ingest connection> | "host"/"port"}``): the JSON message published with QoS 1 (or the entry's ``qos``); sent
when the broker acknowledges it. The topic may name ``{subscriber}``, ``{alert}`` and ``{rule}``. A broker's
``tls.ca`` names a file inside the data root, like every file a caller names.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from futago.act.notify.channel import (
    ENTRY_KEYS,
    ChannelContext,
    Connections,
    Message,
    Outcome,
    SettingsLookup,
    entry_checker,
    named_settings_problems,
)
from futago.core.errors import FutagoError
from futago.core.paths import NO_FILES, DataRoot
from futago.core.problems import Problem
from futago.core.twins import now_iso
from futago.protocols.mqtt.settings import BROKER_KEYS, MqttBroker, default_port

if TYPE_CHECKING:
    import paho.mqtt.client as paho

log = logging.getLogger(__name__)


class MqttChannel:
    type = "mqtt"
    workers = 2  # a publish waits only for its broker's acknowledgement, over one client per broker

    def __init__(
        self,
        lookup: SettingsLookup,
        connections: Connections | None = None,
        timeout_s: float = 5.0,
        files: DataRoot = NO_FILES,
    ) -> None:
        self.lookup = lookup
        self.connections = connections
        self.timeout_s = timeout_s
        self.files = files  # where a broker's tls.ca may lie: the server's data root
        self._publishers: dict[MqttBroker, _Publisher] = {}
        self._lock = threading.Lock()

    def check(self, entry: Mapping[str, Any], pointer: str) -> list[Problem]:
        checker = entry_checker(entry, pointer, ENTRY_KEYS | {"topic", "qos", "via", "connection"} | BROKER_KEYS.keys())
        topic = checker.text(entry, "topic", max_length=1024)
        if topic is not None and ("+" in topic or "#" in topic or "\0" in topic):
            checker.problems.append(Problem(f"{pointer}/topic", "a notification topic names one topic: no '+' or '#'"))
        checker.integer(entry, "qos", low=0, high=2, default=1)
        sources = [key for key in ("via", "connection", "host") if key in entry]
        if len(sources) > 1:
            checker.problems.append(Problem(pointer, "give one of 'via', 'connection' or 'host'/'port'"))
        elif "host" in entry:
            MqttBroker.parse_into(entry, checker.problems, "futago-notify", self.files, pointer, host_required=True)
        elif "connection" in entry:
            name = checker.text(entry, "connection", max_length=2048)
            if name is not None:
                checker.problems += self._check_connection(name, f"{pointer}/connection")
        else:
            name = checker.text(entry, "via", max_length=2048) if "via" in entry else "mqtt"
            if name is not None:
                checker.problems += named_settings_problems(self.lookup, name, "mqtt", f"{pointer}/via")
        return checker.problems

    def _check_connection(self, name: str, pointer: str) -> list[Problem]:
        if self.connections is None:
            return [Problem(pointer, "no ingest connections here; give 'via' (named settings) or 'host'/'port'")]
        try:
            spec = self.connections.spec(name)
        except FutagoError:
            return [Problem(pointer, f"connection '{name}' does not exist; create it first (PUT /connections/{name})")]
        if spec.type != "mqtt":
            return [Problem(pointer, f"connection '{name}' is an {spec.type} connection, not mqtt")]
        return []

    def check_settings(self, spec: Mapping[str, Any], pointer: str) -> list[Problem]:
        checker = entry_checker(spec, pointer, {"type", "retry"} | BROKER_KEYS.keys())
        MqttBroker.parse_into(spec, checker.problems, "futago-notify", self.files, pointer, host_required=True)
        return checker.problems

    def topic(self, entry: Mapping[str, Any], message: Message) -> str:
        template = str(entry.get("topic") or "futago/notifications/{subscriber}")
        # Plain replacement, not str.format: a topic may hold other braces, and nothing else is expanded.
        return (
            template.replace("{subscriber}", message.subscriber_id)
            .replace("{alert}", message.alert_id)
            .replace("{rule}", message.rule)
        )

    def target(self, entry: Mapping[str, Any]) -> str:
        address = f"{entry.get('host')}:{entry.get('port', default_port(entry.get('tls')))}"
        where = entry.get("via") or entry.get("connection") or address
        return f"{where or 'mqtt'} {entry.get('topic') or 'futago/notifications/{subscriber}'}"

    def _resolve(self, entry: Mapping[str, Any]) -> MqttBroker:
        """The broker an entry sends through, parsed again at each send: named settings, a connection or a CA
        file may have changed since the entry was accepted (InvalidInput when they no longer hold)."""
        if "host" in entry:
            return MqttBroker.parse(entry, "futago-notify", self.files, "", host_required=True)
        if "connection" in entry:
            if self.connections is None:
                raise FutagoError("no ingest connections here")
            name = str(entry["connection"])
            spec = self.connections.spec(name)
            options = {k: v for k, v in dict(spec.options).items() if k in BROKER_KEYS}
            # A session of its own: sharing the ingest client id would disconnect the ingest session.
            options["client_id"] = f"{options.get('client_id') or f'futago-{name}'}-notify"
            return MqttBroker.parse(options, f"futago-{name}-notify", self.files, "/options")
        name = str(entry.get("via", "mqtt"))
        settings = self.lookup(name)
        if settings is None or settings.get("type") != "mqtt":
            raise FutagoError(f"no MQTT notification channel settings named '{name}'")
        return MqttBroker.parse(settings, f"futago-notify-{name}", self.files, "", host_required=True)

    def _publisher(self, broker: MqttBroker) -> _Publisher:
        with self._lock:
            publisher = self._publishers.get(broker)
            if publisher is None:
                publisher = self._publishers[broker] = _Publisher(broker)
            return publisher

    def send(self, entry: Mapping[str, Any], message: Message) -> Outcome:
        try:
            broker = self._resolve(entry)
        except FutagoError as exc:  # the settings went away after the subscriber was accepted
            return Outcome(False, False, exc.detail)
        return self._publisher(broker).publish(
            self.topic(entry, message), orjson.dumps(message.body), int(entry.get("qos", 1)), self.timeout_s
        )

    def publish(
        self, entry: Mapping[str, Any], topic: str, payload: bytes, user_properties: list[tuple[str, str]] | None = None
    ) -> Outcome:
        """Publish ``payload`` on ``topic`` through the broker of ``entry`` (as ``send`` resolves it), with MQTT 5
        user properties where the broker speaks MQTT 5: for bindings with a payload of their own (NGSI-LD)."""
        try:
            broker = self._resolve(entry)
        except FutagoError as exc:
            return Outcome(False, False, exc.detail)
        properties = None
        if user_properties and broker.protocol == "5":
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            properties = Properties(PacketTypes.PUBLISH)
            properties.UserProperty = list(user_properties)
        return self._publisher(broker).publish(topic, payload, int(entry.get("qos", 1)), self.timeout_s, properties)

    def close(self) -> None:
        with self._lock:
            publishers, self._publishers = list(self._publishers.values()), {}
        for publisher in publishers:
            publisher.close()


class _Publisher:
    """A long-lived paho client for one broker: connected once, reconnected by paho, shared by the workers
    (paho's publish is thread-safe)."""

    def __init__(self, broker: MqttBroker) -> None:
        from futago.protocols.mqtt.client import connect_client  # paho, only where an MQTT channel sends

        self.broker = broker
        # A unique client id: two futago processes (or a restarted one) must not disconnect each other.
        client = connect_client(broker, f"{broker.client_id}-{uuid.uuid4().hex[:8]}", clean=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self.connected = threading.Event()
        self.refused: str | None = None
        self.client = client
        client.connect_async(broker.host, broker.port, broker.keepalive)
        client.loop_start()

    def _on_connect(self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            log.warning("notifications: the broker %s:%d refused: %s", self.broker.host, self.broker.port, reason)
            return
        self.refused = None
        self.connected.set()

    def _on_disconnect(self, _client: paho.Client, _userdata: Any, _flags: Any, _reason: Any, _props: Any) -> None:
        self.connected.clear()

    def publish(self, topic: str, payload: bytes, qos: int, timeout_s: float, properties: Any = None) -> Outcome:
        where = f"{self.broker.host}:{self.broker.port}"
        if not self.connected.wait(timeout_s):
            why = f" (it refused: {self.refused})" if self.refused else ""
            return Outcome(False, True, f"cannot reach the MQTT broker {where} within {timeout_s:g} s{why}")
        sent_at = now_iso()
        try:
            info = self.client.publish(topic, payload, qos=qos, properties=properties)
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError) as exc:
            return Outcome(False, True, f"publishing on {topic} at {where} failed: {exc}", sent_at)
        if not info.is_published():
            return Outcome(False, True, f"the broker {where} did not acknowledge {topic} within {timeout_s:g} s")
        return Outcome(True, detail=f"published on {topic} (QoS {qos})", sent_at=sent_at)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def mqtt_channel(context: ChannelContext) -> MqttChannel:
    """The ``mqtt`` channel type."""
    return MqttChannel(context.named_settings, context.connections, context.mqtt_timeout_s, context.files)
