"""Who is calling, and may they: API keys (stored as scrypt hashes, with scopes and expiry) and the policy entries.

A key reads ``fk_<id>_<secret>``: the id finds its record, the secret is checked against the scrypt hash (constant
time). A key acts for its subject (``user:alice``), its groups and itself (``key:<id>``), and only within its
scopes (the permissions it may use at all, whatever the policies grant). Verified keys are remembered for a
minute by the SHA-256 of the whole key, so that scrypt's cost is paid once per key, not per request; revoking a
key forgets it at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from futago.core.errors import Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthorized
from futago.core.problems import Problem
from futago.security.audit import AuditLog
from futago.security.policy import PERMISSIONS, SUBJECT, PolicyEntry, PolicySet
from futago.store.port import SecurityStore

KEY_PREFIX = "fk_"
SESSION_S = 8 * 3600  # a dashboard session lasts a working day
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
REMEMBER_S = 60.0


class RateLimiter:
    """A token bucket per caller: ``per_minute`` requests a minute on average, bursts up to a fifth of that."""

    def __init__(self, per_minute: int) -> None:
        self.unlimited = per_minute <= 0  # 0: no limit
        self.rate = max(per_minute, 1) / 60.0
        self.burst = max(1.0, per_minute / 5)
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, caller: str) -> None:
        if self.unlimited:
            return
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[caller] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise TooManyRequests(f"{caller} is over its rate limit; try again in {wait:.1f} s")
            self._buckets[caller] = (tokens - 1.0, now)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the subjects policies are asked about, and what the credential may do at all."""

    name: str
    subjects: tuple[str, ...]
    scopes: frozenset[str] = frozenset(PERMISSIONS)
    admin: bool = False  # the local admin of a loopback server, or the configured bootstrap token


LOCAL_ADMIN = Principal("local-admin", ("user:local-admin",), admin=True)
BOOTSTRAP_TOKEN = Principal("token", ("user:token",), admin=True)


def _scrypt(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, **SCRYPT).hex()


def _now() -> datetime:
    return datetime.now(UTC)


