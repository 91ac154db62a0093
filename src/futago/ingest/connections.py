"""Connections: declared in configuration or through the API, started and stopped at run time.

A connection names a connector type (``mqtt``, ``opcua``, ``replay``), its options, and the
mappings that turn its messages into readings. The manager owns the running connectors and
feeds every message they receive through the one ingest pipeline.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from futago.core.errors import Conflict, InvalidInput, NotFound
from futago.core.fence import OPEN, Fence
from futago.core.ports import ConnectionStore
from futago.core.problems import Problem
from futago.core.secrets import conceal, keep_stored, masked
from futago.core.validation import Checker
from futago.ingest.connector import Connector, ConnectorFactory, Sink
from futago.ingest.mapping import Mapper, RawMessage
from futago.ingest.pipeline import IngestPipeline, IngestResult
from futago.ingest.signing import Signing

log = logging.getLogger(__name__)


class MessageLog(Protocol):
    """Where connectors' messages go instead of the pipeline when several processes share the work (the NATS
    ingestion log of ``futago.scale``): ``publish`` returns once the log holds them, and raises if it cannot."""

    def publish(
        self, connection: str, partition_key: Callable[[str], str], messages: Sequence[RawMessage]
    ) -> IngestResult: ...


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# What ``describe`` adds to a connection: accepted and ignored on a PUT, so that what a GET gave can be sent back.
_SHOWN_ONLY = ("name", "status", "counters")


@dataclass(frozen=True)
class ConnectionSpec:
    name: str
    type: str
    options: dict[str, Any]  # secrets (passwords) as futago.core.secrets.Secret
    mapper: Mapper
    provision_model: str | None
    autostart: bool
    config: dict[str, Any]  # as given, secrets concealed: for storing (sealed) and showing (masked)
    signing: Signing | None = None  # per-device HMAC keys: unsigned or badly signed messages are dead letters

    @classmethod
    def from_config(cls, name: str, config: Any, types: Sequence[str]) -> ConnectionSpec:
        """The spec of a connection; one InvalidInput names every mistake of its name, keys and mappings (the
        options are the connector's to check)."""
        check = Checker()
        if not _NAME.match(name):
            check.add("/name", "a connection name is 1-128 letters, digits, '_', '.' or '-'")
        if not isinstance(config, dict):
            check.extend([Problem("", "a connection is an object with type, options and mappings")])
            check.raise_if_any()
        config = conceal(config)  # from here on no secret of it can be shown or logged by mistake
        known = sorted({"type", "options", "mappings", "provision", "autostart", "signing", *_SHOWN_ONLY})
        check.keys(config, known, message=f"unknown key; use {known}")
        if config.get("type") not in types:
            check.add("/type", f"type must be one of {sorted(types)}")
        check.mapping(config, "options", message="options must be an object")
        options: dict[str, Any] = config.get("options", {})
        provision = config.get("provision")
        model = None
        if provision is not None:
            if not isinstance(provision, dict) or not isinstance(provision.get("model"), str):
                check.add("/provision/model", "to create unknown twins, give {'model': '<dtmi>'} to create them from")
            else:
                model = provision["model"]
        autostart = check.boolean(config, "autostart", default=True, message="autostart is true or false")
        mapper = check.parsed(Mapper.from_config, config.get("mappings"))
        signing = check.parsed(Signing.from_config, config["signing"]) if "signing" in config else None
        check.raise_if_any()
        assert mapper is not None  # parsed without a problem
        return cls(name, config["type"], options, mapper, model, autostart, _without_shown(config), signing)


def _changed(spec: ConnectionSpec, config: dict[str, Any]) -> bool:
    """Whether a stored or configured connection differs from the spec loaded from it."""
    return spec.config != conceal(_without_shown(config))


def _without_shown(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in _SHOWN_ONLY}


class ConnectionManager:
    def __init__(
        self,
        pipeline: IngestPipeline,
        store: ConnectionStore,
        factories: dict[str, ConnectorFactory],
        message_log: MessageLog | None = None,
        *,
        fence: Fence = OPEN,
        leader_state: Callable[[str], dict[str, Any] | None] | None = None,
        on_state: Callable[[str, dict[str, Any]], object] | None = None,
        leader_call: Callable[[str, str], dict[str, Any] | None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.factories = factories
        self.message_log = message_log
        self.runs_connectors = True  # scaled out, only the leading process runs them (futago.scale.leader)
        self.fence = fence  # scaled out: a connector starts only while this process holds the lead
        # Scaled out: what the leader's connectors do, for a process that runs none (futago.scale.states), and
        # who hears of a change of state in the one that runs them.
        self.leader_state = leader_state
        self.on_state = on_state
        # Scaled out, in a process that runs no connector: sends "start" or "stop" of a connection to the leader
        # and gives back the connection as the leader describes it then (None: no leader answered).
        self.leader_call = leader_call
        self._configured: dict[str, Any] = {}
        self._specs: dict[str, ConnectionSpec] = {}
        self._running: dict[str, Connector] = {}
        self._lock = threading.RLock()

    def sink_for(self, spec: ConnectionSpec) -> Sink:
        message_log = self.message_log
        if message_log is not None:

            def publish(messages: Sequence[RawMessage]) -> IngestResult:
                return message_log.publish(spec.name, spec.mapper.partition_key, messages)

            return publish

        def sink(messages: Sequence[RawMessage]) -> IngestResult:
            return self.pipeline.ingest(spec.name, spec.mapper, messages, spec.provision_model, spec.signing)

        return sink

    def put(self, name: str, config: Any, persist: bool = True, start: bool = True) -> ConnectionSpec:
        """Create or replace a connection; a running one is restarted with the new settings."""
        if persist:  # a caller's document replaces the stored one: a mask sent back keeps the secret it stands for
            config = keep_stored(config, self._config_now(name))
        spec = ConnectionSpec.from_config(name, config, list(self.factories))
        connector = self.factories[spec.type](spec, self.sink_for(spec))  # validates the options
        with self._lock:
            self.stop(name, missing_ok=True)
            self._specs[name] = spec
            if persist:
                self.store.put_connection(name, spec.config)
            if spec.autostart and start and self.runs_connectors:
                self._start(name, connector)
        return spec

    def start(self, name: str) -> None:
        if not self.runs_connectors:
            raise Conflict(f"connectors run in the leading process of this deployment; '{name}' starts there")
        with self._lock:
            spec = self.spec(name)
            if name in self._running:
                raise Conflict(f"connection '{name}' is already running")
            self._start(name, self.factories[spec.type](spec, self.sink_for(spec)))

    def _start(self, name: str, connector: Connector) -> None:
        self.fence.check(f"starting connection '{name}'")
        connector.start()
        self._running[name] = connector
        self._state_changed(name)

    def _state_changed(self, name: str) -> None:
        if self.on_state is not None:
            try:
                self.on_state(name, self.state(name))
            except Exception:  # the others see the change at the next pass; this one still ran
                log.warning("could not record the state of connection %s", name, exc_info=True)

    def state(self, name: str) -> dict[str, Any]:
        """What a connection's connector is doing: here, or (in a process that runs none) in the leader's."""
        connector = self._running.get(name)
        if connector is not None:
            return dict(connector.status())
        if not self.runs_connectors and self.leader_state is not None:
            return self.leader_state(name) or {"state": "stopped"}
        return {"state": "stopped"}

    def names(self) -> list[str]:
        return sorted(self._specs)

    def stop(self, name: str, missing_ok: bool = False) -> None:
        with self._lock:
            connector = self._running.pop(name, None)
        if connector is not None:
            connector.stop()
            self._state_changed(name)
        elif not missing_ok and name not in self._specs:
            raise NotFound(f"connection '{name}' does not exist")

    def delete(self, name: str) -> None:
        with self._lock:
            self.spec(name)
            self.stop(name, missing_ok=True)
            del self._specs[name]
            self.store.delete_connection(name)

    def connector(self, name: str) -> Connector:
        """The running connector of a connection (commands write back through it)."""
        connector = self._running.get(name)
        if connector is None:
            self.spec(name)
            raise Conflict(f"connection '{name}' is not running; start it first")
        return connector

    def current_spec(self, name: str) -> ConnectionSpec:
        """A connection's spec as configured or stored now: another process may have changed it since this one
        loaded it (an ingestion worker's view). Parsed again only when it has changed."""
        config = self._config_now(name)
        if config is None:
            raise NotFound(f"connection '{name}' does not exist")
        known = self._specs.get(name)
        if known is not None and not _changed(known, config):
            return known
        spec = ConnectionSpec.from_config(name, config, list(self.factories))
        with self._lock:
            self._specs[name] = spec
        return spec

    def _config_now(self, name: str) -> dict[str, Any] | None:
        """A connection's config as configured or stored now (another process may have stored it)."""
        config: dict[str, Any] | None = self._configured.get(name) or self.store.list_connections().get(name)
        return config

    def spec(self, name: str) -> ConnectionSpec:
        spec = self._specs.get(name)
        if spec is None:
            raise NotFound(f"connection '{name}' does not exist")
        return spec

    def describe(self, name: str) -> dict[str, Any]:
        spec = self.spec(name)
        state = self.state(name)
        counters = self.pipeline.counters.get(name)
        return {
            "name": name,
            **masked(spec.config),  # passwords and signing keys as a mask (a signing key's env: name may show)
            "status": state,
            "counters": counters.to_json() if counters else {"messages": 0, "readings": 0, "deadLetters": 0},
        }

    def list(self) -> list[dict[str, Any]]:
        return [self.describe(name) for name in sorted(self._specs)]

    def load(self, configured: dict[str, Any], start: bool = True) -> None:
        """Start the stored connections and those in the configuration file (which win); with ``start`` False,
        only know them (an ingestion worker maps their messages but runs no connector)."""
        self._configured = dict(configured)
        for name, config in {**self.store.list_connections(), **configured}.items():
            try:
                self.put(name, config, persist=False, start=start)  # stored ones are stored; configured stay so
            except InvalidInput as exc:
                log.error("connection %s is invalid and was not started: %s", name, exc.detail)

    def sync(self) -> None:
        """Follow what other processes stored: start new or changed connections, stop deleted ones (the leading
        process of a scaled-out deployment does this every few seconds)."""
        current = {**self.store.list_connections(), **self._configured}
        for name in [n for n in list(self._specs) if n not in current]:
            with self._lock:
                self.stop(name, missing_ok=True)
                self._specs.pop(name, None)
        for name, config in current.items():
            known = self._specs.get(name)
            if known is None or _changed(known, config):
                try:
                    self.put(name, config, persist=False)
                except InvalidInput as exc:
                    log.error("connection %s is invalid and was not started: %s", name, exc.detail)

    def close(self) -> None:
        for name in list(self._running):
            self.stop(name, missing_ok=True)
