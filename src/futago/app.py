"""The composition root: reads the settings and wires adapters into services.

This is the only module that knows every concrete class.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from futago.act.commands import CommandService
from futago.act.engine import AlertService
from futago.act.notify import NotificationService, NotificationSettings
from futago.act.rules import load_rule_file
from futago.act.transports import CommandTransports
from futago.city.export.scan import BUILDING, model_family
from futago.config import Settings
from futago.core.dtdl import Telemetry
from futago.core.errors import FutagoError, InvalidInput, NotFound
from futago.core.events import TWIN_DELETED, TWIN_UPDATED, Event, EventBus
from futago.core.paths import DataRoot
from futago.core.problems import Problem
from futago.core.secrets import SecretBox
from futago.core.telemetry import ValueKind
from futago.ingest.connections import ConnectionManager, ConnectionSpec, Connector, ConnectorFactory, Sink
from futago.ingest.mapping import MappingError
from futago.ingest.pipeline import IngestPipeline
from futago.ingest.units import convert as convert_unit
from futago.security.audit import AuditLog, CheckpointSink, load_signing_key
from futago.security.personal import PersonalData
from futago.security.recorder import AuditRecorder
from futago.security.service import SecurityService
from futago.security.vault import KeyVault, StoreSecrets
from futago.services.calibration import CalibrationService
from futago.services.drift import DriftService
from futago.services.models import ModelService
from futago.services.quality import QualityService
from futago.services.telemetry import TelemetryService
from futago.services.twins import TwinService
from futago.sim.runtime import FORECAST_SUFFIX, BehaviourRuntime
from futago.store.port import Store

if TYPE_CHECKING:
    from futago.scale.node import ScaleOut

log = logging.getLogger(__name__)

_NUMERIC_KINDS: dict[str, ValueKind] = {
    "double": "f8",
    "float": "f8",
    "decimal": "f8",
    "integer": "i8",
    "long": "i8",
    "short": "i8",
    "byte": "i8",
    "unsignedByte": "i8",
    "unsignedShort": "i8",
    "unsignedInteger": "i8",
    "unsignedLong": "f8",  # beyond int64; stored as a double
    "boolean": "b1",
}


_QUANTILE = re.compile(r"q\d\d")


def open_store(url: str, secrets: SecretBox | None = None) -> Store:
    """Pick the adapter for a store URL: a path or sqlite:///path (the default), or postgresql://...
    ``secrets`` seals the secrets of what is stored (connections, notification channels, subscribers)."""
    if url.startswith(("postgresql://", "postgres://")):
        from futago.store.postgres import PostgresStore

        try:
            return PostgresStore(url, secrets)
        except ConnectionError as exc:
            raise InvalidInput([Problem("/store/db", str(exc))]) from exc
    path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
    from futago.store.sqlite import SQLiteStore

    return SQLiteStore(Path(path) if path != ":memory:" else path, secrets)


class TelemetryKinds:
    """Resolves (twin, telemetry) to its value kind from the twin's model, with a small cache."""

    def __init__(self, store: Store, models: ModelService, bus: EventBus) -> None:
        self.store = store
        self.models = models
        self._twin_models: dict[str, str] = {}
        self._lineage: dict[str, list[str]] = {}
        self._lineage_of: object = None
        self._lock = threading.Lock()
        #: Says whether a behaviour writes ``name`` on a twin (derived telemetry the model does not declare).
        self.is_derived: Callable[[str, str], bool] = lambda twin_id, name: False
        bus.subscribe(self._forget)

    def _forget(self, event: Event) -> None:
        if event.type in (TWIN_UPDATED, TWIN_DELETED) and event.twin_id:
            with self._lock:
                self._twin_models.pop(event.twin_id, None)

    def __call__(self, twin_id: str, name: str) -> ValueKind:
        """The kind of a telemetry anyone may write: declared by the model, or an external forecast of one."""
        model = self._model_of(twin_id)
        if name not in self.models.interface(model).telemetry and self._is_forecast_of_declared(model, name):
            if self.is_derived(twin_id, name):
                raise InvalidInput([Problem("/name", f"'{name}' on twin '{twin_id}' is written by a behaviour only")])
            return "f8"
        return _NUMERIC_KINDS.get(self.telemetry(twin_id, name).schema.kind, "json")

    def readable(self, twin_id: str, name: str) -> ValueKind:
        """Also the derived series behaviours write (forecasts, scores, simulations: numbers), which only the
        runtime may write, so no device can fake an anomaly flag or a forecast."""
        model = self._model_of(twin_id)
        if name not in self.models.interface(model).telemetry and self.is_derived(twin_id, name):
            return "f8"
        return self(twin_id, name)

    def _is_forecast_of_declared(self, model: str, name: str) -> bool:
        """``<telemetry>_forecast`` (and its ``~q05``-style quantiles) holds an external forecast of a numeric
        telemetry the model declares, e.g. a rainfall nowcast with future timestamps."""
        stem, _, suffix = name.partition("~")
        if not stem.endswith(FORECAST_SUFFIX) or (suffix and not _QUANTILE.fullmatch(suffix)):
            return False
        declared = self.models.interface(model).telemetry.get(stem.removesuffix(FORECAST_SUFFIX))
        return declared is not None and declared.schema.kind in _NUMERIC_KINDS

    def telemetry(self, twin_id: str, name: str) -> Telemetry:
        """The DTDL Telemetry a twin's model declares under ``name``; NotFound/InvalidInput otherwise."""
        model = self._model_of(twin_id)
        telemetry = self.models.interface(model).telemetry.get(name)
        if telemetry is None:
            declared = ", ".join(sorted(self.models.interface(model).telemetry)) or "none"
            raise InvalidInput(
                [
                    Problem(
                        "/name",
                        f"twin '{twin_id}' ({model}) has no telemetry '{name}'; it declares {declared}",
                    )
                ]
            )
        return telemetry

    def models_of(self, twin_id: str) -> list[str]:
        """The twin's model and every model it extends, nearest first (for per-model settings)."""
        model = self._model_of(twin_id)
        catalog = self.models.models
        if self._lineage_of is not catalog:  # the model set changed: forget what was worked out
            self._lineage, self._lineage_of = {}, catalog
        lineage = self._lineage.get(model)
        if lineage is None:  # one walk over the interfaces per model, not per reading batch
            ancestors = [m for m in catalog.interfaces if m != model and catalog.is_of_model(model, m)]
            lineage = self._lineage[model] = [model, *ancestors]
        return lineage

    def model_or_none(self, twin_id: str) -> str | None:
        try:
            return self._model_of(twin_id)
        except NotFound:
            return None  # the reading is refused later, with its reason

    def _model_of(self, twin_id: str) -> str:
        model = self._twin_models.get(twin_id)
        if model is None:
            twin = self.store.get_twin(twin_id)
            if twin is None:
                raise NotFound(f"twin '{twin_id}' does not exist")
            model = twin.model
            with self._lock:
                if len(self._twin_models) > 200_000:
                    self._twin_models.clear()
                self._twin_models[twin_id] = model
        return model

    def convert_unit(self, twin_id: str, name: str, unit: str, value: Any) -> Any:
        """The ingest pipeline's unit hook: express ``value`` in the unit the model declares."""
        try:
            declared = self.telemetry(twin_id, name).unit
        except FutagoError as exc:
            raise MappingError(exc.problems[0].message if exc.problems else exc.detail) from None
        return value if declared is None else convert_unit(value, unit, declared)


