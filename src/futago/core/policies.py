"""An access policy entry: a subject granted or refused permissions on a glob of resource paths.

It lives in core because the security store's port (``core.ports.SecurityStore``) takes and gives it; how the
entries in force decide a request is security's (``futago.security.policy``, which re-exports these names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from futago.core.records import JsonRecord, json_meta
from futago.core.validation import Checker

PERMISSIONS = ("READ", "WRITE", "COMMAND", "ADMIN")
Effect = Literal["grant", "revoke"]
EFFECTS: tuple[Effect, ...] = ("grant", "revoke")
SUBJECT = re.compile(r"^(user|group|key|device):[^\s]{1,200}$")


@dataclass(frozen=True, slots=True)
class PolicyEntry(JsonRecord):
    json_order = ("id", "subject", "resource", "permissions", "effect")  # the id, once stored, first

    subject: str  # user:alice, group:operators, key:<id>, device:<twin id>
    resource: str  # a glob over resource paths
    permissions: frozenset[str]  # in JSON, a sorted list
    effect: Effect = "grant"
    id: int | None = field(default=None, metadata=json_meta(omit="none"))

    def applies_to(self, permission: str) -> bool:
        return permission in self.permissions or "ADMIN" in self.permissions

    def specificity(self) -> tuple[int, int]:
        """Deeper paths first, then more literal characters: ``twins/p1`` is more specific than ``twins/*``."""
        return (self.resource.count("/"), len(self.resource.replace("*", "").replace("?", "")))

    @classmethod
    def parse(cls, data: Any, pointer: str = "") -> PolicyEntry:
        """A policy entry from JSON, with a problem per wrong field."""
        check = Checker(pointer)
        if not isinstance(data, dict):
            check.add(pointer, "a policy entry is an object: subject, resource, permissions")
            check.raise_if_any()
        subject, resource = data.get("subject"), data.get("resource")
        permissions = data.get("permissions")
        if not isinstance(subject, str) or not SUBJECT.match(subject):
            check.add(f"{pointer}/subject", "give user:<name>, group:<name>, key:<id> or device:<id>")
        if not isinstance(resource, str) or not resource or len(resource) > 500:
            check.add(f"{pointer}/resource", "give a resource path or glob, e.g. twins/pump-* or *")
        if not isinstance(permissions, list) or not permissions or not all(p in PERMISSIONS for p in permissions):
            check.add(f"{pointer}/permissions", f"give a non-empty list of {', '.join(PERMISSIONS)}")
        effect = check.choice(data, "effect", EFFECTS, default="grant", message="give grant or revoke")
        check.raise_if_any()
        entry_id = data.get("id")
        return cls(str(subject), str(resource), frozenset(permissions or ()), effect,
                   entry_id if isinstance(entry_id, int) else None)  # fmt: skip
