"""Policies in the manner of Eclipse Ditto's: subjects × resources × permissions, granted or revoked; default deny.

A resource is a path (``twins/pump-1``, ``twins/pump-1/properties/serial``, ``models/dtmi:acme:Pump;1``,
``commands/...``, ``policies``); an entry names a glob pattern over such paths. An entry on a path covers every path
below it, and the most specific entry that speaks about a permission decides: a grant of READ on ``twins/*`` and a
revoke of READ on ``twins/*/properties/owner`` let a caller read every twin but not its owner. When two entries are
as specific, the revoke wins. ADMIN on a resource means every permission on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
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


def _paths(resource: str) -> list[str]:
    """The resource and every path above it: twins/p1/properties/x, twins/p1/properties, twins/p1, twins."""
    parts = resource.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]


class PolicySet:
    """The entries in force, indexed by subject; answers allowed(subjects, permission, resource)."""

    def __init__(self, entries: Iterable[PolicyEntry]) -> None:
        self.by_subject: dict[str, list[PolicyEntry]] = {}
        for entry in entries:
            self.by_subject.setdefault(entry.subject, []).append(entry)

    def allowed(self, subjects: Iterable[str], permission: str, resource: str) -> bool:
        paths = _paths(resource)
        best: tuple[tuple[int, int], int] | None = None  # (specificity, 1 for revoke): the highest decides
        for subject in subjects:
            for entry in self.by_subject.get(subject, ()):
                if entry.applies_to(permission) and any(fnmatchcase(path, entry.resource) for path in paths):
                    rank = (entry.specificity(), 1 if entry.effect == "revoke" else 0)
                    best = rank if best is None or rank > best else best
        return best is not None and best[1] == 0

    def restricted_below(self, subjects: Iterable[str], permission: str, resource: str) -> bool:
        """Whether some revoke of ``permission`` may apply below ``resource`` (then each sub-path must be asked)."""
        prefix = resource.rstrip("/") + "/"
        for subject in subjects:
            for entry in self.by_subject.get(subject, ()):
                if entry.effect == "revoke" and entry.applies_to(permission):
                    head = re.split(r"[*?\[]", entry.resource, maxsplit=1)[0]  # the literal start
                    if head.startswith(prefix) or prefix.startswith(head) or fnmatchcase(prefix, entry.resource):
                        return True
        return False