def _connector_factories(files: DataRoot) -> dict[str, ConnectorFactory]:
    """Connector types by name; each module is imported only when a connection of its type is made.
    ``files``: where a connection's files are confined (a replay's path, TLS and OPC UA security files)."""

    def mqtt(spec: ConnectionSpec, sink: Sink) -> Connector:
        from futago.ingest.mqtt import mqtt_connector

        return mqtt_connector(spec, sink, files)

    def opcua(spec: ConnectionSpec, sink: Sink) -> Connector:
        from futago.ingest.opcua import opcua_connector

        return opcua_connector(spec, sink, files)

    def replay(spec: ConnectionSpec, sink: Sink) -> Connector:
        from futago.ingest.replay import replay_connector

        return replay_connector(spec, sink, files)

    return {"mqtt": mqtt, "opcua": opcua, "replay": replay}


def _provisioner(twins: TwinService) -> Callable[[Sequence[str], str], None]:
    """Auto-provisioning: an unknown device id becomes a twin of the connection's template model."""

    def provision(twin_ids: Sequence[str], model: str) -> None:
        existing = twins.store.get_twins(twin_ids)
        for twin_id in twin_ids:
            if twin_id not in existing:
                try:
                    twins.put(twin_id, {"$metadata": {"$model": model}}, if_none_match="*")
                except FutagoError as exc:  # e.g. a bad id: its readings become dead letters
                    log.warning("could not provision twin %s: %s", twin_id, exc.detail)

    return provision


