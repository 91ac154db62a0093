"""Request bodies as /openapi.json describes them: one Pydantic model per body that is not a DTDL document, a twin
document, a JSON Patch or NDJSON.

The models document; they do not validate. A route keeps receiving the JSON as it was sent and hands it to its
domain parser (a rule, a behaviour, a binding ...), which names every mistake with a JSON pointer in the words the
API has always used. ``described_by`` puts a model into the OpenAPI document without touching the validation of
the parameter it annotates: a body typed ``dict[str, Any]`` still refuses a list as it did, one typed ``Any``
still reaches its parser whatever it is. The orjson parsing and field limits of ``JSONRoute`` apply as before.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Duration = str | float  # "10m", "6h", ISO 8601 ("PT1M"), or a number of milliseconds
Timestamp = str | int  # ISO 8601, or milliseconds since the epoch
Severity = Literal["info", "warning", "critical"]
Permission = Literal["READ", "WRITE", "COMMAND", "ADMIN"]


def _unchanged(value: Any) -> Any:
    return value


def described_by(model: type[BaseModel]) -> BeforeValidator:
    """Annotated metadata: document the body with ``model`` and validate it exactly as its own type says."""
    return BeforeValidator(_unchanged, json_schema_input_type=model)


class _Closed(BaseModel):
    """A body whose parser refuses keys it does not know (a 422 at the key)."""

    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    """A body whose parser ignores keys it does not know."""

    model_config = ConfigDict(extra="allow")


# -- alerts and rules -----------------------------------------------------------------------------------------


class NoteRequest(_Closed):
    """Acknowledge or resolve an alert: no body, or a note for its history."""

    note: str | None = Field(None, max_length=2000, description="why, for the alert's history")


class RuleMessage(_Closed):
    ja: str | None = Field(None, max_length=2000, description="template with {twin}, {value}, {values[...]}, ...")
    en: str | None = Field(None, max_length=2000, description="template with {twin}, {value}, {values[...]}, ...")


class RuleArea(_Closed):
    relationship: str | None = Field(None, description="the twin's relationship to the zones the alert covers")
    zone: str | None = Field(None, description="a zone twin's id")
    twins: list[str] | None = Field(None, max_length=10_000, description="twin ids the alert covers")


class RuleRecommendation(_Closed):
    command: str = Field(description="the DTDL Command to propose when the rule raises")
    payload: Any = Field(None, description="the command's request")
    twin: str | None = Field(None, description="the twin to command: an id, or a template with {twin} or {zone}")
    relationship: str | None = Field(None, description="command the twins this relationship points to instead")


class RuleRequest(_Closed):
    """A rule: a condition over twins, telemetry or forecasts, and the alert it raises. See docs/rules.md."""

    description: str | None = Field(None, max_length=4000)
    severity: Severity = "warning"
    twins: list[str] | None = Field(None, max_length=10_000, description="the target: these twins ...")
    twinModel: str | None = Field(None, description="... or every twin of this model (a DTMI)")
    scope: dict[str, Any] | None = Field(
        None, description='{"within": <zone twin id>} or {"near": {"point": [lon, lat], "distanceM": m}}'
    )
    when: dict[str, Any] = Field(
        description="the condition, e.g. {threshold: {telemetry: waterLevel, above: 4}}; all/any/not combine them"
    )
    for_: Duration | None = Field(None, alias="for", description="how long the condition holds before it raises")
    message: str | RuleMessage | None = Field(None, description="the alert's text, or one per language")
    suppress: Duration | None = Field(None, description="quiet time after an alert resolves")
    escalateAfter: Duration | None = Field(None, description="escalate an alert not acknowledged within this")
    area: RuleArea | None = Field(None, description="whom the alert concerns, for notifications")
    recommend: RuleRecommendation | None = Field(None, description="a command to propose")
    autoResolve: bool = Field(True, description="resolve when the condition no longer holds")
    enabled: bool = True


# -- behaviours and what-ifs ----------------------------------------------------------------------------------


class BehaviourTrigger(_Closed):
    every: Duration | None = Field(None, description="run on a schedule")
    onReadings: bool | None = Field(None, description="run when new readings of its inputs arrive")


class InputReference(_Closed):
    telemetry: str
    twin: str | None = Field(None, description="another twin's telemetry; the behaviour's own twin when left out")


class BehaviourRequest(_Closed):
    """A behaviour: a model (physics, ML or hybrid) attached to twins, producing derived telemetry."""

    model: str = Field(description="the name of a model futago ships (GET /behaviours lists those in use)")
    params: dict[str, Any] | None = Field(None, description="the model's parameters")
    twins: list[str] | None = Field(None, description="twin ids to run for ...")
    twinModel: str | None = Field(None, description="... and/or every twin of this model (a DTMI)")
    inputs: dict[str, str | InputReference] | None = Field(
        None, description="each model input: a telemetry name, or {twin, telemetry}"
    )
    measured: str | None = Field(None, description="the measured telemetry it predicts or validates against")
    output: str | None = Field(None, description="the stem of the derived telemetry's names")
    step: Duration | None = Field(None, description='the time step (default "10m")')
    window: Duration | None = Field(None, description='the history it reads (default "24h")')
    horizon: Duration | None = Field(None, description='how far it forecasts (default "6h")')
    members: int | None = Field(None, ge=0, description="ensemble members (0: no ensemble)")
    uncertainty: dict[str, Any] | None = Field(None, description="the spread of inputs and parameters")
    trigger: BehaviourTrigger | None = None
    tolerances: dict[str, float] | None = Field(None, description="validation limits per metric (rmse, nse, ...)")
    train: Duration | None = Field(None, description="the history a detector or regressor learns from")
    description: str | None = None
    artifact: str | None = Field(None, description="a saved, fitted model inside the artifacts folder")
    purpose: str | None = Field(None, description="why it processes personal inputs, if it does")


class ScenarioOverrides(_Closed):
    name: str | None = Field(None, description='the scenario\'s name (default "scenario")')
    inputs: dict[str, dict[Literal["scale", "add", "set"], float]] | None = Field(
        None, description='future inputs changed: {"rainfall": {"scale": 1.5}}, {"valve": {"set": 0}}'
    )
    params: dict[str, Any] | None = Field(None, description="model parameters changed")
    state: list[float] | None = Field(None, description="the model state to start from")


class ScenarioImpact(_Closed):
    stage: Literal["standby", "caution", "evacuation", "danger"] = "danger"
    probability: float = Field(0.5, ge=0, le=1, description="P(reaching the stage) from which a scenario floods")
    relationship: str = Field("floodZones", description="the twin's relationship to the zones its floods reach")
    minDepth: float | None = Field(None, ge=0, le=100, description="planned depth (m) from which a building counts")


class ScenarioRequest(_Open):
    """What-if: a baseline and scenarios side by side, nothing written."""

    twin: str = Field(description="the twin to run the scenarios for")
    at: Timestamp | None = Field(None, description="when the scenarios start (default: now)")
    scenarios: list[ScenarioOverrides] = Field(default_factory=list, max_length=16)
    impact: ScenarioImpact | None = Field(None, description="who each scenario's flood would reach")


# -- ingest ---------------------------------------------------------------------------------------------------


class MessageMapping(_Closed):
    source: str = Field(description="the topic or node pattern, capturing {names}")
    twin: str = Field(description="the twin id, a template over the captures")
    telemetry: str | None = Field(None, description="the telemetry name (SenML messages name their own)")
    format: Literal["json", "number", "senml"] = "json"
    value: str | None = Field(None, description="JMESPath to the value (json)")
    timestamp: str | None = Field(None, description="JMESPath to the time (json)")
    unit: str | None = Field(None, description="JMESPath to the unit (json)")
    quality: str | None = Field(None, description="JMESPath to the QARTOD flag (json)")


class ConnectionSigning(_Open):
    keys: dict[str, str] = Field(description="each device twin's HMAC key")
    field: str = Field("sig", description="the message field that holds the signature")


class ConnectionRequest(_Closed):
    """An ingest connection: a protocol client, and how its messages map to twins and telemetry."""

    type: str = Field(description="the connector: mqtt, opcua, ... (as registered)")
    options: dict[str, Any] = Field(
        default_factory=dict, description="the connector's settings: host, port, username, password, tls, ..."
    )
    mappings: list[MessageMapping] = Field(description="how messages become readings")
    provision: dict[str, str] | None = Field(None, description='create unknown twins: {"model": <dtmi>}')
    autostart: bool = True
    signing: ConnectionSigning | None = Field(None, description="refuse messages not signed by their device")
    name: str | None = Field(None, description="as GET answers it; ignored")
    status: Any = Field(None, description="as GET answers it; ignored")
    counters: Any = Field(None, description="as GET answers it; ignored")


class ReadingRecord(_Open):
    """One reading (name and value) or several telemetry of one twin at one time (values)."""

    twinId: str | None = Field(None, description="left out where the URL names the twin")
    ts: Timestamp = Field(description="ISO 8601, or milliseconds since the epoch (or 'timestamp')")
    name: str | None = Field(None, description="the telemetry")
    value: Any = Field(None, description="its value")
    values: dict[str, Any] | None = Field(None, description="telemetry name → value, instead of name and value")
    quality: Literal[1, 2, 3, 4, 9] | None = Field(None, description="a QARTOD flag (default 2, not evaluated)")


class CalibrationRequest(_Closed):
    """A calibration of a sensor's telemetry; stored values in its window are recomputed."""

    kind: Literal["linear", "polynomial"] | None = Field(None, description="polynomial when coefficients are given")
    gain: float | None = None
    offset: float | None = None
    coefficients: list[float] | None = Field(None, description="polynomial coefficients, constant first")
    validFrom: Timestamp | None = None
    validTo: Timestamp | None = None
    certificate: str | None = Field(None, max_length=500)
    why: str | None = Field(None, description="the reason, for the change log")
    supersedes: str | None = Field(None, description="the id of a calibration this one corrects")
    id: str | None = None
    twinId: str | None = Field(None, description="repeats the URL's twin, if given")
    telemetry: str | None = Field(None, description="repeats the URL's telemetry, if given")


