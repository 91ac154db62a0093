"""The answers of the API as Pydantic models: what /openapi.json says each operation gives back.

The routes answer with orjson (``deps.json_response``) and return the Response themselves, so FastAPI neither
validates nor filters through these models: they document the answers, and the schemathesis suite checks that
every answer keeps to them. Each model names the fields an answer has and lets others through
(``extra="allow"``): a twin's properties, a record's optional fields. A field is required only where every answer
has it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """An object with the fields named below, and possibly more."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# -- twins, models, query --------------------------------------------------------------------------------


class TwinDocument(Record):
    """A twin in the Azure Digital Twins style: system fields ($...), its properties and an optional geometry."""

    dtId: str = Field(alias="$dtId")
    etag: str | None = Field(None, alias="$etag")
    metadata: dict[str, Any] | None = Field(None, alias="$metadata", description="$model, $lastUpdateTime")
    telemetry: dict[str, Any] | None = Field(None, alias="$telemetry", description="the latest readings")


class TwinPage(BaseModel):
    value: list[TwinDocument]
    next: str | None = Field(None, description="pass as 'after' for the next page")


class RelationshipDocument(Record):
    relationshipId: str = Field(alias="$relationshipId")
    sourceId: str = Field(alias="$sourceId")
    targetId: str = Field(alias="$targetId")
    relationshipName: str = Field(alias="$relationshipName")
    etag: str | None = Field(None, alias="$etag")


class Relationships(BaseModel):
    value: list[RelationshipDocument]


class IncomingRelationship(Record):
    relationshipId: str = Field(alias="$relationshipId")
    sourceId: str = Field(alias="$sourceId")
    relationshipName: str = Field(alias="$relationshipName")
    relationshipLink: str = Field(alias="$relationshipLink")


class IncomingRelationships(BaseModel):
    value: list[IncomingRelationship]


class ModelInfo(Record):
    id: str
    uploadTime: Any = None
    decommissioned: bool | None = None
    displayName: Any = None
    model: dict[str, Any] | None = Field(None, description="the DTDL Interface (with includeModelDefinition)")


class ModelList(BaseModel):
    value: list[ModelInfo]


class QueryAnswer(BaseModel):
    value: list[Any]
    continuationToken: str | None = None


class Fencing(BaseModel):
    scaledOut: bool = Field(description="one of several processes that share a lease; false: a process alone")
    leads: bool = Field(description="whether this process leads now (runs connectors, rules, notifications)")
    token: int | None = Field(description="the fencing token it leads with; null: alone (no lease), or not leading")
    refusals: dict[str, int] = Field(description="side effects refused for a stale token since it started, per kind")


class Health(Record):
    status: str
    version: str
    store: str
    models: int
    twins: int
    fencing: Fencing | None = None


# -- telemetry ---------------------------------------------------------------------------------------------


class Accepted(BaseModel):
    accepted: int = Field(description="readings stored")


class TelemetryAnswer(Record):
    """Without ``name``: the twin's series with their latest reading (twinId, value). With it: the history, raw
    or bucketed (columns of timestamps, values and quality flags, or one column per aggregate)."""

    twinId: str | None = None
    value: list[Any] | None = Field(None, description="the twin's series: name and latest reading")
    name: str | None = None
    kind: str | None = None
    points: list[dict[str, Any]] | None = Field(None, description="ts plus value/quality or each aggregate")
    bucket: str | None = None
    next: str | None = Field(None, description="pass as 'from' for the next page of raw readings")


class Calibrations(Record):
    value: list[dict[str, Any]]
    changes: list[dict[str, Any]]


# -- ingest ------------------------------------------------------------------------------------------------


class Connection(Record):
    """A connection's settings (secrets masked), state and counters."""

    name: str | None = None
    type: str | None = None


class Connections(BaseModel):
    value: list[Connection]


class DeadLetterRecord(Record):
    id: int | None = None
    connection: str | None = None
    source: str | None = None
    received: Any = None
    reason: str | None = None
    pointer: str | None = None
    payload: str | None = Field(None, description="the message as text, when it is UTF-8")
    payloadBase64: str | None = Field(None, description="the message's bytes, when it is not")


class DeadLetters(BaseModel):
    value: list[DeadLetterRecord]
    counts: dict[str, int] = Field(description="dead letters per connection")
    next: int | None = None


class ReplayOutcome(BaseModel):
    id: int | None = None
    stored: int
    deadLetters: list[str]


class ReplayOutcomes(BaseModel):
    value: list[ReplayOutcome]


# -- the city ----------------------------------------------------------------------------------------------

FEATURE_COLLECTION: dict[str, Any] = {
    "type": "object",
    "description": "a GeoJSON FeatureCollection (RFC 7946)",
    "properties": {"type": {"type": "string"}, "features": {"type": "array", "items": {"type": "object"}}},
}
BINARY: dict[str, Any] = {"type": "string", "format": "binary"}