class SecurityService:
    def __init__(self, store: SecurityStore, audit: AuditLog, rate_per_minute: int = 600) -> None:
        self.store = store
        self.audit = audit
        self.limiter = RateLimiter(rate_per_minute)
        self._policies: PolicySet | None = None
        self._verified: dict[str, tuple[float, Principal, datetime | None]] = {}  # (when, who, expires)
        self._revoked: set[str] = set()  # key ids revoked by this process: never remembered again
        self._sessions: dict[str, tuple[float, Principal]] = {}  # in memory: a restart signs everyone out
        self._lock = threading.Lock()

    # -- API keys -------------------------------------------------------------------------------
    def create_key(
        self,
        name: str,
        subject: str,
        groups: Iterable[str] = (),
        scopes: Iterable[str] = PERMISSIONS,
        expires_days: float | None = 90.0,
        by: str = "system",
    ) -> tuple[dict[str, Any], str]:
        """A new key's record and the key itself: shown once, stored only as its hash."""
        groups, scopes = list(groups), sorted(set(scopes))
        problems = []
        if not SUBJECT.match(subject):
            problems.append(Problem("/subject", "give user:<name>, group:<name> or device:<id>"))
        problems += [Problem("/groups", f"'{g}' is not group:<name>") for g in groups if not g.startswith("group:")]
        problems += [Problem("/scopes", f"'{s}' is not one of {', '.join(PERMISSIONS)}") for s in scopes
                     if s not in PERMISSIONS]  # fmt: skip
        if expires_days is not None and expires_days <= 0:
            problems.append(Problem("/expiresDays", "give a positive number of days, or none for no expiry"))
        if problems:
            raise InvalidInput(problems)
        key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_bytes(16)
        created = _now()
        record = {
            "id": key_id,
            "name": name,
            "subject": subject,
            "groups": groups,
            "scopes": scopes,
            "created": created.isoformat(),
            "expires": (created + timedelta(days=expires_days)).isoformat() if expires_days is not None else None,
            "revoked": None,
            "salt": salt.hex(),
            "hash": _scrypt(secret, salt),
        }
        self.store.put_api_key(record)
        self.audit.record(by, "key.created", f"keys/{key_id}", {"subject": subject, "scopes": scopes})
        return public_key_record(record), f"{KEY_PREFIX}{key_id}_{secret}"

    def revoke_key(self, key_id: str, by: str = "system") -> dict[str, Any]:
        record = self.store.get_api_key(key_id)
        if record is None:
            raise NotFound(f"API key '{key_id}' does not exist")
        record["revoked"] = _now().isoformat()
        self.store.put_api_key(record)
        with self._lock:
            name = f"key:{key_id}"
            self._revoked.add(key_id)
            self._verified = {k: v for k, v in self._verified.items() if v[1].name != name}
            self._sessions = {k: v for k, v in self._sessions.items() if v[1].name != name}  # its sign-ins end
        self.audit.record(by, "key.revoked", f"keys/{key_id}")
        return public_key_record(record)

    def list_keys(self) -> list[dict[str, Any]]:
        return [public_key_record(r) for r in self.store.list_api_keys()]

    def authenticate_key(self, key: str) -> Principal:
        fingerprint = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            remembered = self._verified.get(fingerprint)
        if remembered is not None and time.monotonic() - remembered[0] < REMEMBER_S:
            expires = remembered[2]
            if expires is None or expires > _now():
                return remembered[1]
        key_id, _, secret = key.removeprefix(KEY_PREFIX).partition("_")
        record = self.store.get_api_key(key_id) if key.startswith(KEY_PREFIX) and secret else None
        refusal = "the API key is not valid"
        if record is None or not hmac.compare_digest(_scrypt(secret, bytes.fromhex(record["salt"])), record["hash"]):
            raise Unauthorized(refusal)
        if record["revoked"]:
            raise Unauthorized(f"{refusal}: it was revoked on {record['revoked']}")
        if record["expires"] and datetime.fromisoformat(record["expires"]) <= _now():
            raise Unauthorized(f"{refusal}: it expired on {record['expires']}")
        principal = Principal(f"key:{key_id}", (f"key:{key_id}", record["subject"], *record["groups"]),
                              frozenset(record["scopes"]))  # fmt: skip
        expires = datetime.fromisoformat(record["expires"]) if record["expires"] else None
        with self._lock:
            if key_id not in self._revoked:  # a revoke that raced this check must win
                self._verified[fingerprint] = (time.monotonic(), principal, expires)
        return principal

    # -- dashboard sessions ----------------------------------------------------------------------
    def start_session(self, principal: Principal) -> str:
        """A session id for a browser (an HttpOnly cookie): it acts as the principal that signed in."""
        session = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._sessions = {k: v for k, v in self._sessions.items() if v[0] > now}
            self._sessions[session] = (now + SESSION_S, principal)
        self.audit.record(principal.name, "auth.login", "sessions", {"subjects": list(principal.subjects)})
        return session

    def session(self, session: str) -> Principal | None:
        with self._lock:
            found = self._sessions.get(session)
        return found[1] if found is not None and found[0] > time.monotonic() else None

    def end_session(self, session: str) -> None:
        with self._lock:
            found = self._sessions.pop(session, None)
        if found is not None:
            self.audit.record(found[1].name, "auth.logout", "sessions")

    # -- policies --------------------------------------------------------------------------------
    def policies(self) -> PolicySet:
        with self._lock:
            if self._policies is None:
                self._policies = PolicySet(PolicyEntry.parse(e) for e in self.store.list_policy_entries())
            return self._policies

    def grant(self, entry: PolicyEntry, by: str = "system") -> PolicyEntry:
        entry_id = self.store.add_policy_entry({k: v for k, v in entry.to_json().items() if k != "id"})
        with self._lock:
            self._policies = None
        stored = PolicyEntry(entry.subject, entry.resource, entry.permissions, entry.effect, entry_id)
        self.audit.record(by, f"policy.{entry.effect}", f"policies/{entry_id}", stored.to_json())
        return stored

    def remove(self, entry_id: int, by: str = "system") -> None:
        self.store.delete_policy_entry(entry_id)
        with self._lock:
            self._policies = None
        self.audit.record(by, "policy.removed", f"policies/{entry_id}")

    def list_entries(self) -> list[PolicyEntry]:
        return [PolicyEntry.parse(e) for e in self.store.list_policy_entries()]

    def allowed(self, principal: Principal, permission: str, resource: str) -> bool:
        if principal.admin:
            return True
        if permission not in principal.scopes and "ADMIN" not in principal.scopes:
            return False
        return self.policies().allowed(principal.subjects, permission, resource)

    def check(self, principal: Principal, permission: str, resource: str) -> None:
        if not principal.admin:  # the local admin and the bootstrap token are not throttled
            self.limiter.take(principal.name)
        if not self.allowed(principal, permission, resource):
            raise Forbidden(f"{principal.name} may not {permission} {resource}: no policy entry grants it")


def public_key_record(record: dict[str, Any]) -> dict[str, Any]:
    """A key's record without its hash and salt."""
    return {k: v for k, v in record.items() if k not in ("hash", "salt")}
