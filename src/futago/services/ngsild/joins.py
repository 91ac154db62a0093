"""Linked entity retrieval (GS CIM 009 4.5.23) for answers and notifications (5.2.14), and the projection
language it shares with pick/omit (4.21).

``join=inline`` puts the entity a Relationship points at into the Relationship (normalized and concise: an
``entity`` member next to ``object``; keyValues: the linked entity in place of its id); ``join=flat`` answers the
linked entities next to the ones asked for, each once. ``joinLevel`` (default 1) is how many hops are followed.
A linked entity is read as the caller may read it (for a notification: as the subscription's owner may, when the
notification is made): one it may not see, or that does not exist, is left unjoined. In a notification a linked
entity is rendered whole in the notification's format, context and ``sysAttrs``: ``attributes``, ``pick`` and
``omit`` project the notified entities only.

A projection ``a,b{c,d{e}}`` is a tree: braces after a Relationship's name project the entity it links to. With
``pick`` the name is picked and its braces pick members of the linked entity; with ``omit`` a name with braces is
kept and its braces name what the linked entity leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from futago.services.ngsild.errors import BadRequestData
from futago.services.ngsild.mapping import EntityState
from futago.services.ngsild.qlang import problem

if TYPE_CHECKING:
    from futago.core.twins import Twin
    from futago.services.ngsild.attributes import Rendering
    from futago.services.ngsild.service import NgsiLdService

Tree = dict[str, "Tree | None"]
MAX_DEPTH = 16  # braces nested deeper than any join level worth following
MAX_JOIN_LEVEL = 16
# Linked entities rendered for one answer, whatever the graph's shape: an inline join renders an entity again on
# every path that reaches it, so a cyclic or branching graph at joinLevel 16 would otherwise grow without bound.
MAX_JOINED = 10_000
# A notification cannot be refused for its size: past this many linked entities the rest are left unjoined.
MAX_NOTIFY_JOINED = 1_000
_NAME = re.compile(r"[^,{}\s;()=<>!|\"'\[\]]+")


def parse_projection(value: str | None, parameter: str) -> Tree | None:
    """The tree a ``pick``/``omit`` expression names; a malformed one is a BadRequestData naming ``parameter``."""
    if value is None:
        return None
    tree, position = _members(value, 0, parameter, 0)
    if position != len(value):
        raise problem(f"{value!r} is not a projection: unexpected {value[position]!r} at {position}", parameter)
    return tree


def _members(value: str, position: int, parameter: str, depth: int) -> tuple[Tree, int]:
    if depth > MAX_DEPTH:
        raise problem(f"{value!r} is not a projection: braces nest deeper than {MAX_DEPTH}", parameter)
    tree: Tree = {}
    while True:
        found = _NAME.match(value, position)
        if found is None:
            raise problem(f"{value!r} is not a projection: a member name is expected at {position}", parameter)
        position = found.end()
        inner: Tree | None = None
        if position < len(value) and value[position] == "{":
            inner, position = _members(value, position + 1, parameter, depth + 1)
            if position >= len(value) or value[position] != "}":
                raise problem(f"{value!r} is not a projection: a brace is left open", parameter)
            position += 1
        tree[found.group()] = inner
        if position == len(value) or value[position] == "}":
            return tree, position
        if value[position] not in ",|":  # 4.21: a comma or a pipe, the two spellings of "or"
            raise problem(f"{value!r} is not a projection: unexpected {value[position]!r} at {position}", parameter)
        position += 1


def picked_names(tree: Tree | None) -> list[str] | None:
    return None if tree is None else list(tree)


def omitted_names(tree: Tree | None) -> list[str] | None:
    """What ``omit`` leaves out of the entity itself: a name with braces only projects its linked entity."""
    return None if tree is None else [name for name, inner in tree.items() if inner is None]


def depth(tree: Tree | None) -> int:
    """How many linked-entity hops a projection reaches into (``a{b{c}}``: 2)."""
    inner = [depth(t) + 1 for t in (tree or {}).values() if t is not None]
    return max(inner, default=0)


def check_reach(pick: Tree | None, omit: Tree | None, join: Join | None) -> None:
    """5.7.1.4, 5.7.2.4: a projection that reaches more hops than ``joinLevel`` is a 400, and one that reaches
    into a linked entity at all (``attr{...}``) without ``join`` asks for a retrieval that was not asked for."""
    for tree, parameter in ((pick, "pick"), (omit, "omit")):
        if join is None and depth(tree) > 0:
            raise problem(
                f"{parameter} names members of linked entities ({{...}}): send join=inline or flat", parameter
            )
        allowed = join.level if join is not None else 0
        if depth(tree) > allowed:
            raise problem(
                f"{parameter} reaches {depth(tree)} linked entities deep, but joinLevel is {allowed}", parameter
            )


def branch(tree: Tree | None, name: str) -> Tree | None:
    return None if tree is None else tree.get(name)


@dataclass(frozen=True)
class Join:
    mode: str  # inline | flat
    level: int


def join_of(join: str | None, join_level: str | None) -> Join | None:
    """``join``/``joinLevel`` as sent; None when nothing is to be joined (absent, or ``@none``)."""
    if join is None or join == "@none":
        return None
    if join not in ("inline", "flat"):
        raise problem(f"join is one of flat, inline, @none, not {join!r}", "join")
    if join_level is None:
        return Join(join, 1)
    if not join_level.isdigit() or not 1 <= int(join_level) <= MAX_JOIN_LEVEL:
        raise problem(f"joinLevel is a whole number from 1 to {MAX_JOIN_LEVEL}, not {join_level!r}", "joinLevel")
    return Join(join, int(join_level))


def join_params(value: dict[str, Any], out: dict[str, Any]) -> None:
    """Checks ``join``/``joinLevel`` of a subscription's notification parameters into ``out`` (``@none``: no
    join)."""
    if "join" in value:
        if value["join"] not in ("inline", "flat", "@none"):
            raise BadRequestData("notification.join is one of inline, flat, @none")
        out["join"] = value["join"]
    if "joinLevel" in value:
        level = value["joinLevel"]
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= MAX_JOIN_LEVEL:
            raise BadRequestData(f"notification.joinLevel is a whole number from 1 to {MAX_JOIN_LEVEL}")
        out["joinLevel"] = level


Load = Callable[[str], EntityState | None]  # an entity id -> the entity as the caller may read it, or None
Show = Callable[[EntityState, Tree | None, Tree | None], dict[str, Any]]  # state, pick, omit -> rendered


class Linker:
    """Joins entities already rendered (``shown``) with the entities their Relationships name.

    ``limit`` bounds the linked entities rendered (MAX_JOINED when None); past it an answer is refused with a 400
    naming joinLevel, or, with ``refuse=False`` (a notification), the remaining ones are left unjoined."""

    def __init__(
        self,
        join: Join,
        load: Load,
        show: Show,
        compact: Callable[[str], str],
        key_values: bool,
        limit: int | None = None,
        refuse: bool = True,
    ):
        self.join, self.load, self.show, self.compact, self.key_values = join, load, show, compact, key_values
        self.limit, self.refuse = MAX_JOINED if limit is None else limit, refuse
        self._loaded: dict[str, EntityState | None] = {}
        self._rendered = 0

    def _get(self, entity_id: str) -> EntityState | None:
        """The linked entity to render, counted against the limit; None: left unjoined."""
        if entity_id not in self._loaded:
            self._loaded[entity_id] = self.load(entity_id)
        found = self._loaded[entity_id]
        if found is None:
            return None
        if self._rendered >= self.limit:
            if not self.refuse:
                return None
            raise problem(
                f"the join reaches more than {self.limit} linked entities: lower joinLevel or narrow the query",
                "joinLevel",
            )
        self._rendered += 1
        return found

    def _links(self, state: EntityState, shown: dict[str, Any]) -> list[tuple[str, list[str]]]:
        """(answered name, linked ids) of each Relationship the rendered entity still shows."""
        links = []
        for iri, instances in state.attrs.items():
            name = self.compact(iri)
            if name not in shown:
                continue
            ids = [
                i["object"] for i in instances if i.get("type") == "Relationship" and isinstance(i.get("object"), str)
            ]
            if ids:
                links.append((name, ids))
        return links

    def inline(self, state: EntityState, shown: dict[str, Any], pick: Tree | None, omit: Tree | None) -> dict[str, Any]:
        return self._inline(state, shown, pick, omit, self.join.level)

    def _inline(
        self, state: EntityState, shown: dict[str, Any], pick: Tree | None, omit: Tree | None, level: int
    ) -> dict[str, Any]:
        if level <= 0:
            return shown
        for name, ids in self._links(state, shown):
            children: dict[str, Any] = {}
            sub_pick, sub_omit = branch(pick, name), branch(omit, name)
            for linked_id in ids:
                target = self._get(linked_id)
                if target is not None:
                    child = self.show(target, sub_pick, sub_omit)
                    children[linked_id] = self._inline(target, child, sub_pick, sub_omit, level - 1)
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

    def flat(
        self, states: Sequence[EntityState | None], shown: list[dict[str, Any]], pick: Tree | None, omit: Tree | None
    ) -> list[dict[str, Any]]:
        """``shown`` followed by every entity linked within joinLevel hops that is not already answered (a None
        state, as for a deleted entity in a notification, has no links to follow)."""
        answered = {s.id for s in states if s is not None}
        out = list(shown)
        frontier = [(s, e, pick, omit) for s, e in zip(states, shown, strict=True) if s is not None]
        for _ in range(self.join.level):
            following = []
            for state, entity, entity_pick, entity_omit in frontier:
                for name, ids in self._links(state, entity):
                    sub_pick, sub_omit = branch(entity_pick, name), branch(entity_omit, name)
                    for linked_id in ids:
                        target = None if linked_id in answered else self._get(linked_id)
                        if target is None:
                            continue
                        answered.add(linked_id)
                        child = self.show(target, sub_pick, sub_omit)
                        out.append(child)
                        following.append((target, child, sub_pick, sub_omit))
            frontier = following
        return out


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
    asks for it (5.2.14); ``sees(record, tenant, twin)`` is a twin as the subscription's owner may read it, or
    None."""
    params = record["notification"]
    if params.get("join") not in ("inline", "flat"):
        return [shown for _, shown in notified]

    def load(entity_id: str) -> EntityState | None:
        twin = ngsild.twins.store.get_twin(ngsild.tenant_twin_id(tenant or None, entity_id))
        return None if twin is None else sees(record, tenant, twin)

    def show(state: EntityState, pick: Tree | None, omit: Tree | None) -> dict[str, Any]:
        return ngsild.render(state, rendering)  # whole: the projections are the notified entities' only

    join = Join(params["join"], int(params.get("joinLevel") or 1))
    key_values = params.get("format") == "keyValues"
    linker = Linker(join, load, show, rendering.terms.compact, key_values, MAX_NOTIFY_JOINED, refuse=False)
    if join.mode == "flat":
        return linker.flat([state for state, _ in notified], [shown for _, shown in notified], None, None)
    return [shown if state is None else linker.inline(state, shown, None, None) for state, shown in notified]
