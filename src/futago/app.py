"""The composition root: reads the settings and wires adapters into services.

This is the only module that knows every concrete class.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from futago.act.commands import CommandService
from futago.act.engine import AlertService
from futago.act.notify import ChannelFactory, NotificationService, NotificationSettings
from futago.act.notify.dashboard import dashboard_channel
from futago.act.rules import load_rule_file
from futago.act.transport import TRANSPORT_SPECS, CommandTransports, CommandTransportType
from futago.city.export.scan import BUILDING, model_family
from futago.config import Settings
from futago.core.errors import FutagoError, InvalidInput
from futago.core.events import EventBus
from futago.core.fence import OPEN, Fence
from futago.core.paths import DataRoot
from futago.core.ports import Store
from futago.core.problems import Problem
from futago.core.secrets import SecretBox
from futago.ingest.connections import ConnectionManager, ConnectionSpec
from futago.ingest.connector import Connector, ConnectorFactory, Sink
from futago.ingest.pipeline import IngestPipeline
from futago.protocols.mqtt.transport import MqttCommandTransport
from futago.protocols.opcua.transport import OpcUaCommandTransport
from futago.security.audit import AuditLog, CheckpointSink, load_signing_key
from futago.security.personal import PersonalData
from futago.security.recorder import AuditRecorder
from futago.security.service import SecurityService
from futago.security.vault import KeyVault, StoreSecrets
from futago.services.calibration import CalibrationService
from futago.services.catalog import CatalogService
from futago.services.dead_letters import DeadLetterService
from futago.services.drift import DriftService
from futago.services.health import HealthService
from futago.services.models import ModelService
from futago.services.ngsild import ContextResolver, ContextSettings, NgsiLdService
from futago.services.ngsild.hosted import registry_of
from futago.services.ngsild.notifier import SubscriptionService
from futago.services.privacy_release import PrivacyReleaseService
from futago.services.quality import QualityService
from futago.services.telemetry import TelemetryService
from futago.services.telemetry_kinds import TelemetryKinds
from futago.services.twins import TwinService
from futago.sim.runtime import BehaviourRuntime
from futago.store.url import StoreUrl

if TYPE_CHECKING:
    from fastapi import FastAPI

    from futago.scale.forward import LeaderCall, LeaderDesk
    from futago.scale.leader import Leadership
    from futago.scale.lease import Lease
    from futago.scale.node import ScaleOut

log = logging.getLogger(__name__)


def open_store(url: str | StoreUrl, secrets: SecretBox | None = None) -> Store:
    """Pick the adapter for a store URL: a path or sqlite:///path (the default), or postgresql://...
    ``secrets`` seals the secrets of what is stored (connections, notification channels, subscribers)."""
    where = url if isinstance(url, StoreUrl) else StoreUrl.parse(url)
    if where.is_postgres:
        from futago.store.postgres import PostgresStore

        try:
            return PostgresStore(where.text, secrets)
        except ConnectionError as exc:
            raise InvalidInput([Problem("/store/db", str(exc))]) from exc
    from futago.store.sqlite import SQLiteStore

    return SQLiteStore(where.path if where.in_memory else Path(where.path), secrets)


def _connector_factories(files: DataRoot) -> dict[str, ConnectorFactory]:
    """Connector types by name; each module is imported only when a connection of its type is made.
    ``files``: where a connection's files are confined (a replay's path, TLS and OPC UA security files)."""

    def mqtt(spec: ConnectionSpec, sink: Sink) -> Connector:
        from futago.protocols.mqtt.connector import mqtt_connector

        return mqtt_connector(spec, sink, files)

    def opcua(spec: ConnectionSpec, sink: Sink) -> Connector:
        from futago.protocols.opcua.connector import opcua_connector

        return opcua_connector(spec, sink, files)

    def replay(spec: ConnectionSpec, sink: Sink) -> Connector:
        from futago.ingest.replay import replay_connector

        return replay_connector(spec, sink, files)

    return {"mqtt": mqtt, "opcua": opcua, "replay": replay}


#: Command transport types, one per protocol: each reads its bindings' ``transport`` object and sends over the
#: connections of its type, loading its protocol's library only when it first sends.
COMMAND_TRANSPORT_TYPES: tuple[CommandTransportType, ...] = (MqttCommandTransport, OpcUaCommandTransport)
TRANSPORT_SPECS.register(*COMMAND_TRANSPORT_TYPES)  # every binding is read against them, wherever it is parsed


def _command_transports(connections: ConnectionManager, files: DataRoot) -> CommandTransports:
    """One transport of each registered type. ``files``: where a connection's TLS files are confined."""
    return CommandTransports(connections, {kind.type: kind(connections, files) for kind in COMMAND_TRANSPORT_TYPES})


