"""An API key's record: whom the key stands for and what it may do, kept as the scrypt hash and salt of the secret,
never the secret itself.

It lives in core because the security store's port (``core.ports.SecurityStore``) takes and gives it; making,
checking and revoking keys is security's (``futago.security.service``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from futago.core.records import JsonRecord

#: What a reader of keys is shown of a record: everything but what would let someone test guesses offline.
SECRET_PARTS = ("hash", "salt")


@dataclass(frozen=True)
class ApiKey(JsonRecord):
    id: str
    name: str
    subject: str  # user:<name>, group:<name> or device:<id>
    groups: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)  # the permissions the key may use at most, sorted
    created: str = ""  # ISO 8601 with offset
    expires: str | None = None
    revoked: str | None = None  # when it was revoked
    salt: str = ""  # hex
    hash: str = ""  # hex scrypt of the secret

    def public(self) -> dict[str, Any]:
        """The record as a reader of keys sees it: without its hash and salt."""
        return {k: v for k, v in self.to_json().items() if k not in SECRET_PARTS}


@dataclass(frozen=True)
class SessionRecord(JsonRecord):
    """A dashboard session as the store keeps it, so that any process of a deployment knows it: found by the
    SHA-256 of the cookie (the cookie itself is never stored), acting as the principal that signed in until
    ``expires_us`` (epoch microseconds) or until ``key_id``'s key ends."""

    id: str  # hex SHA-256 of the session cookie
    name: str
    subjects: list[str]
    scopes: list[str]
    expires_us: int
    admin: bool = False
    key_id: str | None = None
    credential_expires: str | None = None  # ISO 8601: when the credential it signed in with ends