# -- commands -------------------------------------------------------------------------------------------------


class CommandRequest(_Closed):
    """Request a command on a twin."""

    payload: Any = Field(None, description="the command's request, as its DTDL Command declares it")
    note: str | None = Field(None, description="why, for the command's audit")


class ApprovalRequest(_Closed):
    note: str | None = Field(None, description="why, for the command's audit")


class RejectionRequest(_Closed):
    reason: str | None = Field(None, description="why, for the command's audit")


class CommandTransport(_Closed):
    type: Literal["mqtt", "opcua"]
    connection: str = Field(description="the ingest connection whose client sends it")
    topic: str | None = Field(None, description="mqtt: the topic, a template with {twin} and {command}")
    response_topic: str | None = Field(None, description="mqtt: where the device answers")
    timeout: Duration | None = None
    qos: Literal[0, 1, 2] | None = None
    write: str | None = Field(None, description="opcua: the node to write the value to ...")
    object: str | None = Field(None, description="opcua: ... or the object of the method to call")
    method: str | None = None
    variant_type: str | None = None
    read_back: str | None = Field(None, description="opcua: a node read back to confirm")
    field: str | None = Field(None, description="opcua: the payload field written")
    arguments: list[str] | None = Field(None, description="opcua: the payload fields passed to the method")


