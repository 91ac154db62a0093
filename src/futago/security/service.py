"""Who is calling, and may they: API keys (stored as scrypt hashes, with scopes and expiry) and the policy entries.

A key reads ``fk_<id>_<secret>``: the id finds its record, the secret is checked against the scrypt hash (constant
time). A key acts for its subject (``user:alice``), its groups and itself (``key:<id>``), and only within its
scopes (the permissions it may use at all, whatever the policies grant).

scrypt is deliberately expensive (16 MB and tens of milliseconds a check), so it must not be a lever for a
denial of service: the cheap checks come first (the id is known, not revoked, not expired; one refusal for all
three, so a made-up secret learns nothing), failed checks are throttled per key id and per client (budgets every
process shares through the store: futago.security.limits), and at most ``SCRYPT_SLOTS`` checks run at once.
Verified keys are remembered for a minute by the SHA-256 of the whole key, so that scrypt's cost is paid once per
key, not per request.

A credential never outlives its key: every remembered key and every dashboard session started with a key asks
whether the key is still live, and that answer is read again from the store (one read by primary key) once it is
older than ``RECHECK_S``. So a revocation or an expiry takes effect within a second on every process sharing the
store, the ``futago keys revoke`` command included. Dashboard sessions live in the store too (as the hash of the
cookie), so a session started on one process works on every other, and ends on all of them within ``RECHECK_S``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from futago.core.errors import Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthorized
from futago.core.keys import ApiKey, SessionRecord
from futago.core.ports import SecurityStore
from futago.core.problems import Problem
from futago.security.audit import AuditLog
from futago.security.limits import RateLimiter as RateLimiter  # where callers have found it
from futago.security.limits import SharedBudget, SharedRateLimiter
from futago.security.policy import PERMISSIONS, SUBJECT, PolicyEntry, PolicySet

KEY_PREFIX = "fk_"
SESSION_S = 8 * 3600  # a dashboard session lasts a working day, or until its key ends, whichever is first
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
REMEMBER_S = 60.0
RECHECK_S = 1.0  # how stale a key's "still live" answer may be: revocations by other processes land within it
SCRYPT_SLOTS = 2  # concurrent scrypt checks (16 MB each); more callers wait up to SCRYPT_WAIT_S, then get 429
SCRYPT_WAIT_S = 2.0
KEY_FAILURES_PER_MINUTE = 5  # failed checks of one key id, and (twice as many) from one client
REFUSAL = "the API key is not valid: it is unknown, revoked or expired, or its secret is wrong (futago keys list)"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the subjects policies are asked about, and what the credential may do at all."""

    name: str
    subjects: tuple[str, ...]
    scopes: frozenset[str] = frozenset(PERMISSIONS)
    admin: bool = False  # the local admin of a loopback server, or the configured bootstrap token
    key_id: str | None = None  # the API key it authenticated with: it ends when that key is revoked or expires
    expires: datetime | None = None  # when the credential ends (a key's expiry, an OIDC token's exp)


LOCAL_ADMIN = Principal("local-admin", ("user:local-admin",), admin=True)
BOOTSTRAP_TOKEN = Principal("token", ("user:token",), admin=True)


def _scrypt(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, **SCRYPT).hex()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _KeyState:
    """What a process last read of a key's record, and when (monotonic)."""

    checked: float
    live: bool  # known and not revoked
    expires: datetime | None

    def valid(self) -> bool:
        return self.live and (self.expires is None or self.expires > _now())