@dataclass
class App:
    settings: Settings
    store: Store
    bus: EventBus
    models: ModelService
    twins: TwinService
    telemetry: TelemetryService
    ingest: IngestPipeline
    connections: ConnectionManager
    drift: DriftService
    behaviours: BehaviourRuntime
    commands: CommandService
    alerts: AlertService
    notifications: NotificationService
    audit: AuditLog
    audit_recorder: AuditRecorder
    security: SecurityService
    personal: PersonalData
    scale: ScaleOut | None = None  # NATS links when several processes share the work
    _maintenance: threading.Event | None = None

    def start(self) -> None:
        """What a server runs in the background: configured and stored connections, the behaviour runtime
        (schedules and reading triggers) and maintenance (retention, the QARTOD timing check).

        Scaled out, only the leading process runs them (futago.scale.leader); the others serve the API and
        stand by to take over."""
        if self.scale is None:
            self._start_stateful()
            return
        self.connections.runs_connectors = False
        self.connections.load(self.settings.connections, start=False)  # known, listed, not run here
        from futago.scale.leader import Leadership

        self.scale.leadership = Leadership(leader_lock_path(self.settings), self._start_stateful)
        self.scale.leadership.start()

    def _start_stateful(self) -> None:
        self.connections.runs_connectors = True
        self.connections.load(self.settings.connections)
        self.behaviours.start()
        self.notifications.start()  # before the alerts, so no alert event goes unheard
        self.alerts.reload()  # the previous leader may have raised or resolved alerts since this process started
        self.alerts.active = True
        self.alerts.start()
        self._maintenance = self.start_maintenance()

    def apply_retention(self, now_us: int | None = None) -> int:
        """Drop readings older than the configured retention; returns how many went."""
        if self.settings.retention_days is None:
            return 0
        now_us = now_us if now_us is not None else time.time_ns() // 1000
        return self.store.apply_retention(now_us - int(self.settings.retention_days * 86_400e6))

    def start_maintenance(self, retention_every_s: float = 3600.0, sweep_every_s: float = 5.0) -> threading.Event:
        """Background upkeep until the returned event is set: the retention policy (hourly) and
        the QARTOD timing check, which marks overdue readings MISSING (every few seconds)."""
        stop = threading.Event()

        def loop() -> None:
            next_retention = 0.0
            while True:
                try:
                    if time.monotonic() >= next_retention:
                        next_retention = time.monotonic() + retention_every_s
                        removed = self.apply_retention()
                        if removed:
                            log.info("retention removed %d readings", removed)
                    self.telemetry.mark_missing(time.time_ns() // 1000)
                    if self.scale is not None:  # connections stored through another process's API
                        self.connections.sync()
                except Exception:  # keep the server up; the next pass tries again
                    log.exception("maintenance pass failed")
                if stop.wait(sweep_every_s):
                    return

        threading.Thread(target=loop, name="futago-maintenance", daemon=True).start()
        return stop

    def close(self) -> None:
        if self.scale is not None and self.scale.leadership is not None:
            self.scale.leadership.close()  # first: a process on its way out must not take the lead meanwhile
        if self._maintenance is not None:
            self._maintenance.set()
        self.behaviours.stop()
        self.alerts.close()
        self.notifications.close()  # after the alerts, before the store (it records outcomes)
        self.commands.close()  # before the connections its transports use
        self.connections.close()
        self.audit_recorder.unsubscribe()
        self.audit.close()  # what it still holds goes to the store first
        self.personal.vault.close()
        if self.scale is not None:  # after everything that publishes events, before the store they describe
            self.scale.close()
        self.store.close()


# Beside a database server's store there is no file to keep secrets next to: they live here, shared by every
# process started in this folder (on several machines, point [audit] key at shared storage).
SERVER_STORE_FILES = Path("futago-data")


def audit_key_path(settings: Settings) -> Path | None:
    """The store's audit signing key: configured, or beside a file store; none for an in-memory one."""
    if settings.audit_key:
        return Path(settings.audit_key)
    path = settings.db.removeprefix("sqlite:///").removeprefix("sqlite://")
    if "://" in path:  # a database server: every process of the deployment signs with the same key
        return SERVER_STORE_FILES / "audit-key.pem"
    return None if path == ":memory:" else Path(f"{path}.audit-key.pem")


def _scale_out(settings: Settings, bus: EventBus, worker: bool) -> ScaleOut | None:
    if not settings.nats:
        return None
    from futago.scale.node import ScaleOut
    from futago.scale.relay import STRUCTURE_EVENTS

    follow = STRUCTURE_EVENTS if worker else (">",)
    try:
        return ScaleOut.connect(settings.nats, bus, settings.partitions, f"futago-{os.getpid()}", follow)
    except ConnectionError as exc:
        raise InvalidInput([Problem("/scale/nats", str(exc))]) from exc


def audit_checkpoints_path(settings: Settings) -> Path | None:
    """The audit's external checkpoints, an append-only file outside the store: configured, else beside a file
    store (``<db>.audit-checkpoints.jsonl``), else for a database server in ./futago-data, named after the server
    and database (``audit-checkpoints-<host>-<port>-<database>.jsonl``) so that two stores never share one; none
    for an in-memory store."""
    if settings.audit_checkpoints:
        return Path(settings.audit_checkpoints)
    path = settings.db.removeprefix("sqlite:///").removeprefix("sqlite://")
    if "://" in path:
        url = urlsplit(path)
        name = "-".join(str(part) for part in (url.hostname, url.port, url.path.strip("/")) if part)
        return SERVER_STORE_FILES / f"audit-checkpoints-{re.sub(r'[^A-Za-z0-9._-]+', '_', name) or 'db'}.jsonl"
    return None if path == ":memory:" else Path(f"{path}.audit-checkpoints.jsonl")


def leader_lock_path(settings: Settings) -> Path:
    """The lock whose holder leads a scaled-out deployment: beside a file store, or in the server store's folder."""
    path = settings.db.removeprefix("sqlite:///").removeprefix("sqlite://")
    return SERVER_STORE_FILES / "leader.lock" if "://" in path or path == ":memory:" else Path(f"{path}.leader.lock")


def vault_path(settings: Settings) -> Path | None:
    """The personal-data key vault: beside a file store (never inside it); in memory for an in-memory store."""
    path = settings.db.removeprefix("sqlite:///").removeprefix("sqlite://")
    if "://" in path:
        return SERVER_STORE_FILES / "personal.keys"
    return None if path == ":memory:" else Path(f"{path}.keys")


def data_root(settings: Settings) -> DataRoot:
    """The folder whose files API callers and stored connections may name: never the store's own files,
    keys or locks, even where they lie inside it (a server store keeps its keys in futago-data/)."""
    store = settings.db.removeprefix("sqlite:///").removeprefix("sqlite://")
    store_file = None if "://" in store or store == ":memory:" else Path(store)
    private = (
        store_file, audit_key_path(settings), audit_checkpoints_path(settings), vault_path(settings),
        leader_lock_path(settings),
    )  # fmt: skip
    return DataRoot(Path(settings.data_root), tuple(p for p in private if p is not None))


def artifacts_dir(settings: Settings) -> Path:
    """Saved models that behaviours load: configured, else inside the data root."""
    return Path(settings.artifacts_dir) if settings.artifacts_dir else Path(settings.data_root) / "artifacts"


def _personal_data(
    store: Store, vault: KeyVault, audit: AuditLog, models: ModelService, kinds: TelemetryKinds
) -> PersonalData:
    return PersonalData(store, vault, audit, lambda: models.models, kinds.model_or_none)


def build(settings: Settings, worker: bool = False) -> App:
    """Compose the App. ``worker``: for a `futago worker` process, which hears only the model and twin changes of
    other processes, not their readings."""
    vault = KeyVault(vault_path(settings))  # first: it holds the key that seals the store's secrets
    try:
        store = open_store(settings.db, StoreSecrets(vault))
    except BaseException:
        vault.close()
        raise
    bus = EventBus()
    checkpoints = audit_checkpoints_path(settings)
    sink = CheckpointSink(checkpoints) if checkpoints is not None else None
    audit = AuditLog(store, load_signing_key(audit_key_path(settings)), sink=sink)
    recorder = AuditRecorder(audit, bus)  # first: it hears every change from the start
    models = ModelService(store, bus)
    twins = TwinService(store, models, bus)
    kinds = TelemetryKinds(store, models, bus)
    quality = QualityService(kinds.models_of)
    quality.load(settings.quality)
    telemetry = TelemetryService(store, bus, kinds, quality, CalibrationService(store), read_kind_of=kinds.readable)
    drift = DriftService(store, bus)
    drift.load(settings.drift)
    ingest = IngestPipeline(telemetry, store, convert_unit=kinds.convert_unit, provision=_provisioner(twins))
    scale = _scale_out(settings, bus, worker)
    files = data_root(settings)  # the one folder whose files callers and stored connections may name
    factories = _connector_factories(files)
    connections = ConnectionManager(
        ingest, store, factories, message_log=scale.ingest_log if scale is not None else None
    )
    behaviours = BehaviourRuntime(
        store,
        bus,
        lambda rows: telemetry.append(rows, kind_of=kinds.readable),
        kinds.models_of,
        lambda model: models.models.descendants(model),
        artifacts_dir(settings),
    )
    kinds.is_derived = behaviours.is_derived
    behaviours.load(settings.behaviours)
    commands = CommandService(store, store, models, bus, CommandTransports(connections, files))
    commands.load(settings.commands)
    alerts = AlertService(bus, store, store, store, lambda model: models.models.descendants(model), proposer=commands)
    alerts.active = scale is None  # scaled out, the leading process evaluates the rules (App.start)
    alerts.load({name: rule for path in settings.rule_files for name, rule in load_rule_file(path).items()})
    notifications = NotificationService(
        store, store, bus, NotificationSettings.parse(settings.notifications), connections,
        building_models=lambda: model_family(models.models, BUILDING),  # a city's own building sub-models too
        files=files,
    )  # fmt: skip
    notifications.check_configured_channels()
    personal = _personal_data(store, vault, audit, models, kinds)
    twins.personal_split = personal.split_twin
    behaviours.personal = personal
    telemetry.personal_filter = lambda rows: personal.split_readings(rows, kinds.model_or_none)
    return App(
        settings, store, bus, models, twins, telemetry, ingest, connections, drift, behaviours, commands, alerts,
        notifications, audit, recorder, SecurityService(store, audit, settings.rate_limit_per_minute), personal,
        scale=scale,
    )  # fmt: skip