def notification_channel_types() -> dict[str, ChannelFactory]:
    """Notification channel types by name; the notification service builds one channel of each."""
    from futago.protocols.http.channel import webhook_channel
    from futago.protocols.mqtt.channel import mqtt_channel
    from futago.protocols.ngsild.channel import ngsild_channel
    from futago.protocols.smtp.channel import email_channel

    return {
        "webhook": webhook_channel, "mqtt": mqtt_channel, "email": email_channel, "dashboard": dashboard_channel,
        "ngsild": ngsild_channel,  # NGSI-LD subscriptions' notifications (HTTP and MQTT bindings)
    }  # fmt: skip


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
    dead_letters: DeadLetterService
    privacy_release: PrivacyReleaseService
    catalog: CatalogService
    health: HealthService
    scale: ScaleOut | None = None  # NATS links when several processes share the work
    fence: Fence = OPEN  # around every side effect of a leader; scaled out, the lease grants it (leadership_for)
    leader_desk: LeaderDesk | None = None  # scaled out: acts on the others' connection and command requests
    ngsild: NgsiLdService | None = None  # the NGSI-LD door onto the same twins (/ngsi-ld/v1)
    ngsild_subscriptions: SubscriptionService | None = None  # /ngsi-ld/v1/subscriptions; the leader notifies
    _maintenance: threading.Event | None = None

    def start(self) -> None:
        """What a server runs in the background: configured and stored connections, the behaviour runtime
        (schedules and reading triggers) and maintenance (retention, the QARTOD timing check).

        Scaled out, only the leading process runs them (futago.scale.leader); the others serve the API and
        stand by to take over."""
        if self.scale is None:
            self.start_stateful()
            return
        self.connections.runs_connectors = False
        self.connections.load(self.settings.connections, start=False)  # known, listed, not run here
        self.scale.leadership = leadership_for(self)  # a lease in PostgreSQL, or a file lock beside SQLite
        self.scale.leadership.start()

    def start_stateful(self) -> None:
        """Run what the leader runs; again after a lost lease, only what ``stop_stateful`` stopped."""
        if self.scale is not None:  # taking the lead: first settle what a former leader left in flight
            self.take_over()
        if self._maintenance is not None:
            self.connections.runs_connectors = True
            self.connections.load(self.settings.connections)
            self.alerts.reload()  # the leader of meanwhile raised and resolved alerts
            self.alerts.active = True
            return
        self.connections.runs_connectors = True
        self.connections.load(self.settings.connections)
        self.behaviours.start()
        self.notifications.start()  # before the alerts, so no alert event goes unheard
        if self.ngsild_subscriptions is not None:
            self.ngsild_subscriptions.start()
        self.alerts.reload()  # the previous leader may have raised or resolved alerts since this process started
        self.alerts.active = True
        self.alerts.start()
        self._maintenance = self.start_maintenance()

    def take_over(self) -> list[str]:
        """Scaled out, on taking the lead: fail the commands former leaders left ``approved`` or ``sent``, under this
        lead's token (futago.scale.takeover; docs/scale.md). A failure is logged, never a reason not to lead: what
        is left stays for the next leader. Returns the ids failed."""
        from futago.scale.takeover import left_commands

        token = self.fence.token
        if token is None:  # the lease went again before it could start
            return []
        db = self.store.db  # type: ignore[attr-defined]  # both SQL stores
        try:
            failed = self.commands.take_over(token, lambda: left_commands(db, token))
        except Exception:
            log.exception("could not settle the commands a former leader left in flight")
            return []
        if failed:
            log.warning("failed %d command(s) a former leader left in flight: %s", len(failed), ", ".join(failed))
        return failed

    def stop_stateful(self) -> None:
        """The lease was lost: stop the connectors and the rules; the other threads run on, fenced (futago.core.fence)
        until this process leads again."""
        self.alerts.active = False
        self.connections.runs_connectors = False
        self.connections.close()

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
                    if self.scale is not None and self.scale.leadership and not self.scale.leadership.fence.holds():
                        if stop.wait(sweep_every_s):  # not the leader now: the one that is does the upkeep
                            return
                        continue
                    if time.monotonic() >= next_retention:
                        next_retention = time.monotonic() + retention_every_s
                        removed = self.apply_retention()
                        if removed:
                            log.info("retention removed %d readings", removed)
                    self.telemetry.mark_missing(time.time_ns() // 1000)
                    if self.scale is not None:  # connections stored through another process's API
                        self.connections.sync()
                        if self.scale.states is not None:  # and what they do, for the processes that run none
                            self.scale.states.record_all(self.connections)
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
        if self.ngsild_subscriptions is not None:
            self.ngsild_subscriptions.close()  # before the notifications it hands its deliveries to
        self.notifications.close()  # after the alerts, before the store (it records outcomes)
        self.commands.close()  # before the connections its transports use
        self.connections.close()
        self.audit_recorder.unsubscribe()
        self.audit.close()  # what it still holds goes to the store first
        self.personal.vault.close()
        if self.scale is not None:  # after everything that publishes events, before the store they describe
            self.scale.close()
        self.store.close()


def server_store_files(settings: Settings) -> Path:
    """Beside a database server's store there is no file to keep secrets next to: they live in the data root (never
    served), as an absolute path fixed when the settings are read, so that a process's working directory does not
    decide which keys it uses (on several machines, point [audit] key at shared storage)."""
    return Path(settings.data_root).absolute()


def audit_key_path(settings: Settings) -> Path | None:
    """The store's audit signing key: configured, or beside a file store; none for an in-memory one."""
    if settings.audit_key:
        return Path(settings.audit_key)
    where = StoreUrl.parse(settings.db)
    if where.is_server:  # a database server: every process of the deployment signs with the same key
        return server_store_files(settings) / "audit-key.pem"
    return None if where.in_memory else Path(f"{where.path}.audit-key.pem")


def _scale_out(settings: Settings, bus: EventBus, worker: bool, store: Store, fence: Fence) -> ScaleOut | None:
    """``fence``: the App's, under whose token the leader records its connections' states (futago.scale.states)."""
    if not settings.nats:
        return None
    from futago.scale.node import ScaleOut
    from futago.scale.relay import STRUCTURE_EVENTS
    from futago.scale.states import ConnectionStates
    from futago.store.sql.db import Database

    db: Database = store.db  # type: ignore[attr-defined]  # both SQL stores; the states are SQL of their own

    # Every process hears the structure events (its caches); a server more while it leads (ScaleOut.leadership) and
    # what its SSE clients ask for (futago.scale.relay); a worker nothing more.
    follow = STRUCTURE_EVENTS
    try:
        return ScaleOut.connect(
            settings.nats, bus, settings.partitions, f"futago-{os.getpid()}", follow, ConnectionStates(db, fence)
        )
    except ConnectionError as exc:
        raise InvalidInput([Problem("/scale/nats", str(exc))]) from exc


def _leader_call(scale: ScaleOut | None) -> LeaderCall | None:
    """Scaled out: how a process that does not lead sends a connection's start or stop, and a command's approval or
    request, on to the leader."""
    if scale is None:
        return None
    from futago.scale.forward import LeaderCall

    return LeaderCall(scale.link)


def _tell_bindings(scale: ScaleOut | None, commands: CommandService) -> None:
    """Scaled out: a command binding stored through this process reaches the others (the leader) at once, and theirs
    reach this one."""
    if scale is None:
        return
    from futago.scale.forward import BindingNotices

    notices = BindingNotices(scale.link, commands)
    notices.open()
    commands.binding_changed = notices.tell


def _leader_desk(
    scale: ScaleOut | None, connections: ConnectionManager, fence: Fence, commands: CommandService
) -> LeaderDesk | None:
    """Scaled out: the leader's side of that hand-over, open while this process leads (leadership_for)."""
    if scale is None:
        return None
    from futago.scale.forward import LeaderDesk

    return LeaderDesk(scale.link, connections, fence, commands)


def audit_checkpoints_path(settings: Settings) -> Path | None:
    """The audit's external checkpoints, an append-only file outside the store: configured, else beside a file
    store (``<db>.audit-checkpoints.jsonl``), else for a database server in ./futago-data, named after the server
    and database (``audit-checkpoints-<host>-<port>-<database>.jsonl``) so that two stores never share one; none
    for an in-memory store."""
    if settings.audit_checkpoints:
        return Path(settings.audit_checkpoints)
    where = StoreUrl.parse(settings.db)
    if where.is_server:
        url = urlsplit(where.path)
        name = "-".join(str(part) for part in (url.hostname, url.port, url.path.strip("/")) if part)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "db"
        return server_store_files(settings) / f"audit-checkpoints-{safe}.jsonl"
    return None if where.in_memory else Path(f"{where.path}.audit-checkpoints.jsonl")


def leader_lock_path(settings: Settings) -> Path:
    """The lock whose holder leads the processes of one machine beside a file store (a database server's store
    holds a lease instead: futago.scale.lease), absolute so that every process finds the same one."""
    where = StoreUrl.parse(settings.db)
    if where.file is None:
        return server_store_files(settings) / "leader.lock"
    return Path(f"{where.path}.leader.lock").absolute()


def vault_path(settings: Settings) -> Path | None:
    """The personal-data key vault: beside a file store (never inside it); in memory for an in-memory store."""
    where = StoreUrl.parse(settings.db)
    if where.is_server:
        return server_store_files(settings) / "personal.keys"
    return None if where.in_memory else Path(f"{where.path}.keys")


def data_root(settings: Settings) -> DataRoot:
    """The folder whose files API callers and stored connections may name: never the store's own files,
    keys or locks, even where they lie inside it (a server store keeps its keys in futago-data/)."""
    private = (
        StoreUrl.parse(settings.db).file, audit_key_path(settings), audit_checkpoints_path(settings),
        vault_path(settings), leader_lock_path(settings),
    )  # fmt: skip
    return DataRoot(Path(settings.data_root), tuple(p for p in private if p is not None))


def artifacts_dir(settings: Settings) -> Path:
    """Saved models that behaviours load: configured, else inside the data root."""
    return Path(settings.artifacts_dir) if settings.artifacts_dir else Path(settings.data_root) / "artifacts"


def build(settings: Settings, worker: bool = False) -> App:
    """Compose the App. ``worker``: for a `futago worker` process, which hears only the model and twin changes of
    other processes, not their readings."""
    vault = KeyVault(vault_path(settings))  # first: it holds the key that seals the store's secrets
    try:
        store = open_store(StoreUrl.parse(settings.db), StoreSecrets(vault))
    except BaseException:
        vault.close()
        raise
    bus = EventBus()
    checkpoints = audit_checkpoints_path(settings)
    sink = CheckpointSink(checkpoints) if checkpoints is not None else None
    audit = AuditLog(store, load_signing_key(audit_key_path(settings)), sink=sink)
    recorder = AuditRecorder(audit, bus)  # first: it hears every change from the start
    models = ModelService(store, bus)
    # The one cycle: the behaviour runtime needs kinds (a twin's lineage), and kinds ask the runtime which telemetry
    # a behaviour derives. The runtime is bound when first asked, after it exists below (no reading arrives before).
    kinds = TelemetryKinds(store, models, bus, is_derived=lambda twin_id, name: behaviours.is_derived(twin_id, name))
    personal = PersonalData(store, vault, audit, lambda: models.models, kinds.model_or_none)
    twins = TwinService(store, models, bus, personal_split=personal.split_twin)
    quality = QualityService(kinds.models_of)
    quality.load(settings.quality)
    telemetry = TelemetryService(
        store, bus, kinds, quality, CalibrationService(store), read_kind_of=kinds.readable,
        personal_filter=lambda rows: personal.split_readings(rows, kinds.model_or_none),
    )  # fmt: skip
    drift = DriftService(store, bus)
    drift.load(settings.drift)
    ingest = IngestPipeline(telemetry, store, convert_unit=kinds.convert_unit, provision=_provisioner(twins))
    # The fence around every side effect of a leader (futago.core.fence): open for one process alone; scaled out,
    # shut until this process's lease grants it (leadership_for), and given to every part that acts as the leader.
    fence = Fence() if settings.nats else OPEN
    scale = _scale_out(settings, bus, worker, store, fence)
    states = scale.states if scale is not None else None
    files = data_root(settings)  # the one folder whose files callers and stored connections may name
    factories = _connector_factories(files)
    leader_call = _leader_call(scale)
    connections = ConnectionManager(
        ingest, store, factories, message_log=scale.ingest_log if scale is not None else None, fence=fence,
        on_state=states.record if states is not None else None,  # the leader records what its connectors do,
        leader_state=states.read if states is not None else None,  # the others read it
        leader_call=leader_call,  # and send a start or stop on to the leader
    )  # fmt: skip
    behaviours = BehaviourRuntime(
        store,
        bus,
        lambda rows: telemetry.append(rows, kind_of=kinds.readable),
        kinds.models_of,
        lambda model: models.models.descendants(model),
        artifacts_dir(settings),
        personal=personal,
        fence=fence,
    )
    behaviours.load(settings.behaviours)
    commands = CommandService(
        store, store, models, bus, _command_transports(connections, files), alerts=store, fence=fence
    )
    commands.load(settings.commands)
    if leader_call is not None:  # an approval made here goes to the leader, whose dispatcher alone sends
        commands.leader = leader_call.command
    _tell_bindings(scale, commands)
    alerts = AlertService(
        bus, store, store, store, lambda model: models.models.descendants(model), proposer=commands,
        active=scale is None,  # scaled out, the leading process evaluates the rules (App.start)
        fence=fence,
    )  # fmt: skip
    alerts.load({name: rule for path in settings.rule_files for name, rule in load_rule_file(path).items()})
    channel_types = notification_channel_types()
    notifications = NotificationService(
        store, store, bus, NotificationSettings.parse(settings.notifications, channel_types), connections,
        building_models=lambda: model_family(models.models, BUILDING),  # a city's own building sub-models too
        files=files, channel_types=channel_types, fence=fence,
    )  # fmt: skip
    notifications.check_configured_channels()
    ngsild = NgsiLdService(twins, models, ContextResolver(_ngsild_contexts(settings)), store.store_identity)
    registry_of(ngsild.contexts).use(store)  # hosted @contexts: in the store, shared by every process
    security = SecurityService(store, audit, settings.rate_limit_per_minute)
    return App(
        settings, store, bus, models, twins, telemetry, ingest, connections, drift, behaviours, commands, alerts,
        notifications, audit, recorder, security, personal,
        dead_letters=DeadLetterService(store, connections, ingest),
        privacy_release=PrivacyReleaseService(store, lambda: models.models, personal, audit),
        catalog=CatalogService(store, behaviours, connections),
        health=HealthService(store, lambda: models.models),
        scale=scale,
        fence=fence,
        leader_desk=_leader_desk(scale, connections, fence, commands),
        ngsild=ngsild,
        ngsild_subscriptions=SubscriptionService(ngsild, store, notifications, bus, security),
    )  # fmt: skip


def _ngsild_contexts(settings: Settings) -> ContextSettings:
    """The user-context cache's bounds and offline copies, from ``[ngsild]`` where the settings have it."""
    section = getattr(settings, "ngsild", None) or {}
    offline = section.get("offline_contexts") or {}
    return ContextSettings(
        cache_entries=int(section.get("context_cache_entries", 256)),
        ttl_s=float(section.get("context_ttl_s", 3600.0)),
        max_bytes=int(section.get("context_max_bytes", 1_000_000)),
        timeout_s=float(section.get("context_timeout_s", 5.0)),
        offline={str(url): str(path) for url, path in offline.items()},
    )


def api_from_environment() -> FastAPI:
    """One process of ``futago serve --workers N`` (uvicorn's factory): the settings come from the FUTAGO_*
    environment the parent set; the App starts, and leadership decides whether its connectors, behaviours and
    alert rules run here (futago.scale.leader). The API closes the App when the process stops."""
    from futago.api.server import create_api
    from futago.config import load_settings

    app = build(load_settings())
    app.start()
    return create_api(app, close_at_shutdown=app.close)


# -- how a scaled-out App takes part in leadership: the lease for its store grants and revokes the fence that build()
# gave every part acting as the leader, and the App starts and stops what it leads with the desk that acts on the
# others' connection requests.


def _lease_for(app: App) -> Lease:
    """A cluster's lease in its PostgreSQL store; one machine's file lock beside a SQLite store."""
    from futago.scale.lease import FileLease, PostgresLease

    where = StoreUrl.parse(app.settings.db)
    return PostgresLease(where.text) if where.is_postgres else FileLease(leader_lock_path(app.settings))


def _advertised(app: App) -> str:
    """Where this process serves its API, stored with its lease so that operators see who leads."""
    host = app.settings.host
    shown = socket.getfqdn() if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{app.settings.port} (pid {os.getpid()})"


def leadership_for(app: App, lease: Lease | None = None) -> Leadership:
    """The lease (its store's, unless given) that grants the App's fence, and what it starts and stops as it leads."""
    from futago.scale.leader import Leadership

    assert app.scale is not None and app.leader_desk is not None  # a scaled-out App (build)
    desk = app.leader_desk
    lease = lease if lease is not None else _lease_for(app)

    def lead() -> None:
        app.start_stateful()
        desk.open()

    def lose() -> None:
        desk.close()
        app.stop_stateful()

    return Leadership(lease, lead, on_lose=lose, fence=app.fence, address=_advertised(app))
