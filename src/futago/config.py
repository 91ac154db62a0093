"""Settings: built-in defaults, then a TOML file, then FUTAGO_* environment variables, then flags.

The TOML file is ``--config PATH``, else ``$FUTAGO_CONFIG``, else ``./futago.toml`` when present::

    [store]
    db = "futago.db"            # a path, sqlite:///path, or (later) postgresql://...
    data_root = "futago-data"   # the only folder API callers and stored connections may name files in
    [server]
    host = "127.0.0.1"
    port = 8000
    api_token = "<32+ random characters>"   # required (or keys) once host is not a loopback address
    max_body_bytes = 67108864
    trusted_proxies = ["10.0.0.5"]   # a reverse proxy whose X-Forwarded-For is believed; default none
    [telemetry]
    retention_days = 365        # unset keeps readings for ever
    [sim]
    artifacts_dir = "futago-data/artifacts"   # saved models a behaviour may load; default <data_root>/artifacts
    dask = "tcp://10.0.0.5:8786"             # or "local": CLI ensembles and scenario sweeps run on Dask
    [scale]
    nats = "nats://127.0.0.1:4222"   # several processes: connectors log messages here, `futago worker`s ingest them
    partitions = 8
    [connections.river]         # one table per connection, started with the server
    type = "mqtt"
    options = { host = "127.0.0.1", port = 1883 }
    mappings = [{ source = "city/river/{station}/level", twin = "river-{station}", telemetry = "waterLevel" }]
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.secrets import Secret, conceal, secret
from futago.core.validation import Checker

# setting name -> (TOML table, TOML key, environment variable)
_SOURCES = {
    "db": ("store", "db", "FUTAGO_DB"),
    "data_root": ("store", "data_root", "FUTAGO_DATA_ROOT"),
    "host": ("server", "host", "FUTAGO_HOST"),
    "port": ("server", "port", "FUTAGO_PORT"),
    "api_token": ("server", "api_token", "FUTAGO_API_TOKEN"),
    "require_auth": ("server", "require_auth", "FUTAGO_REQUIRE_AUTH"),
    "rate_limit_per_minute": ("server", "rate_limit_per_minute", "FUTAGO_RATE_LIMIT_PER_MINUTE"),
    "refusals_per_minute": ("server", "refusals_per_minute", "FUTAGO_REFUSALS_PER_MINUTE"),
    "trusted_proxies": ("server", "trusted_proxies", "FUTAGO_TRUSTED_PROXIES"),
    "oidc_issuer": ("oidc", "issuer", "FUTAGO_OIDC_ISSUER"),
    "oidc_audience": ("oidc", "audience", "FUTAGO_OIDC_AUDIENCE"),
    "oidc_jwks_url": ("oidc", "jwks_url", "FUTAGO_OIDC_JWKS_URL"),
    "oidc_leeway_s": ("oidc", "leeway_s", "FUTAGO_OIDC_LEEWAY_S"),
    "cors_origins": ("server", "cors_origins", "FUTAGO_CORS_ORIGINS"),
    "max_body_bytes": ("server", "max_body_bytes", "FUTAGO_MAX_BODY_BYTES"),
    "max_bulk_requests": ("server", "max_bulk_requests", "FUTAGO_MAX_BULK_REQUESTS"),
    "max_connections": ("server", "max_connections", "FUTAGO_MAX_CONNECTIONS"),
    "header_timeout_s": ("server", "header_timeout_s", "FUTAGO_HEADER_TIMEOUT_S"),
    "keep_alive_s": ("server", "keep_alive_s", "FUTAGO_KEEP_ALIVE_S"),
    "retention_days": ("telemetry", "retention_days", "FUTAGO_RETENTION_DAYS"),
    "artifacts_dir": ("sim", "artifacts_dir", "FUTAGO_ARTIFACTS_DIR"),
    "nats": ("scale", "nats", "FUTAGO_NATS"),
    "partitions": ("scale", "partitions", "FUTAGO_PARTITIONS"),
    "dask": ("sim", "dask", "FUTAGO_DASK"),
    "audit_key": ("audit", "key", "FUTAGO_AUDIT_KEY"),
    "audit_checkpoints": ("audit", "checkpoints", "FUTAGO_AUDIT_CHECKPOINTS"),
    "base_tiles": ("dashboard", "base_tiles", "FUTAGO_BASE_TILES"),
    "base_tiles_attribution": ("dashboard", "base_tiles_attribution", "FUTAGO_BASE_TILES_ATTRIBUTION"),
}


MIN_PUBLIC_TOKEN_CHARS = 32  # the bootstrap token is an administrator: beyond loopback it must not be guessable


@dataclass(frozen=True)
class Settings:
    db: str = "futago.db"
    data_root: str = "futago-data"  # replay files (and artifacts by default) that callers name resolve in here
    host: str = "127.0.0.1"
    port: int = 8000
    api_token: Secret[str] | None = None  # a str given is wrapped: shown and logged as a mask
    require_auth: bool = False  # ask every caller for an API key even on loopback (always so beyond it)
    oidc_issuer: str | None = None  # an OpenID Connect provider whose bearer JWTs are accepted
    oidc_audience: str | None = None  # the audience (aud) tokens for futago carry
    oidc_jwks_url: str | None = None  # default: <issuer>/.well-known/jwks.json
    oidc_leeway_s: float = 60.0  # clock skew allowed on exp/nbf/iat
    rate_limit_per_minute: int = 600  # requests per minute per API key (bursts of a fifth of it)
    refusals_per_minute: int = 300  # 401s per minute per client address before it is refused (429) unheard; 0: off
    # reverse proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto are believed; none: the peer is the client
    trusted_proxies: tuple[str, ...] = ()
    cors_origins: str | None = None  # comma-separated origins allowed to call the API from a browser; none: same origin
    max_body_bytes: int = 64 * 1024 * 1024
    max_bulk_requests: int = 2  # bulk telemetry bodies parsed at once; one more is a 429 (0: no limit)
    max_connections: int = 512  # open HTTP connections; at the cap requests get 503, beyond it connections close
    header_timeout_s: float = 10.0  # a request's headers must arrive within this, or the connection closes
    keep_alive_s: float = 5.0  # an idle keep-alive connection closes after this
    retention_days: float | None = None
    artifacts_dir: str | None = None  # saved, fitted models that behaviours may load; none: <data_root>/artifacts
    dask: str | None = None  # a Dask scheduler (tcp://host:port) or "local"; none: ensembles run in process
    nats: str | None = None  # NATS with JetStream (nats://host:port): connectors log to it, `futago worker`s ingest
    partitions: int = 8  # of the ingestion log; each twin's messages stay in one, in order (fixed once in use)
    connections: dict[str, Any] = field(default_factory=dict)  # name -> connection config
    quality: dict[str, Any] = field(default_factory=dict)  # model -> telemetry -> QARTOD config
    drift: dict[str, Any] = field(default_factory=dict)  # twin -> telemetry -> drift watch
    behaviours: dict[str, Any] = field(default_factory=dict)  # name -> behaviour description
    commands: dict[str, Any] = field(default_factory=dict)  # twin -> command -> binding (mode, transport, envelope)
    rule_files: tuple[str, ...] = ()  # YAML files of alert rules
    notifications: dict[str, Any] = field(default_factory=dict)  # [notifications]: threshold, retry, channels
    ngsild: dict[str, Any] = field(default_factory=dict)  # [ngsild]: @context cache bounds, offline copies
    audit_key: str | None = None  # Ed25519 key (PEM) signing audit checkpoints; default <db>.audit-key.pem
    audit_checkpoints: str | None = None  # append-only file of signed checkpoints, outside the store (see app.py)
    base_tiles: str | None = None  # raster tile URL ({z}/{x}/{y}) under the dashboard's map; none: offline
    base_tiles_attribution: str | None = None  # shown on the map with the base tiles (e.g. "© OpenStreetMap")

    def __post_init__(self) -> None:
        # Secrets are concealed as they come in, so a Settings (or any part of it) never prints one.
        if self.api_token is not None:
            object.__setattr__(self, "api_token", secret(self.api_token))
        object.__setattr__(self, "connections", conceal(self.connections))
        object.__setattr__(self, "notifications", conceal(self.notifications))

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def loopback_only(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def auth_required(self) -> bool:
        """Whether a caller without credentials is refused (401) rather than the local admin."""
        return bool(self.api_token) or self.require_auth or bool(self.oidc_issuer) or not self.loopback_only

    def check_safe_to_serve(self) -> None:
        """Refuse to expose an unauthenticated server, or one with a guessable bootstrap token, beyond this machine."""
        if not self.loopback_only and self.api_token and len(self.api_token) < MIN_PUBLIC_TOKEN_CHARS:
            raise InvalidInput(
                [
                    Problem(
                        "/server/api_token",
                        f"binding to {self.host} exposes futago beyond this machine, and the API token (an "
                        f"administrator's) has {len(self.api_token)} characters: give at least "
                        f"{MIN_PUBLIC_TOKEN_CHARS}, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'",
                    )
                ]
            )
        if not self.loopback_only and not self.api_token and not self.require_auth and not self.oidc_issuer:
            raise InvalidInput(
                [
                    Problem(
                        "/server/api_token",
                        f"binding to {self.host} exposes futago beyond this machine, so authentication is "
                        "required: create API keys (futago keys create) and set FUTAGO_REQUIRE_AUTH=1 (or "
                        "[server] require_auth = true), or set FUTAGO_API_TOKEN, or bind to 127.0.0.1",
                    )
                ]
            )


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
# TOML tables handed on whole, each with whether its entries must be tables too, and what it holds.
_TABLES = {
    "connections": (True, "[connections.<name>] tables describe connections"),
    "quality": (False, '[quality."<model>".<telemetry>] tables configure QC'),
    "drift": (False, '[drift."<twin>".<telemetry>] tables watch for drift'),
    "behaviours": (True, "[behaviours.<name>] tables describe behaviours"),
    "commands": (True, '[commands."<twin>".<command>] tables bind commands'),
    "notifications": (False, "[notifications] is a table"),
    "ngsild": (False, "[ngsild] is a table"),
}
#: [ngsild] settings: each one's kind and least value (the @context cache of the NGSI-LD API, docs/ngsi-ld.md).
_NGSILD = {"context_cache_entries": (int, 1), "context_ttl_s": (float, 0), "context_max_bytes": (int, 1),
           "context_timeout_s": (float, 0.001)}  # fmt: skip


def _check_ngsild(check: Checker, section: dict[str, Any], path: Path) -> dict[str, Any]:
    """[ngsild] with its numbers checked and offline copies' paths made absolute (relative to the file)."""
    out: dict[str, Any] = {}
    for key, value in section.items():
        if key == "offline_contexts":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                check.add("/ngsild/offline_contexts", f'{path}: offline_contexts is a table of URL = "file"')
                continue
            out[key] = {u: str(f if Path(f).is_absolute() else path.parent / f) for u, f in value.items()}
        elif key in _NGSILD:
            kind, least = _NGSILD[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < least or kind(value) != value:
                check.add(f"/ngsild/{key}", f"{path}: {key} is a {kind.__name__} of at least {least}")
                continue
            out[key] = kind(value)
        else:
            check.add(f"/ngsild/{key}", f"{path}: [ngsild] has {', '.join([*_NGSILD, 'offline_contexts'])}")
    return out


def _coerce(check: Checker, name: str, value: Any, origin: str) -> Any:
    """``value`` as the setting's type (a text from the environment too); a problem naming ``origin`` if not."""
    kind = str({f.name: f.type for f in fields(Settings)}[name])
    if name == "trusted_proxies":
        return _proxies(check, value, origin)
    if "bool" in kind:
        if isinstance(value, bool):
            return value
        if str(value).lower() in _TRUE + _FALSE:
            return str(value).lower() in _TRUE
        check.add(f"/{name}", f"{origin}: {value!r} is not true or false")
        return None
    try:
        if "int" in kind:
            return int(value)
        if "float" in kind:
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        check.add(f"/{name}", f"{origin}: {value!r} is not a valid {name}")
        return None


def _proxies(check: Checker, value: Any, origin: str) -> tuple[str, ...] | None:
    """Trusted proxies from a TOML list or a comma-separated text, each an address or a CIDR."""
    entries = value.split(",") if isinstance(value, str) else value
    if not isinstance(entries, list | tuple) or not all(isinstance(e, str) for e in entries):
        check.add("/trusted_proxies", f'{origin}: give a list of addresses or CIDRs, e.g. ["10.0.0.0/8"]')
        return None
    networks = []
    for entry in (e.strip() for e in entries if e.strip()):
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            check.add("/trusted_proxies", f"{origin}: {entry!r} is not an IP address or a CIDR (10.0.0.0/8)")
            return None
    return tuple(networks)


def load_settings(config: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """The settings; one InvalidInput names every wrong value of the file and the environment at once."""
    env = os.environ if environ is None else environ
    check = Checker()
    values: dict[str, Any] = {}
    path = Path(config) if config else Path(env["FUTAGO_CONFIG"]) if env.get("FUTAGO_CONFIG") else None
    if path is None and Path("futago.toml").is_file():
        path = Path("futago.toml")
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInput([Problem("", f"cannot read configuration {path}: {exc}")]) from exc
        for name, (table, key, _) in _SOURCES.items():
            section = document.get(table, {})
            if isinstance(section, dict) and key in section:
                values[name] = _coerce(check, name, section[key], str(path))
        for key, (of_tables, holds) in _TABLES.items():
            tables = check.mapping(document, key, message=f"{path}: {holds}")
            if of_tables and not all(isinstance(entry, dict) for entry in tables.values()):
                check.add(f"/{key}", f"{path}: {holds}")
            values[key] = tables
        values["ngsild"] = _check_ngsild(check, values["ngsild"], path)
        rules = document.get("rules", {})
        files = rules.get("files", []) if isinstance(rules, dict) else None
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            check.add("/rules/files", f"{path}: [rules] files is a list of YAML rule files")
            files = []
        values["rule_files"] = tuple(str((path.parent / f) if not Path(f).is_absolute() else f) for f in files)
    for name, (_, _, variable) in _SOURCES.items():
        if env.get(variable):
            values[name] = _coerce(check, name, env[variable], variable)
    check.raise_if_any()
    return Settings(**values)
