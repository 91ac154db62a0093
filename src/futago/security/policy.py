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
from fnmatch import fnmatchcase

# The entry is core's record (the security store's port takes and gives it); these names stay importable from here.
from futago.core.policies import EFFECTS as EFFECTS
from futago.core.policies import PERMISSIONS as PERMISSIONS
from futago.core.policies import SUBJECT as SUBJECT
from futago.core.policies import Effect as Effect
from futago.core.policies import PolicyEntry as PolicyEntry


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