class SecurityService:
    def __init__(self, store: SecurityStore, audit: AuditLog, rate_per_minute: int = 600) -> None:
        self.store = store
        self.audit = audit
        # every process of a deployment counts against the same budgets (futago.security.limits)
        self.budget = SharedBudget(store)
        self.limiter = SharedRateLimiter(rate_per_minute, self.budget, "requests")
        self.key_failures = SharedRateLimiter(  # per key id
            KEY_FAILURES_PER_MINUTE, self.budget, "key-failures", burst=KEY_FAILURES_PER_MINUTE
        )
        self.client_failures = SharedRateLimiter(
            2 * KEY_FAILURES_PER_MINUTE, self.budget, "client-failures", burst=2 * KEY_FAILURES_PER_MINUTE
        )
        self._scrypt_slots = threading.BoundedSemaphore(SCRYPT_SLOTS)
        self._policies: PolicySet | None = None
        self._policy_rows: list[PolicyEntry] = []  # the entries the policy set was built from
        self._policies_read = 0.0  # when they were last read (monotonic)
        self._verified: dict[str, tuple[float, Principal]] = {}  # SHA-256 of the key -> (when, who)
        self._keys: dict[str, _KeyState] = {}  # key id -> its state as last read from the store
        self._revoked: set[str] = set()  # key ids revoked by this process: never remembered again
        # sessions live in the store (any process knows them); this is what was read of them, and when (monotonic)
        self._sessions: dict[str, tuple[float, int, Principal]] = {}
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
        expires = (created + timedelta(days=expires_days)).isoformat() if expires_days is not None else None
        record = ApiKey(key_id, name, subject, groups, scopes, created.isoformat(), expires, None, salt.hex(),
                        _scrypt(secret, salt))  # fmt: skip
        self.store.put_api_key(record)
        self.audit.record(by, "key.created", f"keys/{key_id}", {"subject": subject, "scopes": scopes})
        return record.public(), f"{KEY_PREFIX}{key_id}_{secret}"

    def revoke_key(self, key_id: str, by: str = "system") -> dict[str, Any]:
        record = self.store.get_api_key(key_id)
        if record is None:
            raise NotFound(f"API key '{key_id}' does not exist")
        record = replace(record, revoked=_now().isoformat())
        self.store.put_api_key(record)
        with self._lock:
            self._revoked.add(key_id)
            self._keys[key_id] = _KeyState(time.monotonic(), False, None)
        self._forget_key(key_id)  # other processes notice within RECHECK_S (key_live reads the store again)
        self.store.delete_sessions(key_id=key_id)
        self.audit.record(by, "key.revoked", f"keys/{key_id}")
        return record.public()

    def list_keys(self) -> list[dict[str, Any]]:
        return [r.public() for r in self.store.list_api_keys()]

    def key_live(self, key_id: str) -> bool:
        """Whether the key is known, not revoked and not expired, as the store said at most RECHECK_S ago."""
        state = self._key_state(key_id)
        if state.valid():
            return True
        self._forget_key(key_id)
        return False

    def _key_state(self, key_id: str, record: ApiKey | None = None, fresh: bool = False) -> _KeyState:
        with self._lock:
            state = self._keys.get(key_id)
        if state is not None and not fresh and time.monotonic() - state.checked < RECHECK_S:
            return state
        record = record if record is not None else self.store.get_api_key(key_id)
        expires = datetime.fromisoformat(record.expires) if record and record.expires else None
        with self._lock:
            live = record is not None and not record.revoked and key_id not in self._revoked
            state = _KeyState(time.monotonic(), live, expires)
            if record is not None or key_id in self._keys:  # made-up ids are not remembered
                self._keys[key_id] = state
        return state

    def _forget_key(self, key_id: str) -> None:
        """A key that ended takes its remembered checks and its dashboard sessions with it."""
        with self._lock:
            self._verified = {k: v for k, v in self._verified.items() if v[1].key_id != key_id}
            self._sessions = {k: v for k, v in self._sessions.items() if v[2].key_id != key_id}

    def still_valid(self, principal: Principal) -> bool:
        """Whether the credential behind a remembered principal (a key, a token) has not ended since."""
        if principal.expires is not None and principal.expires <= _now():
            return False
        return principal.key_id is None or self.key_live(principal.key_id)

    def authenticate_key(self, key: str, client: str | None = None) -> Principal:
        """The principal of ``fk_<id>_<secret>``; ``client`` (the caller's address) is throttled on failures."""
        fingerprint = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            remembered = self._verified.get(fingerprint)
        recent = remembered is not None and time.monotonic() - remembered[0] < REMEMBER_S
        if remembered is not None and recent and self.still_valid(remembered[1]):
            return remembered[1]
        key_id, _, secret = key.removeprefix(KEY_PREFIX).partition("_")
        if not key.startswith(KEY_PREFIX) or not key_id or not secret:
            raise Unauthorized(REFUSAL)
        by_client = f"client {client or 'unknown'}"
        self.client_failures.check(by_client)
        self.key_failures.check(f"key {key_id}")
        record = self.store.get_api_key(key_id)
        if record is None or not self._key_state(key_id, record, fresh=True).valid():  # no scrypt for these
            self.client_failures.spend(by_client)
            raise Unauthorized(REFUSAL)
        if not self._secret_matches(secret, record):
            self.client_failures.spend(by_client)
            self.key_failures.spend(f"key {key_id}")
            raise Unauthorized(REFUSAL)
        expires = datetime.fromisoformat(record.expires) if record.expires else None
        principal = Principal(f"key:{key_id}", (f"key:{key_id}", record.subject, *record.groups),
                              frozenset(record.scopes), key_id=key_id, expires=expires)  # fmt: skip
        with self._lock:
            if key_id not in self._revoked:  # a revoke that raced this check must win
                if len(self._verified) > 10_000:  # keys, not callers, fill it; a crude bound all the same
                    self._verified.clear()
                self._verified[fingerprint] = (time.monotonic(), principal)
        return principal

    def _secret_matches(self, secret: str, record: ApiKey) -> bool:
        """scrypt, at most SCRYPT_SLOTS at a time: a crowd of callers waits briefly, then is asked to come back."""
        if not self._scrypt_slots.acquire(timeout=SCRYPT_WAIT_S):
            raise TooManyRequests("too many API keys are being checked at once; try again shortly")
        try:
            return hmac.compare_digest(_scrypt(secret, bytes.fromhex(record.salt)), record.hash)
        finally:
            self._scrypt_slots.release()

    # -- dashboard sessions ----------------------------------------------------------------------
    def start_session(self, principal: Principal) -> str:
        """A session id for a browser (an HttpOnly cookie): it acts as the principal that signed in, for a working
        day at most and never beyond the credential it signed in with. Stored (as the hash of the id), so that every
        process of a deployment knows it."""
        session = secrets.token_urlsafe(32)
        now_us = time.time_ns() // 1000
        expires = principal.expires.isoformat() if principal.expires is not None else None
        record = SessionRecord(_session_id(session), principal.name, list(principal.subjects), sorted(principal.scopes),
                               now_us + SESSION_S * 1_000_000, principal.admin, principal.key_id, expires)  # fmt: skip
        self.store.delete_sessions(ended_us=now_us)  # the ended ones go as new ones come
        self.store.put_session(record)
        self.audit.record(principal.name, "auth.login", "sessions", {"subjects": list(principal.subjects)})
        return session

    def session(self, session: str) -> Principal | None:
        """The principal of a session, as the store said at most RECHECK_S ago (a sign-out on another process holds
        here within that), and only while its credential is still valid."""
        session_id = _session_id(session)
        with self._lock:
            found = self._sessions.get(session_id)
        if found is None or time.monotonic() - found[0] >= RECHECK_S:
            record = self.store.get_session(session_id)
            found = None if record is None else (time.monotonic(), record.expires_us, _principal_of(record))
            with self._lock:
                if found is None:
                    self._sessions.pop(session_id, None)
                else:
                    if len(self._sessions) > 10_000:  # sessions, not callers, fill it; a crude bound all the same
                        self._sessions.clear()
                    self._sessions[session_id] = found
        if found is None or found[1] <= time.time_ns() // 1000:
            return None
        if not self.still_valid(found[2]):
            with self._lock:
                self._sessions.pop(session_id, None)
            return None
        return found[2]

    def end_session(self, session: str) -> None:
        session_id = _session_id(session)
        record = self.store.get_session(session_id)
        with self._lock:
            self._sessions.pop(session_id, None)
        if record is not None and self.store.delete_sessions(session_id=session_id):
            self.audit.record(record.name, "auth.logout", "sessions")

    # -- policies --------------------------------------------------------------------------------
    def policies(self) -> PolicySet:
        """The entries in force. They are read again once the last read is RECHECK_S old, so that a change made by
        another process (another server, ``futago policy`` on the same store) holds here within a second; the set
        is rebuilt only when the entries differ, so what is cached per set stays valid."""
        with self._lock:
            now = time.monotonic()
            if self._policies is None or now - self._policies_read >= RECHECK_S:
                rows = self.store.list_policy_entries()
                if self._policies is None or rows != self._policy_rows:
                    self._policies, self._policy_rows = PolicySet(rows), rows
                self._policies_read = now
            return self._policies

    def grant(self, entry: PolicyEntry, by: str = "system") -> PolicyEntry:
        entry_id = self.store.add_policy_entry(entry)
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
        return self.store.list_policy_entries()

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


def _session_id(session: str) -> str:
    """What the store keeps of a session cookie: its hash, so that reading the store does not sign anyone in."""
    return hashlib.sha256(session.encode()).hexdigest()


def _principal_of(record: SessionRecord) -> Principal:
    expires = datetime.fromisoformat(record.credential_expires) if record.credential_expires else None
    subjects, scopes = tuple(record.subjects), frozenset(record.scopes)
    return Principal(record.name, subjects, scopes, record.admin, record.key_id, expires)