class SafetyEnvelope(_Closed):
    min: float | None = None
    max: float | None = None
    field: str | None = Field(None, description="the payload field the numeric checks apply to")
    max_step: float | None = Field(None, gt=0, description="the largest change from the last value")
    max_rate: str | float | None = Field(None, description='change per second, or "<change>/<duration>": "10/1m"')
    rate_limit: str | None = Field(None, description='at most so many commands per window, e.g. "2/5m"')
    interlocks: list[dict[str, Any]] | None = Field(
        None, description='conditions that block the command, e.g. {"telemetry": "flow", "above": 5}'
    )


class BindingRequest(_Closed):
    """How a twin's command is sent: transport, mode and safety envelope."""

    mode: Literal["recommend", "autonomous"] = Field("recommend", description="recommend: a person approves")
    transport: CommandTransport
    envelope: SafetyEnvelope | None = None
    expires: Duration | None = Field(None, description="a proposal not approved within this expires")


# -- notifications --------------------------------------------------------------------------------------------


class SubscriberRequest(_Closed):
    """A subscriber: who is told about alerts, in which language, where, and through which channels."""

    id: str | None = Field(None, description="repeats the URL's id, if given")
    name: str | None = Field(None, max_length=200)
    language: Literal["ja", "en"] = "ja"
    home: str | None = Field(None, description="the id of the building twin they live in ...")
    point: list[float] | None = Field(None, min_length=2, max_length=2, description="... or [lon, lat] (WGS84)")
    rules: list[str] | None = Field(None, description="rule names or patterns such as 'flood-*'")
    minSeverity: Severity = "info"
    events: list[Literal["raised", "acknowledged", "escalated", "resolved"]] | None = None
    channels: list[dict[str, Any]] = Field(
        max_length=10,
        description='each {"type": "webhook" | "email" | "mqtt" | "dashboard", "name"?, ...}: webhook url and '
        "secret, email to (and via), mqtt topic",
    )


