"""The role ports: what each stage needs from storage, one small interface per role, typed by core's records.

A stage or service names only the roles it uses (a ``TwinStore``, an ``AlertStore``), so that what it can touch is
visible in its constructor; the composite ``Store`` is for the composition root (``futago.app``) alone. Every adapter
(``futago.store.sqlite``, ``futago.store.postgres``) implements every role and passes the same contract suite in
``tests/store/contract/``.

The ports are synchronous and small. Adapters hold no domain rules: validation against models happens before a call
reaches the store.

ETag checks happen inside the store's write transaction so that two writers cannot both win: ``if_match`` of
``None`` means "no precondition", ``"*"`` means "must exist", and ``if_none_match="*"`` means "must not exist".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol

from futago.core.alerts import Alert, AlertHistoryEntry
from futago.core.audit import AuditEntry, Checkpoint
from futago.core.calibration import Calibration, CalibrationChange
from futago.core.commands import CommandRecord
from futago.core.consents import Consent
from futago.core.datasets import DatasetRecord
from futago.core.dead_letters import DeadLetter
from futago.core.keys import ApiKey, SessionRecord
from futago.core.notifications import Delivery, NotificationDeadLetter, PendingDelivery, Subscriber
from futago.core.policies import PolicyEntry
from futago.core.privacy import PrivacyBudget, PrivacySpend
from futago.core.runs import BehaviourRun
from futago.core.telemetry import LatestReading, SeriesBatch, SeriesData
from futago.core.twins import Relationship, Twin, TwinScan


class ModelRecord(NamedTuple):
    id: str
    document: dict[str, Any]
    uploaded: str
    decommissioned: bool


class TwinStore(Protocol):
    """DTDL models, twins and their relationships: the twin graph."""

    # models: DTDL documents are stored as given; parsing is core's business.
    def put_models(self, documents: Sequence[dict[str, Any]], uploaded: str) -> None: ...
    def list_models(self) -> list[ModelRecord]: ...
    def get_model(self, model_id: str) -> ModelRecord | None: ...
    def delete_model(self, model_id: str) -> None: ...
    def set_model_decommissioned(self, model_id: str, decommissioned: bool) -> None: ...
    def count_twins_of_models(self, model_ids: Iterable[str]) -> int: ...

    # twins
    def get_twin(self, twin_id: str) -> Twin | None: ...
    def get_twins(self, twin_ids: Iterable[str]) -> dict[str, Twin]: ...
    def put_twin(self, twin: Twin, if_match: str | None = None, if_none_match: str | None = None) -> Twin: ...
    def put_twins(self, twins: Sequence[Twin]) -> list[Twin]:
        """Create or replace many twins in one transaction (bulk import, no preconditions)."""
        ...

    def delete_twin(self, twin_id: str, if_match: str | None = None) -> None: ...
    def scan_twins(self, scan: TwinScan) -> list[Twin]: ...
    def count_twins(self) -> int: ...

    # relationships
    def get_relationship(self, source_id: str, rel_id: str) -> Relationship | None: ...
    def put_relationship(
        self, rel: Relationship, if_match: str | None = None, if_none_match: str | None = None
    ) -> Relationship: ...
    def delete_relationship(self, source_id: str, rel_id: str, if_match: str | None = None) -> None: ...
    def put_relationships(self, rels: Sequence[Relationship]) -> list[Relationship]:
        """Create or replace many relationships in one transaction (bulk import, no preconditions)."""
        ...

    def list_relationships(self, source_id: str, name: str | None = None) -> list[Relationship]: ...
    def list_relationships_of(self, source_ids: Iterable[str], name: str | None = None) -> list[Relationship]: ...
    def list_incoming(self, target_id: str) -> list[Relationship]: ...


class TelemetryStore(Protocol):
    """Time series of readings per (twin, telemetry name)."""

    def append_series(self, batches: Sequence[SeriesBatch]) -> int:
        """Store readings; idempotent on (twin, name, ts): the last write of a timestamp wins."""
        ...

    def read_series(self, twin_id: str, name: str, start_us: int | None, end_us: int | None) -> SeriesData:
        """Readings with start_us <= ts < end_us, sorted by time."""
        ...

    def latest(self, twin_id: str) -> dict[str, LatestReading]: ...
    def series_names(self, twin_id: str) -> list[str]: ...
    def delete_series(self, twin_id: str, name: str | None = None) -> None: ...
    def apply_retention(self, cutoff_us: int) -> int:
        """Delete readings older than cutoff_us; returns how many were removed."""
        ...


class DeadLetterStore(Protocol):
    """What the ingest pipeline could not take in, kept whole so that it can be replayed."""

    def add_dead_letters(self, letters: Sequence[DeadLetter]) -> list[int]:
        """Store the letters; one whose ``key`` is already stored is kept once (its id is returned again), so that a
        message redelivered after a crash does not make a second letter."""
        ...

    def list_dead_letters(
        self, connection: str | None = None, after_id: int | None = None, limit: int = 100
    ) -> list[DeadLetter]: ...
    def get_dead_letters(self, ids: Iterable[int]) -> list[DeadLetter]: ...
    def delete_dead_letters(self, ids: Iterable[int]) -> int: ...
    def count_dead_letters(self) -> dict[str, int]:
        """Dead letters per connection."""
        ...


class ConnectionStore(Protocol):
    """Stored connection specifications, by name (their secrets sealed at rest)."""

    # Connection specs stay JSON documents: user-authored, stored verbatim, checked by ingest at the edge.
    def put_connection(self, name: str, spec: dict[str, Any]) -> None: ...
    def list_connections(self) -> dict[str, dict[str, Any]]: ...
    def delete_connection(self, name: str) -> None: ...


class CalibrationStore(Protocol):
    """The calibration records in force per series, and the log of the changes that led there."""

    def list_calibrations(self, twin_id: str | None = None) -> list[Calibration]:
        """The calibrations in force, of one twin or of all, sorted by (twin, telemetry, id)."""
        ...

    def save_calibrations(
        self, twin_id: str, telemetry: str, records: Sequence[Calibration], change: CalibrationChange
    ) -> None:
        """Replace a series' calibrations and log the change that led there, atomically."""
        ...

    def list_calibration_changes(self, twin_id: str, telemetry: str) -> list[CalibrationChange]:
        """Oldest first."""
        ...


