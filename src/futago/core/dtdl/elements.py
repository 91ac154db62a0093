"""The rules every DTDL element follows, whatever its class: @context, @type and its co-types, the allowed and
required members, @id, names and the common descriptive members.

``ElementReader`` holds the state that one parse shares (the problems found, the ids seen, the Interface being
read and how deep the inline Interfaces and complex schemas around the current element go); ``SchemaReader`` and
``Parser`` build on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from futago.core.problems import Problem, escape_pointer_token

from . import vocabulary as v
from .dtmi import DTMI_PATTERN, deversioned, has_version, id_problem, is_dtmi
from .literals import LiteralError, literal, localizable
from .raw import RawInterface, Where
from .units import (
    SEMANTIC_HOSTS,
    SEMANTIC_TYPES,
    V2_RESERVED_SEMANTICS,
    V2_SEMANTIC_BY_DTMI,
    V2_SEMANTIC_HOSTS,
    V2_SEMANTIC_TYPES,
)

_NAME = re.compile(v.NAME_PATTERN)
_COMMON = frozenset({"comment", "description", "displayName"})
_ALLOWED: dict[str, frozenset[str]] = {
    "Interface": _COMMON | {"contents", "extends", "schemas"},
    "Telemetry": _COMMON | {"name", "schema"},
    "Property": _COMMON | {"name", "schema", "writable"},
    "Command": _COMMON | {"commandType", "name", "request", "response"},
    "CommandRequest": _COMMON | {"name", "schema"},
    "CommandResponse": _COMMON | {"name", "schema"},
    "CommandPayload": _COMMON | {"name", "schema"},
    "Relationship": _COMMON | {"name", "maxMultiplicity", "minMultiplicity", "properties", "target", "writable"},
    "Component": _COMMON | {"name", "schema"},
    "Array": _COMMON | {"elementSchema"},
    "Enum": _COMMON | {"enumValues", "valueSchema"},
    "EnumValue": _COMMON | {"enumValue", "name"},
    "Map": _COMMON | {"mapKey", "mapValue"},
    "MapKey": _COMMON | {"name", "schema"},
    "MapValue": _COMMON | {"name", "schema"},
    "Object": _COMMON | {"fields"},
    "Field": _COMMON | {"name", "schema"},
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "Telemetry": ("name", "schema"),
    "Property": ("name", "schema"),
    "Command": ("name",),
    "CommandRequest": ("name", "schema"),
    "CommandResponse": ("name", "schema"),
    "CommandPayload": ("name", "schema"),
    "Relationship": ("name",),
    "Component": ("name", "schema"),
    "Array": ("elementSchema",),
    "Enum": ("valueSchema",),
    "EnumValue": ("enumValue", "name"),
    "Map": ("mapKey", "mapValue"),
    "MapKey": ("name", "schema"),
    "MapValue": ("name", "schema"),
    "Field": ("name", "schema"),
}
# Optional members whose value may be "an array containing no more than one" value: an empty
# array means the member is absent (DTDL v3 specification, e.g. Property "writable").
_AT_MOST_ONE = frozenset(
    {
        "commandType",
        "comment",
        "maxMultiplicity",
        "minMultiplicity",
        "request",
        "response",
        "target",
        "writable",
    }
)
_OPTIONAL_TYPE = frozenset(
    {"CommandRequest", "CommandResponse", "CommandPayload", "EnumValue", "MapKey", "MapValue", "Field"}
)
# Words a DTDL v2 element may not use as an undefined co-type (the v2 "Reserved strings").
_V2_RESERVED = v.RESERVED | v.V2_CLASSES | V2_RESERVED_SEMANTICS | {"unit"}
Members = dict[str, tuple[object, str]]


def child_pointer(base: str, token: str | int) -> str:
    return f"{base}/{escape_pointer_token(token)}"


def class_term(value: str, context: frozenset[str]) -> str:
    """The short class term for ``value``, folding the DTMI spelling of the active DTDL version."""
    table = v.V2_CLASS_BY_DTMI if v.is_v2(context) else v.CLASS_BY_DTMI
    return table.get(value, value)


@dataclass(slots=True)
class Element:
    members: Members
    semantic_types: tuple[str, ...]
    extensions: frozenset[str]
    id: str | None
    where: Where
    informal: bool = False

    @property
    def v2(self) -> bool:
        return v.is_v2(self.extensions)


class ElementReader:
    """Reads single elements against the generic rules, accumulating problems with a JSON Pointer each."""

    def __init__(self, known_ids: Iterable[str] = ()) -> None:
        self.problems: list[Problem] = []
        self.interfaces: dict[str, RawInterface] = {}
        self.top_level: dict[str, dict[str, object]] = {}
        self.ids: dict[str, Where] = {}
        self._known = frozenset(known_ids)
        self._owner: RawInterface | None = None
        self._inline_depth = 0  # inline Interfaces around the element being parsed
        self._schema_depth = 0  # complex schemas around the element being parsed
        self._schema_root = ""  # the outermost of them

    # -- reporting -------------------------------------------------------------------------
    def _add(self, where: Where, pointer: str, message: str) -> None:
        self.problems.append(Problem(pointer=pointer, message=message, id=where.doc_id))

    def _context(
        self,
        value: object,
        where: Where,
        pointer: str,
        *,
        top_level: bool,
        inherited: frozenset[str] = frozenset(),
    ) -> frozenset[str] | None:
        values = value if isinstance(value, list) else [value]
        active: dict[str, str] = {deversioned(e): e for e in inherited}
        seen_other = False
        for i, item in enumerate(values):
            sub = child_pointer(pointer, i) if isinstance(value, list) else pointer
            if not isinstance(item, str) or not is_dtmi(item) or not has_version(item):
                self._add(where, sub, "each @context value must be a versioned DTMI such as 'dtmi:dtdl:context;3'.")
                return None
            if item.startswith(v.DTDL_CONTEXT_PREFIX):
                if seen_other:
                    self._add(where, sub, f"{item!r} must come before any extension context in @context.")
                    return None
            else:
                seen_other = True
            active[deversioned(item)] = item
        dtdl = active.get("dtmi:dtdl:context")
        if top_level and v.DTDL_V3_CONTEXT not in values and v.DTDL_V2_CONTEXT not in values:
            self._add(
                where,
                pointer,
                '@context must include "dtmi:dtdl:context;3" (DTDL v3) or "dtmi:dtdl:context;2" (DTDL v2) first.',
            )
            return None
        if dtdl is not None and dtdl not in (v.DTDL_V3_CONTEXT, v.DTDL_V2_CONTEXT):
            self._add(
                where,
                pointer,
                f'{dtdl!r} is not supported; only DTDL v3 ("dtmi:dtdl:context;3") and DTDL v2 '
                '("dtmi:dtdl:context;2") are.',
            )
            return None
        if dtdl == v.DTDL_V2_CONTEXT:
            # DTDL v2 has no quantitativeTypes extension (its semantic types are built in), and
            # extensions inherited from an enclosing v3 context do not carry over to v2.
            listed = {e for e in values if isinstance(e, str) and not e.startswith(v.DTDL_CONTEXT_PREFIX)}
            for ext in sorted(listed):
                self._add(
                    where,
                    pointer,
                    f"extension context {ext!r} is not supported with DTDL v2; DTDL v2 semantic types "
                    "need no extension.",
                )
                return None
            return frozenset({dtdl})
        extensions = {e for e in active.values() if not e.startswith(v.DTDL_CONTEXT_PREFIX)}
        for ext in sorted(extensions - v.SUPPORTED_EXTENSIONS):
            self._add(
                where,
                pointer,
                f"extension context {ext!r} is not supported; the supported extensions are "
                f"{v.QUANTITATIVE_TYPES_CONTEXT!r} and {v.PRIVACY_CONTEXT!r}.",
            )
            return None
        return frozenset(extensions | ({dtdl} if dtdl is not None else set()))

    # -- generic element -------------------------------------------------------------------
    def _element(
        self, node: object, where: Where, cls: str, extensions: frozenset[str], *, interface: bool = False
    ) -> Element | None:
        if not isinstance(node, dict):
            self._add(where, where.pointer, f"a {cls} must be a JSON object.")
            return None
        ok = True
        if "@context" in node and where.pointer:
            nested = self._context(
                node["@context"],
                where,
                child_pointer(where.pointer, "@context"),
                top_level=False,
                inherited=extensions,
            )
            if nested is None:
                return None
            extensions = nested
        typed = self._types(node, where, cls, extensions)
        if typed is None:
            return None
        semantic, informal = typed
        v2 = v.is_v2(extensions)
        element_id: str | None = None
        if "@id" in node:
            element_id = self._register_id(node["@id"], where, interface=interface)
            ok = ok and element_id is not None
        elif interface:
            self._add(where, where.pointer, 'an Interface needs an "@id" (a DTMI).')
            ok = False
        allowed = _ALLOWED[cls] | ({"unit"} if semantic else set())
        members: Members = {}
        member_by_dtmi = v.V2_MEMBER_BY_DTMI if v2 else v.MEMBER_BY_DTMI
        for key, value in node.items():
            sub = child_pointer(where.pointer, key)
            if key.startswith("@"):
                # DTDL v2 forbids only @graph; other keywords are merely discouraged there.
                if key not in ("@id", "@type", "@context") and (key == "@graph" or not v2):
                    self._add(where, sub, f"keyword {key!r} is not allowed; only @context, @id and @type are.")
                    ok = False
                continue
            term = member_by_dtmi.get(key, key)
            if term in members:
                self._add(where, sub, f"member {term!r} is given twice (as a term and as its DTMI).")
                ok = False
            elif term not in allowed and informal:
                # DTDL v2: an element with an undefined co-type may carry undefined members.
                continue
            elif term not in allowed:
                self._add(where, sub, self._unknown_member(cls, key, allowed, extensions))
                ok = False
            elif term in _AT_MOST_ONE and isinstance(value, list) and not value:
                continue
            else:
                members[term] = (value, sub)
        for required in _REQUIRED.get(cls, ()):
            if required not in members:
                self._add(where, where.pointer, f"a {cls} needs a {required!r} member.")
                ok = False
        if not ok:
            return None
        for member, limit in (
            ("displayName", v.V2_MAX_DISPLAY_NAME_LENGTH if v2 else v.MAX_DISPLAY_NAME_LENGTH),
            ("description", v.V2_MAX_DESCRIPTION_LENGTH if v2 else v.MAX_DESCRIPTION_LENGTH),
        ):
            if member in members:
                try:
                    localizable(members[member][0], members[member][1], limit)
                except LiteralError as err:
                    self._add(where, err.pointer, f"{member} {err.message}")
                    ok = False
        if "comment" in members:
            ok = self._comment(members["comment"], where) and ok
        return Element(members, semantic, extensions, element_id, where, informal) if ok else None

    def _comment(self, member: tuple[object, str], where: Where) -> bool:
        value, pointer = member
        try:
            text, at = literal(value, pointer, str)
        except LiteralError as err:
            self._add(where, err.pointer, f"comment {err.message}")
            return False
        assert isinstance(text, str)
        if len(text) > v.MAX_COMMENT_LENGTH:
            self._add(where, at, f"comment may have at most {v.MAX_COMMENT_LENGTH} characters; it has {len(text)}.")
            return False
        return True

    @staticmethod
    def _unknown_member(cls: str, key: str, allowed: frozenset[str] | set[str], extensions: frozenset[str]) -> str:
        listed = ", ".join(sorted(allowed))
        if key == "unit" and v.is_v2(extensions):
            return (
                f"'unit' is allowed only on a Property or Telemetry co-typed with a semantic type; "
                f"allowed members of {cls}: {listed}."
            )
        if key == "unit":
            return (
                f"'unit' is allowed only on an element co-typed with a semantic type (and the context "
                f"{v.QUANTITATIVE_TYPES_CONTEXT!r}); allowed members of {cls}: {listed}."
            )
        if ":" in key and not key.startswith("dtmi:"):
            return f"member {key!r} is not allowed: a member name with ':' must be a DTMI; allowed: {listed}."
        return f"member {key!r} is not allowed in a {cls}; allowed members: {listed}."

    def _types(
        self, node: dict[str, object], where: Where, cls: str, extensions: frozenset[str]
    ) -> tuple[tuple[str, ...], bool] | None:
        """The semantic co-types of an element and whether it is informally co-typed (v2)."""
        pointer = child_pointer(where.pointer, "@type")
        if "@type" not in node:
            if cls in _OPTIONAL_TYPE:
                return (), False
            self._add(where, where.pointer, f'a {cls} needs "@type": "{cls}".')
            return None
        raw = node["@type"]
        items = raw if isinstance(raw, list) else [raw]
        if not items or not all(isinstance(t, str) for t in items):
            self._add(where, pointer, f"@type must be a string or an array of strings including {cls!r}.")
            return None
        v2 = v.is_v2(extensions)
        terms: list[str] = [class_term(str(t), extensions) for t in items]
        if v2:
            terms = [V2_SEMANTIC_BY_DTMI.get(t, t) for t in terms]
        if cls not in terms:
            self._add(where, pointer, f"@type must include {cls!r} here; got {raw!r}.")
            return None
        semantic: list[str] = []
        informal = False
        for i, term in enumerate(terms):
            sub = child_pointer(pointer, i) if isinstance(raw, list) else pointer
            if term == cls:
                continue
            if v2:
                if term in V2_SEMANTIC_TYPES and cls in V2_SEMANTIC_HOSTS:
                    semantic.append(term)
                    continue
                if ":" in term and not term.startswith("dtmi:"):
                    informal = True
                    continue
                if ":" not in term and term not in _V2_RESERVED:
                    # DTDL v2 permits undefined co-types ("open world"); they make the element
                    # informally co-typed, which also permits undefined members.
                    informal = True
                    continue
                if term in V2_SEMANTIC_TYPES:
                    self._add(
                        where,
                        sub,
                        f"semantic type {term!r} cannot co-type a {cls}; in DTDL v2 only "
                        f"{', '.join(sorted(V2_SEMANTIC_HOSTS))} can.",
                    )
                    return None
            if term == v.PERSONAL and not v2:
                if v.PRIVACY_CONTEXT not in extensions or cls not in v.PERSONAL_HOSTS:
                    self._add(where, sub, f"{v.PERSONAL!r} co-types a Property or Telemetry, with the context "
                                          f"{v.PRIVACY_CONTEXT!r} in @context.")  # fmt: skip
                    return None
                semantic.append(term)
                continue
            if term in SEMANTIC_TYPES and cls in SEMANTIC_HOSTS and not v2:
                if v.QUANTITATIVE_TYPES_CONTEXT not in extensions:
                    self._add(
                        where,
                        sub,
                        f"semantic type {term!r} needs the context {v.QUANTITATIVE_TYPES_CONTEXT!r} in @context.",
                    )
                    return None
                semantic.append(term)
                continue
            if term in SEMANTIC_TYPES and not v2:
                self._add(
                    where,
                    sub,
                    f"semantic type {term!r} cannot co-type a {cls}; only {', '.join(sorted(SEMANTIC_HOSTS))} can.",
                )
            elif term in v.RESERVED or (v2 and term in _V2_RESERVED):
                self._add(where, sub, f"{term!r} cannot be combined with {cls!r} in @type.")
            elif ":" in term and not term.startswith("dtmi:"):
                self._add(where, sub, f"@type value {term!r} is neither a DTDL term nor a DTMI.")
            elif term.startswith("dtmi:") and not DTMI_PATTERN.match(term):
                self._add(where, sub, f"@type value {term!r} is not a valid DTMI.")
            else:
                version = "v2" if v2 else "v3"
                self._add(
                    where,
                    sub,
                    f"@type value {term!r} is not defined by DTDL {version} or a supported extension.",
                )
            return None
        return tuple(semantic), informal

    def _register_id(self, value: object, where: Where, *, interface: bool) -> str | None:
        pointer = child_pointer(where.pointer, "@id")
        message = id_problem(value, interface=interface)
        if message is not None:
            self._add(where, pointer, message)
            return None
        assert isinstance(value, str)
        if value in self.ids or value in self._known:
            self._add(where, pointer, f"@id {value!r} is already used by another element; each @id must be unique.")
            return None
        self.ids[value] = Where(where.doc_id, pointer)
        return value

    # -- values ----------------------------------------------------------------------------
    def _literal(self, el: Element, member: str, kind: type) -> object | None:
        value, pointer = el.members[member]
        try:
            return literal(value, pointer, kind)[0]
        except LiteralError as err:
            self._add(el.where, err.pointer, f"{member} {err.message}")
            return None

    def _name(self, el: Element) -> str | None:
        name = self._literal(el, "name", str)
        if not isinstance(name, str):
            return None
        pointer = el.members["name"][1]
        limit = v.V2_MAX_NAME_LENGTH if el.v2 else v.MAX_NAME_LENGTH
        if len(name) > limit:
            self._add(el.where, pointer, f"name may have at most {limit} characters; it has {len(name)}.")
            return None
        if not _NAME.match(name):
            self._add(
                el.where,
                pointer,
                f"name {name!r} is not allowed: it must start with a letter, contain only letters, digits "
                "and underscores, and end with a letter or digit.",
            )
            return None
        return name

    @staticmethod
    def _items(value: object, pointer: str) -> list[tuple[object, str]]:
        if isinstance(value, list):
            return [(item, child_pointer(pointer, i)) for i, item in enumerate(value)]
        return [(value, pointer)]

    def _context_of(self, node: dict[str, object], ext: frozenset[str]) -> frozenset[str]:
        """The DTDL version marker an element's own @context selects, for reading its @type early."""
        own = node.get("@context")
        values = own if isinstance(own, list) else [own]
        for item in reversed(values):
            if item == v.DTDL_V2_CONTEXT:
                return frozenset({v.DTDL_V2_CONTEXT})
            if item == v.DTDL_V3_CONTEXT:
                return frozenset()
        return ext