class TileJson(Record):
    """TileJSON 3.0: tiles, bounds, zoom range and the vector layers with their fields' ranges."""

    tilejson: str | None = None
    tiles: list[str] | None = None


class Tileset(Record):
    """A 3D Tiles 1.1 tileset."""

    asset: dict[str, Any] | None = None
    root: dict[str, Any] | None = None


# -- behaviours --------------------------------------------------------------------------------------------


class Behaviour(Record):
    name: str | None = None
    model: str | None = None


class Behaviours(BaseModel):
    value: list[Behaviour]


class Runs(BaseModel):
    value: list[dict[str, Any]] = Field(description="run records (provenance), newest first")


# -- rules, alerts, commands -------------------------------------------------------------------------------


class Rule(Record):
    name: str | None = None
    source: str | None = Field(None, description="where the rule comes from: a rules file, or api")


class Rules(Record):
    value: list[Rule]
    invalid: Any = Field(None, description="stored rules that no longer parse, with the reason")


class AlertRecord(Record):
    id: str | None = None
    rule: str | None = None
    twinId: str | None = None
    severity: str | None = None
    state: str | None = None


class Alerts(BaseModel):
    value: list[AlertRecord]
    continuationToken: str | None = None


class AlertImpact(BaseModel):
    alertId: str
    zones: list[str]
    buildings: list[str]
    residents: int


class CommandRecord(Record):
    id: str | None = None
    twinId: str | None = None
    command: str | None = None
    state: str | None = None


class Commands(BaseModel):
    value: list[CommandRecord]


class CommandBinding(Record):
    """How one twin's command is sent: transport, mode and safety envelope."""


class CommandBindings(BaseModel):
    value: list[CommandBinding]


# -- notifications -----------------------------------------------------------------------------------------


class Subscriber(Record):
    id: str | None = None


class Subscribers(BaseModel):
    value: list[Subscriber]
    next: Any = Field(None, description="pass as 'after' for the next page")


class NotificationChannel(Record):
    """Named channel settings (passwords masked)."""


class NotificationChannels(BaseModel):
    value: list[NotificationChannel]


class Delivery(Record):
    id: Any = None
    seq: Any = None
    alertId: str | None = None
    subscriberId: str | None = None


class Deliveries(BaseModel):
    value: list[Delivery]
    next: Any = Field(None, description="pass as 'after' for the next page")


class PreviewRecipient(Record):
    subscriberId: str
    why: Any = None
    zone: str | None = None
    depth: float | None = None
    language: str | None = None
    channels: list[str] = []
    subject: str | None = None
    text: str | None = None


class Preview(BaseModel):
    value: list[PreviewRecipient]
    count: int


class NotificationDeadLetter(Record):
    id: Any = None
    deliveryId: Any = None


class NotificationDeadLetters(BaseModel):
    value: list[NotificationDeadLetter]
    next: Any = Field(None, description="pass as 'after' for the next page")


class Requeued(BaseModel):
    value: Any = Field(description="the dead letters sent again")


# -- catalog, audit, security, privacy, personal data ------------------------------------------------------


class CatalogEntry(Record):
    id: str | None = None
    kind: str | None = None


class Catalog(BaseModel):
    value: list[CatalogEntry]


class AuditEntry(Record):
    position: int | None = None
    seq: int | None = None
    actor: str | None = None
    action: str | None = None
    resource: str | None = None


class AuditPage(BaseModel):
    value: list[AuditEntry]
    nextAfter: int | None = None


class Verification(Record):
    """The outcome of checking the hash chain against the signed checkpoints."""


class Checkpoint(Record):
    seq: int
    hash: str
    ts: str
    public_key: str
    signature: str


class Checkpoints(BaseModel):
    value: list[Checkpoint]


class Policy(Record):
    id: int | None = None
    subject: str
    resource: str
    permissions: list[str]
    effect: str


class Policies(BaseModel):
    value: list[Policy]


class ApiKey(Record):
    """An API key's record; never the key, except in the answer that creates it (``key``)."""

    id: str | None = None
    key: str | None = None


class ApiKeys(BaseModel):
    value: list[ApiKey]


class Session(BaseModel):
    caller: str
    subjects: list[str]
    admin: bool


class PrivacyBudget(Record):
    """A dataset's budget (ε, δ) and what releases have spent of it."""


class PrivacyRelease(Record):
    model: str
    budget: PrivacyBudget | None = None


class Consent(Record):
    purpose: str | None = None


class Consents(BaseModel):
    value: list[Consent]


class PersonalRecord(Record):
    """A person's personal data (a read, an export or what an erasure did)."""


class DashboardConfig(BaseModel):
    baseTiles: dict[str, Any] | None = None


class Open(Record):
    """A JSON object whose fields depend on the request (a report, a comparison)."""