class IngestStore(DeadLetterStore, ConnectionStore, CalibrationStore, Protocol):
    """Everything the ingest stage keeps: dead letters, connection specifications and calibrations."""


class SimStore(Protocol):
    """Behaviour definitions, and a provenance record per behaviour run (inputs, model, outputs, outcome)."""

    # Behaviour specs stay JSON documents: user-authored, stored verbatim, checked by sim at the edge.
    def put_behaviour(self, name: str, spec: dict[str, Any]) -> None: ...
    def list_behaviours(self) -> dict[str, dict[str, Any]]: ...
    def delete_behaviour(self, name: str) -> None: ...
    def add_behaviour_run(self, run: BehaviourRun, keep: int | None = None) -> int:
        """Store a run record (its ``id`` is ignored); returns its id. With ``keep``, only the newest ``keep``
        records of that (behaviour, twin) remain."""
        ...

    def list_behaviour_runs(
        self, behaviour: str | None = None, twin_id: str | None = None, limit: int = 50
    ) -> list[BehaviourRun]:
        """Run records, newest first, each with its ``id``."""
        ...


class AlertStore(Protocol):
    """Alert rules (stored as given; parsing is act's business), alerts, and each alert's append-only history."""

    # Alert rules stay JSON documents: user-authored, stored verbatim, parsed by act at the edge.
    def put_alert_rule(self, name: str, spec: dict[str, Any]) -> None: ...
    def list_alert_rules(self) -> dict[str, dict[str, Any]]: ...
    def delete_alert_rule(self, name: str) -> None: ...
    def put_alert(self, alert: Alert, history: Sequence[AlertHistoryEntry] = ()) -> None:
        """Create or update an alert, and append ``history`` entries to its stored history: the alert's own
        ``history`` is not written, so a transition adds its entry instead of rewriting the whole list."""
        ...

    def get_alert(self, alert_id: str) -> Alert | None:
        """The alert with its whole stored history."""
        ...

    def list_alerts(
        self,
        state: str | None = None,
        rule: str | None = None,
        twin_id: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> tuple[list[Alert], int | None]:
        """Alerts newest first, and the cursor (``before``) of the next page, None on the last one."""
        ...

    def open_alerts(self) -> list[Alert]:
        """Alerts not yet resolved, oldest first."""
        ...

    # The leader's plans, kept so that the next leader goes on with them: a rule's suppression window after a
    # resolution (per rule and twin), and when each raised alert is next escalated (epoch microseconds).
    def put_suppression(self, rule: str, twin_id: str, until_us: int) -> None: ...
    def suppressions(self, ended_before_us: int) -> dict[tuple[str, str], int]:
        """The windows by (rule, twin), each with when it ends; those that ended before ``ended_before_us`` are
        deleted."""
        ...

    def set_escalation(self, alert_id: str, due_us: int | None) -> None:
        """Plan the alert's next escalation; None drops its plan (acknowledged, resolved)."""
        ...

    def escalations(self) -> dict[str, int]: ...


class CommandStore(Protocol):
    """Command bindings and records (the SQLite adapter: ``store/sqlite/commands.py``).

    ``update_command`` is a compare-and-set on the record's state; a record's ``admitted_us`` (when it passed the
    envelope) is what ``list_admitted_commands`` counts for rate limits and the rate of change.
    """

    # Command bindings stay JSON documents: user-authored, stored verbatim, checked by act at the edge.
    def put_command_binding(self, twin_id: str, command: str, spec: dict[str, Any]) -> None: ...
    def list_command_bindings(self) -> dict[tuple[str, str], dict[str, Any]]: ...
    def delete_command_binding(self, twin_id: str, command: str) -> None: ...
    def add_command(self, record: CommandRecord) -> None: ...
    def update_command(self, record: CommandRecord, expected_state: str) -> bool: ...
    def get_command(self, command_id: str) -> CommandRecord | None: ...
    def list_commands(
        self, state: str | None = None, twin_id: str | None = None, command: str | None = None, limit: int = 100
    ) -> list[CommandRecord]:
        """Newest first."""
        ...

    def list_admitted_commands(
        self, twin_id: str, command: str, since_us: int | None = None, limit: int = 1000
    ) -> list[CommandRecord]:
        """The records of a twin's command that passed the envelope (since ``since_us``), newest first."""
        ...


class SeriesStats(NamedTuple):
    """How many readings one stored series holds, and the time range they span (µs since the epoch)."""

    twin_id: str
    name: str
    readings: int
    first_us: int
    last_us: int


class DatasetStore(Protocol):
    """What the data catalog reads: dataset records (a city import's source files, licence and counts),
    and a summary of every stored telemetry series.

    ``put_dataset`` replaces the record of the same id, and refuses one without an ``id``, ``kind`` or
    ``updated`` (InvalidInput).
    """

    def put_dataset(self, record: DatasetRecord) -> None: ...
    def get_dataset(self, dataset_id: str) -> DatasetRecord | None: ...
    def list_datasets(self, kind: str | None = None) -> list[DatasetRecord]:
        """Records sorted by id, of one kind or of all."""
        ...

    def delete_dataset(self, dataset_id: str) -> None: ...
    def series_stats(self) -> list[SeriesStats]:
        """Every stored series with at least one reading, sorted by (twin, name)."""
        ...


class NotificationStore(Protocol):
    """Subscribers, named channel settings, the delivery log and the dead letters of notifications."""

    def put_subscriber(self, subscriber: Subscriber) -> bool:
        """Create or replace (secrets sealed at rest); True when it was created."""
        ...

    def get_subscriber(self, subscriber_id: str) -> Subscriber | None: ...
    def list_subscribers(self, after_id: str | None = None, limit: int | None = None) -> list[Subscriber]:
        """In id order; ``after_id`` resumes a listing. A stored subscriber that cannot be read is left out (and
        logged), so that one damaged row cannot stop notifications for everyone else."""
        ...

    def delete_subscriber(self, subscriber_id: str) -> None: ...
    # Channel settings stay JSON documents: user-authored, stored verbatim, checked by the channel of their type.
    def put_notification_channel(self, name: str, spec: dict[str, Any]) -> None: ...
    def list_notification_channels(self) -> dict[str, dict[str, Any]]: ...
    def delete_notification_channel(self, name: str) -> None: ...
    def save_deliveries(
        self,
        records: Sequence[Delivery],
        dead_letters: Sequence[NotificationDeadLetter] = (),
        bodies: Mapping[str, dict[str, Any]] | None = None,
    ) -> list[int]:
        """Insert or update deliveries (by id; their ``seq`` is ignored) and add dead letters, in one transaction;
        returns the new dead letters' ids. ``bodies`` (by delivery id) are kept in the outbox until the delivery is
        ``sent`` or ``failed``, so that another process can send what this one had not."""
        ...

    def pending_deliveries(self, after: int | None = None, limit: int = 1000) -> list[PendingDelivery]:
        """Deliveries ``queued`` or ``retrying`` that have a body in the outbox, oldest first (by ``seq``)."""
        ...

    def prune_deliveries(self, before: str) -> int:
        """Delete the deliveries ``sent`` or ``failed`` queued before ``before`` (ISO 8601, UTC); a delivery
        still pending, or one a dead letter refers to, stays. Returns how many went."""
        ...

    def prune_notification_dead_letters(self, before: str) -> int:
        """Delete the dead letters that failed before ``before`` (ISO 8601, UTC); returns how many went."""
        ...

    def get_delivery(self, delivery_id: str) -> Delivery | None: ...
    def list_deliveries(
        self,
        alert_id: str | None = None,
        subscriber_id: str | None = None,
        outcome: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Oldest first, each with its ``seq``; ``after`` (a seq) resumes a listing."""
        ...

    def list_notification_dead_letters(
        self, after_id: int | None = None, limit: int = 100
    ) -> list[NotificationDeadLetter]: ...
    def get_notification_dead_letters(self, ids: Iterable[int]) -> list[NotificationDeadLetter]: ...
    def delete_notification_dead_letters(self, ids: Iterable[int]) -> int: ...
    def count_notification_dead_letters(self) -> int: ...


class NgsiLdSubscriptionStore(Protocol):
    """NGSI-LD subscriptions, keyed by tenant ("" for the default) and id, and apart their delivery status."""

    def put_ngsild_subscription(self, tenant: str, subscription_id: str, spec: dict[str, Any]) -> None: ...
    def list_ngsild_subscriptions(self) -> dict[tuple[str, str], dict[str, Any]]: ...
    def delete_ngsild_subscription(self, tenant: str, subscription_id: str) -> None: ...
    def put_ngsild_subscription_status(self, tenant: str, subscription_id: str, status: dict[str, Any]) -> None: ...
    def list_ngsild_subscription_statuses(self) -> dict[tuple[str, str], dict[str, Any]]: ...


class HostedContext(NamedTuple):
    """An @context a client POSTed to /ngsi-ld/v1/jsonldContexts, served by this broker at that path + ``local_id``."""

    local_id: str
    context: Any  # the document's @context member
    created_at: str  # ISO 8601, UTC
    hits: int = 0  # how many times a process loaded it (each caches it for context_ttl_s)
    last_usage: str | None = None


class NgsiLdContextStore(Protocol):
    """Hosted NGSI-LD @contexts, shared by every tenant and every process on the store."""

    def add_ngsild_context(self, context: HostedContext, limit: int) -> None:
        """Store it, unless ``limit`` are stored already: then Conflict and nothing stored (the count and the
        insert are one transaction, one writer at a time, so concurrent adds cannot pass the bound)."""
        ...

    def get_ngsild_context(self, local_id: str) -> HostedContext | None: ...
    def list_ngsild_contexts(self) -> list[HostedContext]:
        """Sorted by local id."""
        ...

    def ngsild_context_ids(self) -> set[str]: ...
    def use_ngsild_context(self, local_id: str, used_at: str) -> None:
        """Count a hit and record when (nothing when it is gone)."""
        ...

    def delete_ngsild_context(self, local_id: str) -> bool:
        """Whether it was there."""
        ...


class StoreIdentity(Protocol):
    def store_identity(self) -> str:
        """An id drawn once, when the store was made: the same for every process on it, across restarts."""
        ...


class AuditStore(Protocol):
    """The hash-chained audit log and its signed checkpoints."""

    def append_audit_batch(self, makes: Sequence[Callable[[int, str], AuditEntry]]) -> list[AuditEntry]:
        """Call each ``make(seq, prev)`` in turn with the next sequence number and the head's hash, and store what
        it returns, all in one transaction, so that concurrent appends cannot fork the chain. Append-only: nothing
        updates or deletes an entry."""
        ...

    def scan_audit(self, after: int = 0, limit: int = 1000) -> list[tuple[int, AuditEntry]]:
        """(position, entry) in the order the entries were stored, after position ``after``: not sorted by
        their seq, so that a reordering shows."""
        ...

    def count_audit(self) -> int: ...
    def put_audit_checkpoint(self, checkpoint: Checkpoint) -> None: ...
    def list_audit_checkpoints(self) -> list[Checkpoint]: ...


class SecurityStore(Protocol):
    """Access policy entries and API key records (hashes, never the keys)."""

    def add_policy_entry(self, entry: PolicyEntry) -> int:
        """Store the entry (its ``id`` is ignored); returns its id."""
        ...

    def delete_policy_entry(self, entry_id: int) -> None: ...
    def list_policy_entries(self) -> list[PolicyEntry]:
        """In the order they were added, each with its ``id``."""
        ...

    def put_api_key(self, record: ApiKey) -> None:
        """Create or replace the record of the same id."""
        ...

    def get_api_key(self, key_id: str) -> ApiKey | None: ...
    def list_api_keys(self) -> list[ApiKey]:
        """Sorted by id."""
        ...

    # Dashboard sessions, shared by every process (a session made on one works on another).
    def put_session(self, session: SessionRecord) -> None: ...
    def get_session(self, session_id: str) -> SessionRecord | None: ...
    def delete_sessions(self, session_id: str | None = None, key_id: str | None = None, ended_us: int = 0) -> int:
        """Delete a session, a key's sessions, and those that ended before ``ended_us``; returns how many went."""
        ...

    # Refusal and rate budgets shared by every process: counts per bucket (a client, a key) and minute.
    def add_rate_counts(self, counts: Mapping[tuple[str, int], int], prune_before: int | None = None) -> None:
        """Add ``counts`` by (bucket, minute since the epoch) in one transaction; drop minutes before
        ``prune_before``."""
        ...

    def rate_counts(self, buckets: Sequence[str], since_minute: int) -> dict[str, int]:
        """Per bucket, the counts of ``since_minute`` and after (buckets with none are left out)."""
        ...


class PrivacyStore(Protocol):
    """Differential-privacy budgets per dataset, and the releases that spent them."""

    def set_privacy_budget(self, dataset: str, epsilon: float, delta: float) -> None: ...
    def privacy_budget(self, dataset: str) -> PrivacyBudget | None: ...

    def spend_privacy(self, dataset: str, epsilon: float, delta: float, spend: PrivacySpend) -> None:
        """Record a release's spend, or raise Conflict (nothing recorded) when the budget does not cover it."""
        ...


class PersonalStore(Protocol):
    """Personal data, sealed per person, and the consents given for it."""

    def add_personal_records(self, rows: Sequence[tuple[str, str, str, int, bytes]]) -> None:
        """(person, kind ``property``/``telemetry``, name, ts in µs, sealed bytes): ciphertext only."""
        ...

    def personal_records(self, person: str) -> list[tuple[str, str, int, bytes]]: ...
    def put_consent(self, consent: Consent) -> None:
        """Create or replace the consent of its (person, purpose)."""
        ...

    def list_consents(self, person: str) -> list[Consent]:
        """Sorted by purpose."""
        ...


class UnitOfWork(Protocol):
    def transaction(self) -> AbstractContextManager[None]:
        """A unit of work: every write inside commits together, or none does (bulk imports)."""
        ...


class Store(
    TwinStore,
    TelemetryStore,
    IngestStore,
    SimStore,
    AlertStore,
    CommandStore,
    NotificationStore,
    NgsiLdSubscriptionStore,
    NgsiLdContextStore,
    StoreIdentity,
    DatasetStore,
    AuditStore,
    SecurityStore,
    PrivacyStore,
    PersonalStore,
    UnitOfWork,
    Protocol,
):
    """Every role at once, with the unit of work: what an adapter is, and what the composition root alone holds."""

    url: str

    def close(self) -> None: ...