class ChannelSettingsRequest(_Open):
    """Named channel settings: an SMTP server or an MQTT broker (see the operation's description)."""

    type: str = Field(description="email or mqtt")
    retry: dict[str, float] | None = Field(None, description="{attempts, base_s, factor, max_s}")
    host: str | None = None
    port: int | None = None


# -- security, privacy and personal data ----------------------------------------------------------------------


class PolicyRequest(_Open):
    """A policy entry: grant (or revoke) permissions on a resource pattern to a subject."""

    subject: str = Field(description="user:<name>, group:<name>, key:<id> or device:<twin id>")
    resource: str = Field(max_length=500, description="a resource path or glob, e.g. twins/pump-* or *")
    permissions: list[Permission] = Field(min_length=1)
    effect: Literal["grant", "revoke"] = "grant"


class KeyRequest(_Open):
    """An API key to create: the answer is the only time the key is shown."""

    subject: str = Field(description="the subject the key acts for, e.g. user:sato")
    name: str | None = Field(None, description="what it is for (default: the subject)")
    groups: list[str] = Field(default_factory=list, description="groups it acts in")
    scopes: list[Permission] | None = Field(None, description="the permissions it may use (default: all)")
    expiresDays: float | None = Field(90, description="days until it expires; null for never")


class BudgetRequest(_Open):
    """A dataset's total privacy budget."""

    epsilon: float = Field(gt=0, description="ε")
    delta: float = Field(0.0, ge=0, lt=1, description="δ")


class ReleaseRequest(_Open):
    """A count of a model's twins per mesh cell: k-anonymous, and differentially private with a mechanism."""

    model: str = Field(description="the DTMI of the people's model (the dataset)")
    mesh: Literal["1km", "500m", "250m"] = Field("500m", description="the JIS X 0410 mesh level")
    k: int = Field(10, description="cells with fewer than k are suppressed")
    mechanism: Literal["laplace", "gaussian"] | None = Field(None, description="a DP release: spends the budget")
    epsilon: float | None = None
    delta: float | None = None
    area: list[float] | None = Field(None, min_length=4, max_length=4, description="[west, south, east, north]")


class ConsentRequest(_Open):
    """A person's consent for a purpose: no body, or when it expires."""

    expires: str | None = Field(None, description="ISO 8601; null or left out for no expiry")
