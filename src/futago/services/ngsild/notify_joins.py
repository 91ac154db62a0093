"""Linked entities in notifications: the NotificationParams ``join`` and ``joinLevel`` (GS CIM 009 5.2.14, 4.5.23).

``join: inline`` puts the entity a Relationship points at into the Relationship (normalized and concise: an
``entity`` member next to ``object``; keyValues: the linked entity in place of its id); ``join: flat`` sends the
linked entities in ``data`` after the notified ones, each once. ``joinLevel`` (default 1) is how many hops are
followed. A linked entity is rendered in the notification's format, context and ``sysAttrs``, whole:
``attributes``, ``pick`` and ``omit`` project the notified entities only. It is read as the subscription's owner
may read it when the notification is made; one it may not read, or that does not exist, is left unjoined.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from futago.core.twins import Twin
from futago.services.ngsild.attributes import Rendering
from futago.services.ngsild.errors import BadRequestData
from futago.services.ngsild.mapping import EntityState
from futago.services.ngsild.service import NgsiLdService

MAX_JOIN_LEVEL = 16
# Linked entities rendered into one notification: an inline join renders an entity again on every path that
# reaches it, so a cyclic or branching graph at joinLevel 16 would otherwise grow without bound.
MAX_JOINED = 1_000

Load = Callable[[str], EntityState | None]  # a linked entity's id -> the entity as the owner may read it, or None
Show = Callable[[EntityState], dict[str, Any]]  # an entity -> rendered in the notification's format
Notified = list[tuple[EntityState | None, dict[str, Any]]]  # (state to follow, None for a deletion; rendered)


def joined(
    record: dict[str, Any],
    notified: Notified,
    tenant: str,
    ngsild: NgsiLdService,
    sees: Callable[[dict[str, Any], str, Twin], EntityState | None],
    rendering: Rendering,
) -> list[dict[str, Any]]:
    """A notification's ``data``: the rendered entities, joined with their linked entities when the subscription
    asks for it; ``sees(record, tenant, twin)`` is a twin as the subscription's owner may read it, or None."""
    params = record["notification"]
    if params.get("join") not in ("inline", "flat"):
        return [shown for _, shown in notified]

    def load(entity_id: str) -> EntityState | None:
        twin = ngsild.twins.store.get_twin(ngsild.tenant_twin_id(tenant or None, entity_id))
        return None if twin is None else sees(record, tenant, twin)

    linker = NotificationLinker(params, load, lambda state: ngsild.render(state, rendering), rendering.terms.compact)
    return linker.join(notified)


def join_params(value: dict[str, Any], out: dict[str, Any]) -> None:
    """Checks ``join``/``joinLevel`` of a notification's parameters into ``out`` (``@none``: no join)."""
    if "join" in value:
        if value["join"] not in ("inline", "flat", "@none"):
            raise BadRequestData("notification.join is one of inline, flat, @none")
        out["join"] = value["join"]
    if "joinLevel" in value:
        level = value["joinLevel"]
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= MAX_JOIN_LEVEL:
            raise BadRequestData(f"notification.joinLevel is a whole number from 1 to {MAX_JOIN_LEVEL}")
        out["joinLevel"] = level


class NotificationLinker:
    """Joins the entities of one notification, already rendered, with the entities their Relationships name."""

    def __init__(self, params: dict[str, Any], load: Load, show: Show, compact: Callable[[str], str]):
        self.mode, self.level = params.get("join"), int(params.get("joinLevel") or 1)
        self.load, self.show, self.compact = load, show, compact
        self.key_values = params.get("format") == "keyValues"
        self._loaded: dict[str, EntityState | None] = {}
        self._rendered = 0

    def _get(self, entity_id: str) -> EntityState | None:
        if entity_id not in self._loaded:
            self._loaded[entity_id] = self.load(entity_id)
        found = self._loaded[entity_id]
        if found is None or self._rendered >= MAX_JOINED:
            return None
        self._rendered += 1
        return found

    def _links(self, state: EntityState, shown: dict[str, Any]) -> list[tuple[str, list[str]]]:
        """(notified name, linked ids) of each Relationship the rendered entity still shows."""
        links = []
        for iri, instances in state.attrs.items():
            name = self.compact(iri)
            ids = [
                i["object"] for i in instances if i.get("type") == "Relationship" and isinstance(i.get("object"), str)
            ]
            if name in shown and ids:
                links.append((name, ids))
        return links

    def join(self, notified: Notified) -> list[dict[str, Any]]:
        """The notification's ``data``: ``notified`` pairs (state, rendered; no state: nothing to follow, as for a
        deleted entity) joined as the parameters say."""
        if self.mode == "flat":
            return self._flat(notified)
        return [shown if state is None else self._inline(state, shown, self.level) for state, shown in notified]

    def _inline(self, state: EntityState, shown: dict[str, Any], level: int) -> dict[str, Any]:
        if level <= 0:
            return shown
        for name, ids in self._links(state, shown):
            children = {}
            for linked_id in ids:
                target = self._get(linked_id)
                if target is not None:
                    children[linked_id] = self._inline(target, self.show(target), level - 1)
            if children:
                shown[name] = self._attach(shown[name], children)
        return shown

    def _attach(self, value: Any, children: dict[str, Any]) -> Any:
        if isinstance(value, list):
            return [self._attach(v, children) for v in value]
        if self.key_values and isinstance(value, str):
            return children.get(value, value)
        if isinstance(value, dict) and value.get("object") in children:
            return {**value, "entity": children[value["object"]]}
        return value

    def _flat(self, notified: Notified) -> list[dict[str, Any]]:
        answered = {s.id for s, _ in notified if s is not None}
        out = [shown for _, shown in notified]
        frontier = [(s, e) for s, e in notified if s is not None]
        for _ in range(self.level):
            following = []
            for state, entity in frontier:
                for _name, ids in self._links(state, entity):
                    for linked_id in ids:
                        target = None if linked_id in answered else self._get(linked_id)
                        if target is None:
                            continue
                        answered.add(linked_id)
                        child = self.show(target)
                        out.append(child)
                        following.append((target, child))
            frontier = following
        return out
