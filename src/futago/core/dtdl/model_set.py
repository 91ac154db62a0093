"""A validated, closed set of Interfaces: the unit that twins are checked against.

A ModelSet is immutable. ``extend`` and ``without`` return new sets, so a reader never
sees a half-updated model graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import Any

from futago.core.errors import Conflict, InvalidInput, NotFound
from futago.core.problems import Problem

from .model import Interface
from .parser import Parser
from .raw import RawInterface, Where
from .resolver import Resolver


def _parse(documents: Iterable[object], existing: ModelSet | None) -> tuple[Parser, Resolver]:
    known_ids = existing._element_ids if existing is not None else {}
    parser = Parser(known_ids)
    for doc in documents:
        parser.document(doc)
    raw: dict[str, RawInterface] = dict(existing._raw) if existing else {}
    raw.update(parser.interfaces)
    resolver = Resolver(raw, existing.interfaces if existing else {}, {**known_ids, **parser.ids})
    for dtmi in parser.interfaces:
        resolver.interface(dtmi)
    return parser, resolver


def validate(documents: list[dict[str, Any]], existing: ModelSet | None = None) -> list[Problem]:
    """Every problem in ``documents``; references may point into ``existing``. [] means valid."""
    parser, resolver = _parse(documents, existing)
    return _unique(parser.problems + resolver.problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


class ModelSet:
    def __init__(
        self,
        interfaces: Mapping[str, Interface] | None = None,
        documents: Mapping[str, dict[str, Any]] | None = None,
        *,
        _raw: Mapping[str, RawInterface] | None = None,
        _element_ids: Mapping[str, Where] | None = None,
    ) -> None:
        self.interfaces: dict[str, Interface] = dict(interfaces or {})
        self.documents: dict[str, dict[str, Any]] = dict(documents or {})
        self._raw: dict[str, RawInterface] = dict(_raw or {})
        self._element_ids: dict[str, Where] = dict(_element_ids or {})
        self._descendants: dict[str, frozenset[str]] = {}

    @classmethod
    def build(cls, documents: Iterable[object], existing: ModelSet | None = None) -> ModelSet:
        """Validate and resolve; raises InvalidInput listing every problem."""
        docs = list(documents)
        parser, resolver = _parse(docs, existing)
        problems = _unique(parser.problems + resolver.problems)
        if problems:
            raise InvalidInput(problems)
        base_docs = existing.documents if existing else {}
        base_ids = existing._element_ids if existing else {}
        return cls(
            resolver.done,
            {**base_docs, **parser.top_level},
            _raw=resolver.raw,
            _element_ids={**base_ids, **parser.ids},
        )

    def __contains__(self, dtmi: object) -> bool:
        return dtmi in self.interfaces

    def __getitem__(self, dtmi: str) -> Interface:
        return self.interfaces[dtmi]

    def __len__(self) -> int:
        return len(self.interfaces)

    def __iter__(self) -> Iterator[str]:
        return iter(self.interfaces)

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        for iface in self.interfaces.values():
            for parent in iface.extends:
                children.setdefault(parent, []).append(iface.id)
        return children

    def descendants(self, dtmi: str) -> frozenset[str]:
        """``dtmi`` and every Interface that extends it, transitively; cached for IS_OF_MODEL."""
        cached = self._descendants.get(dtmi)
        if cached is not None:
            return cached
        seen = {dtmi}
        stack = [dtmi]
        while stack:
            for child in self._children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        result = frozenset(seen)
        self._descendants[dtmi] = result
        return result

    def is_of_model(self, model: str, ancestor: str) -> bool:
        return model in self.descendants(ancestor)

    def extend(self, documents: list[dict[str, Any]]) -> ModelSet:
        return ModelSet.build(documents, self)

    def without(self, dtmi: str) -> ModelSet:
        """The set minus one top-level model; refuses while another model still depends on it."""
        if dtmi not in self.documents:
            raise NotFound(f"model {dtmi!r} is not in this model set")
        removed = {d for d, raw in self._raw.items() if raw.where.doc_id == dtmi}
        dependents = sorted(
            raw.id
            for raw in self._raw.values()
            if raw.id not in removed
            and (
                any(r.dtmi in removed for r in raw.extends)
                or any(c.component is not None and c.component.dtmi in removed for c in raw.contents)
            )
        )
        if dependents:
            problems = [
                Problem("", f"model {dtmi!r} is still used by {d!r} (extends or Component).", d) for d in dependents
            ]
            raise Conflict(f"model {dtmi!r} is still used by {', '.join(dependents)}", problems)
        keep_ids = {k: w for k, w in self._element_ids.items() if w.doc_id != dtmi}
        return ModelSet(
            {k: i for k, i in self.interfaces.items() if k not in removed},
            {k: d for k, d in self.documents.items() if k != dtmi},
            _raw={k: r for k, r in self._raw.items() if k not in removed},
            _element_ids=keep_ids,
        )
