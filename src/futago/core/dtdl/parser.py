"""Turn DTDL v3 JSON into raw elements, reporting every rule that one document can break alone.

Rules that need other documents (references, inheritance, limits across ``extends``) are
left to the resolver; everything else is decided here, with a JSON Pointer per problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from futago.core.problems import Problem, escape_pointer_token

from . import vocabulary as v
from .dtmi import DTMI_PATTERN, deversioned, has_version, id_problem, is_dtmi
from .literals import LiteralError, literal, localizable
from .raw import RawComplex, RawContent, RawField, RawInterface, RawPayload, RawRef, SchemaSpec, Where
from .units import (
    ALL_UNITS,
    SEMANTIC_HOSTS,
    SEMANTIC_TYPES,
    UNIT_TYPE_BY_SEMANTIC_TYPE,
    V2_ALL_UNITS,
    V2_RESERVED_SEMANTICS,
    V2_SEMANTIC_BY_DTMI,
    V2_SEMANTIC_HOSTS,
    V2_SEMANTIC_TYPES,
    V2_UNIT_BY_DTMI,
    V2_UNITS_BY_SEMANTIC_TYPE,
    units_for,
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
_CONTENT_KINDS = ("Telemetry", "Property", "Command", "Relationship", "Component")
_COMPLEX_KINDS = ("Array", "Enum", "Map", "Object")
Members = dict[str, tuple[object, str]]


def _ptr(base: str, token: str | int) -> str:
    return f"{base}/{escape_pointer_token(token)}"


def _class_term(value: str, context: frozenset[str]) -> str:
    """The short class term for ``value``, folding the DTMI spelling of the active DTDL version."""
    table = v.V2_CLASS_BY_DTMI if v.is_v2(context) else v.CLASS_BY_DTMI
    return table.get(value, value)


@dataclass(slots=True)
class _Element:
    members: Members
    semantic_types: tuple[str, ...]
    extensions: frozenset[str]
    id: str | None
    where: Where
    informal: bool = False

    @property
    def v2(self) -> bool:
        return v.is_v2(self.extensions)


class Parser:
    """Accumulates raw Interfaces and problems over any number of top-level documents."""

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

    # -- top level -------------------------------------------------------------------------
    def document(self, doc: object) -> None:
        if not isinstance(doc, dict):
            self.problems.append(Problem("", "a DTDL document must be a JSON object (an Interface)."))
            return
        raw_id = doc.get("@id")
        doc_id = raw_id if isinstance(raw_id, str) else None
        where = Where(doc_id, "")
        if "@context" not in doc:
            self._add(where, "", 'a top-level Interface needs "@context": "dtmi:dtdl:context;3".')
            return
        before = len(self.problems)
        extensions = self._context(doc["@context"], where, "/@context", top_level=True)
        if extensions is None or len(self.problems) > before:
            return
        iface = self._interface(doc, where, extensions, top_level=True)
        if iface is not None and doc_id is not None:
            self.top_level[doc_id] = doc

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
            sub = _ptr(pointer, i) if isinstance(value, list) else pointer
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
    ) -> _Element | None:
        if not isinstance(node, dict):
            self._add(where, where.pointer, f"a {cls} must be a JSON object.")
            return None
        ok = True
        if "@context" in node and where.pointer:
            nested = self._context(
                node["@context"],
                where,
                _ptr(where.pointer, "@context"),
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
            sub = _ptr(where.pointer, key)
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
        return _Element(members, semantic, extensions, element_id, where, informal) if ok else None

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
        pointer = _ptr(where.pointer, "@type")
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
        terms: list[str] = [_class_term(str(t), extensions) for t in items]
        if v2:
            terms = [V2_SEMANTIC_BY_DTMI.get(t, t) for t in terms]
        if cls not in terms:
            self._add(where, pointer, f"@type must include {cls!r} here; got {raw!r}.")
            return None
        semantic: list[str] = []
        informal = False
        for i, term in enumerate(terms):
            sub = _ptr(pointer, i) if isinstance(raw, list) else pointer
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
        pointer = _ptr(where.pointer, "@id")
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
    def _literal(self, el: _Element, member: str, kind: type) -> object | None:
        value, pointer = el.members[member]
        try:
            return literal(value, pointer, kind)[0]
        except LiteralError as err:
            self._add(el.where, err.pointer, f"{member} {err.message}")
            return None

    def _name(self, el: _Element) -> str | None:
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
            return [(item, _ptr(pointer, i)) for i, item in enumerate(value)]
        return [(value, pointer)]

    # -- Interface -------------------------------------------------------------------------
    def _interface(
        self, node: object, where: Where, extensions: frozenset[str], *, top_level: bool
    ) -> RawInterface | None:
        el = self._element(node, where, "Interface", extensions, interface=True)
        if el is None or el.id is None:
            return None
        iface = RawInterface(id=el.id, where=where, top_level=top_level, v2=el.v2)
        if "displayName" in el.members:
            iface.display_name = localizable(el.members["displayName"][0], "", 10**9)
        if "description" in el.members:
            iface.description = localizable(el.members["description"][0], "", 10**9)
        outer = self._owner
        self._owner = iface
        try:
            self._interface_members(el, iface)
        finally:
            self._owner = outer
        self.interfaces[iface.id] = iface
        return iface

    def _interface_members(self, el: _Element, iface: RawInterface) -> None:
        ext = el.extensions
        if "extends" in el.members:
            extends = self._items(*el.members["extends"])
            if el.v2 and len(extends) > v.V2_MAX_EXTENDS_COUNT:
                self._add(
                    el.where,
                    el.members["extends"][1],
                    f"extends names {len(extends)} Interfaces; DTDL v2 allows at most {v.V2_MAX_EXTENDS_COUNT}.",
                )
            for item, pointer in extends:
                ref = self._interface_ref(item, Where(el.where.doc_id, pointer), ext, "extends")
                if ref is not None:
                    iface.extends.append(ref)
        if "schemas" in el.members:
            for item, pointer in self._items(*el.members["schemas"]):
                sub = Where(el.where.doc_id, pointer)
                if not isinstance(item, dict):
                    self._add(
                        el.where,
                        pointer,
                        "each entry of schemas must be an Array, Enum, Map or Object element.",
                    )
                    continue
                if "@id" not in item:
                    self._add(el.where, pointer, 'a schema in an Interface\'s schemas needs an "@id" (a DTMI).')
                    continue
                spec = self._complex(item, sub, ext)
                if isinstance(spec, RawComplex) and spec.id is not None:
                    iface.own_count += 1
        names: dict[str, str] = {}
        if "contents" in el.members:
            for item, pointer in self._items(*el.members["contents"]):
                content = self._content(item, Where(el.where.doc_id, pointer), ext)
                if content is None:
                    continue
                iface.own_count += 1
                if content.name in names:
                    self._add(
                        el.where,
                        _ptr(pointer, "name"),
                        f"name {content.name!r} is already used by {names[content.name]}; "
                        "content names must be "
                        "unique within an Interface, including inherited contents.",
                    )
                    continue
                names[content.name] = content.where.pointer or "/"
                iface.contents.append(content)

    def _interface_ref(self, item: object, where: Where, ext: frozenset[str], member: str) -> RawRef | None:
        if isinstance(item, str):
            if not is_dtmi(item):
                self._add(where, where.pointer, f"{member} value {item!r} must be the DTMI of an Interface.")
                return None
            return RawRef(item, where, self._owner)
        if isinstance(item, dict):
            # Checked before descending: inline Interfaces nest as deep as the document does.
            if self._inline_depth >= v.MAX_EXTENDS_DEPTH:
                message = (
                    f"inline Interfaces are nested more than {v.MAX_EXTENDS_DEPTH} levels deep here; "
                    "name the Interface by its DTMI instead."
                )
                self._add(where, where.pointer, message)
                return None
            self._inline_depth += 1
            try:
                inline = self._interface(item, where, ext, top_level=False)
            finally:
                self._inline_depth -= 1
            return RawRef(inline.id, where, self._owner) if inline else None
        self._add(where, where.pointer, f"{member} must be an Interface DTMI or an inline Interface object.")
        return None

    # -- contents --------------------------------------------------------------------------
    def _content(self, node: object, where: Where, ext: frozenset[str]) -> RawContent | None:
        if isinstance(node, str):
            self._add(
                where,
                where.pointer,
                "contents must hold elements (Telemetry, Property, Command, Relationship, Component), not references.",
            )
            return None
        if not isinstance(node, dict):
            self._add(where, where.pointer, "each entry of contents must be a JSON object.")
            return None
        raw_type = node.get("@type")
        types = raw_type if isinstance(raw_type, list) else [raw_type]
        kinds = [_class_term(t, self._context_of(node, ext)) for t in types if isinstance(t, str)]
        kind = next((k for k in kinds if k in _CONTENT_KINDS), None)
        if kind is None:
            self._add(
                where,
                _ptr(where.pointer, "@type") if "@type" in node else where.pointer,
                "each content needs an @type of Telemetry, Property, Command, Relationship or Component.",
            )
            return None
        el = self._element(node, where, kind, ext)
        if el is None:
            return None
        name = self._name(el)
        if name is None:
            return None
        content = RawContent(kind=kind, name=name, where=where, semantic_types=el.semantic_types, v2=el.v2)
        handler = {
            "Telemetry": self._fill_schema_content,
            "Property": self._fill_schema_content,
            "Command": self._fill_command,
            "Relationship": self._fill_relationship,
            "Component": self._fill_component,
        }[kind]
        return content if handler(el, content) else None

    def _fill_schema_content(self, el: _Element, content: RawContent) -> bool:
        schema = self._schema(el, "schema")
        if schema is None:
            return False
        content.schema = schema
        if "writable" in el.members:
            writable = self._literal(el, "writable", bool)
            if writable is None:
                return False
            content.writable = bool(writable)
        unit = self._semantics(el, schema)
        if unit is False:
            return False
        content.unit = unit if isinstance(unit, str) else None
        return True

    def _semantics(self, el: _Element, schema: SchemaSpec) -> str | bool | None:
        """The unit of a semantically typed element, None without one, False when invalid."""
        quantities = [t for t in el.semantic_types if t != v.PERSONAL]  # Personal says nothing of units
        if not quantities:
            return None
        if not (isinstance(schema, str) and schema in v.NUMERIC_SCHEMAS):
            self._add(
                el.where,
                el.members["schema"][1],
                f"an element co-typed with {quantities[0]!r} needs a numeric schema (double, float, integer or long).",
            )
            return False
        if el.v2:
            return self._v2_unit(el)
        if "unit" not in el.members:
            return None
        unit = self._literal(el, "unit", str)
        if not isinstance(unit, str):
            return False
        for semantic in quantities:
            allowed = units_for(semantic)
            if unit not in allowed:
                known = "is not a unit" if unit not in ALL_UNITS else "does not fit"
                self._add(
                    el.where,
                    el.members["unit"][1],
                    f"unit {unit!r} {known} for semantic type {semantic!r} "
                    f"({UNIT_TYPE_BY_SEMANTIC_TYPE[semantic]}); allowed: {', '.join(sorted(allowed))}.",
                )
                return False
        return unit

    def _v2_unit(self, el: _Element) -> str | bool:
        """DTDL v2: a semantically typed element MUST have a unit from its semantic type's row."""
        if "unit" not in el.members:
            self._add(
                el.where,
                el.where.pointer,
                f"an element co-typed with semantic type {el.semantic_types[0]!r} needs a 'unit' member in DTDL v2.",
            )
            return False
        unit = self._literal(el, "unit", str)
        if not isinstance(unit, str):
            return False
        unit = V2_UNIT_BY_DTMI.get(unit, unit)
        for semantic in el.semantic_types:
            allowed = V2_UNITS_BY_SEMANTIC_TYPE[semantic]
            if unit not in allowed:
                known = "is not a DTDL v2 unit" if unit not in V2_ALL_UNITS else "does not fit"
                self._add(
                    el.where,
                    el.members["unit"][1],
                    f"unit {unit!r} {known} for semantic type {semantic!r}; allowed: {', '.join(sorted(allowed))}.",
                )
                return False
        return unit

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

    def _fill_command(self, el: _Element, content: RawContent) -> bool:
        ok = True
        if "commandType" in el.members:
            # Deprecated since DTDL v3 but still allowed, with one of two fixed values.
            command_type = self._literal(el, "commandType", str)
            if command_type is None:
                ok = False
            elif (v.V2_COMMAND_TYPE_BY_DTMI if el.v2 else v.COMMAND_TYPE_BY_DTMI).get(
                str(command_type), command_type
            ) not in v.COMMAND_TYPES:
                self._add(
                    el.where,
                    el.members["commandType"][1],
                    f"commandType {command_type!r} is not allowed; use 'synchronous' or 'asynchronous' "
                    "(the member is deprecated and may be left out).",
                )
                ok = False
        for member, cls in (("request", "CommandRequest"), ("response", "CommandResponse")):
            if el.v2:
                cls = "CommandPayload"  # DTDL v2 has one payload class for both
            if member not in el.members:
                continue
            value, pointer = el.members[member]
            if isinstance(value, list):
                if len(value) != 1:
                    self._add(el.where, pointer, f"{member} must be one {cls} object.")
                    ok = False
                    continue
                value, pointer = value[0], _ptr(pointer, 0)
            payload = self._payload(value, Where(el.where.doc_id, pointer), cls, el.extensions)
            if payload is None:
                ok = False
            elif member == "request":
                content.request = payload
            else:
                content.response = payload
        return ok

    def _payload(self, node: object, where: Where, cls: str, ext: frozenset[str]) -> RawPayload | None:
        el = self._element(node, where, cls, ext)
        if el is None:
            return None
        name = self._name(el)
        schema = self._schema(el, "schema")
        if name is None or schema is None:
            return None
        unit = self._semantics(el, schema)
        if unit is False:
            return None
        return RawPayload(name, schema, where, el.semantic_types, unit if isinstance(unit, str) else None)

    def _fill_relationship(self, el: _Element, content: RawContent) -> bool:
        ok = True
        if "target" in el.members:
            target = self._literal(el, "target", str)
            if not isinstance(target, str) or not is_dtmi(target):
                if isinstance(target, str):
                    self._add(el.where, el.members["target"][1], f"target {target!r} must be an Interface DTMI.")
                ok = False
            else:
                content.target = target
        if "minMultiplicity" in el.members:
            low = self._literal(el, "minMultiplicity", int)
            if low != 0:
                if low is not None:
                    self._add(
                        el.where,
                        el.members["minMultiplicity"][1],
                        f"minMultiplicity must be 0 in DTDL {'v2' if el.v2 else 'v3'}.",
                    )
                ok = False
        if "maxMultiplicity" in el.members:
            high = self._literal(el, "maxMultiplicity", int)
            if not isinstance(high, int) or high < 1:
                if high is not None:
                    self._add(el.where, el.members["maxMultiplicity"][1], "maxMultiplicity must be an integer >= 1.")
                ok = False
            elif el.v2 and high > v.V2_MAX_MULTIPLICITY:
                self._add(
                    el.where,
                    el.members["maxMultiplicity"][1],
                    f"maxMultiplicity may be at most {v.V2_MAX_MULTIPLICITY} in DTDL v2; it is {high}.",
                )
                ok = False
            else:
                content.max_multiplicity = high
        if "writable" in el.members:
            writable = self._literal(el, "writable", bool)
            ok = ok and writable is not None
            content.writable = bool(writable)
        if "properties" in el.members:
            names: set[str] = set()
            items = self._items(*el.members["properties"])
            if el.v2 and len(items) > v.V2_MAX_RELATIONSHIP_PROPERTIES:
                self._add(
                    el.where,
                    el.members["properties"][1],
                    f"a Relationship may have at most {v.V2_MAX_RELATIONSHIP_PROPERTIES} properties "
                    "in DTDL v2; "
                    f"this one has {len(items)}.",
                )
                ok = False
            for item, pointer in items:
                sub = Where(el.where.doc_id, pointer)
                prop = self._relationship_property(item, sub, el.extensions)
                if prop is None:
                    ok = False
                elif prop.name in names:
                    self._add(
                        el.where,
                        _ptr(pointer, "name"),
                        f"property name {prop.name!r} is used twice in this Relationship; names must be unique.",
                    )
                    ok = False
                else:
                    names.add(prop.name)
                    content.properties.append(prop)
        return ok

    def _relationship_property(self, node: object, where: Where, ext: frozenset[str]) -> RawContent | None:
        el = self._element(node, where, "Property", ext)
        if el is None:
            return None
        name = self._name(el)
        if name is None:
            return None
        prop = RawContent(kind="Property", name=name, where=where, semantic_types=el.semantic_types, v2=el.v2)
        return prop if self._fill_schema_content(el, prop) else None

    def _fill_component(self, el: _Element, content: RawContent) -> bool:
        value, pointer = el.members["schema"]
        if isinstance(value, list) and len(value) == 1:
            value, pointer = value[0], _ptr(pointer, 0)
        ref = self._interface_ref(value, Where(el.where.doc_id, pointer), el.extensions, "A Component's schema")
        content.component = ref
        return ref is not None

    # -- schemas ---------------------------------------------------------------------------
    def _schema(self, el: _Element, member: str) -> SchemaSpec | None:
        value, pointer = el.members[member]
        if isinstance(value, list):
            if len(value) != 1:
                self._add(el.where, pointer, f"{member} must be a single schema, or an array holding exactly one.")
                return None
            value, pointer = value[0], _ptr(pointer, 0)
        return self._schema_value(value, Where(el.where.doc_id, pointer), el.extensions)

    def _schema_value(self, value: object, where: Where, ext: frozenset[str]) -> SchemaSpec | None:
        if isinstance(value, str):
            term = (v.V2_SCHEMA_BY_DTMI if v.is_v2(ext) else v.SCHEMA_BY_DTMI).get(value, value)
            if term in v.PRIMITIVE_SCHEMAS or term in v.GEOSPATIAL_SCHEMAS:
                return term
            if value.startswith("dtmi:"):
                if not is_dtmi(value):
                    self._add(where, where.pointer, f"schema {value!r} is not a valid DTMI.")
                    return None
                return RawRef(value, where, self._owner)
            extra = (
                f" (it is a DTDL v4 schema, not defined in {'v2' if v.is_v2(ext) else 'v3'})"
                if value in v.V4_PRIMITIVE_SCHEMAS
                else ""
            )
            self._add(
                where,
                where.pointer,
                f"schema {value!r} is unknown{extra}; use a primitive schema "
                f"({', '.join(sorted(v.PRIMITIVE_SCHEMAS))}), a geospatial schema, a complex schema "
                "object, or the DTMI of a schema defined in this Interface.",
            )
            return None
        if isinstance(value, dict):
            return self._complex(value, where, ext)
        self._add(where, where.pointer, "schema must be a schema name, a DTMI, or a schema object.")
        return None

    def _complex(self, node: dict[str, object], where: Where, ext: frozenset[str]) -> RawComplex | None:
        raw_type = node.get("@type")
        types = raw_type if isinstance(raw_type, list) else [raw_type]
        kinds = [_class_term(t, self._context_of(node, ext)) for t in types if isinstance(t, str)]
        kind = next((k for k in kinds if k in _COMPLEX_KINDS), None)
        if kind is None:
            pointer = _ptr(where.pointer, "@type") if "@type" in node else where.pointer
            self._add(where, pointer, "a schema object needs an @type of Array, Enum, Map or Object.")
            return None
        # Checked before descending, with the same limit the resolver applies to named schemas.
        if self._schema_depth > v.MAX_SCHEMA_DEPTH:
            message = (
                f"complex schemas are nested more than {v.MAX_SCHEMA_DEPTH} levels deep; "
                f"at most {v.MAX_SCHEMA_DEPTH} nested schema levels are allowed below a complex schema."
            )
            self._add(where, self._schema_root, message)
            return None
        if self._schema_depth == 0:
            self._schema_root = where.pointer  # a depth problem names the outermost schema, as the resolver does
        el = self._element(node, where, kind, ext)
        if el is None:
            return None
        spec = RawComplex(kind=kind, where=where, owner=self._owner, id=el.id)
        fill = {
            "Array": self._fill_array,
            "Enum": self._fill_enum,
            "Map": self._fill_map,
            "Object": self._fill_object,
        }[kind]
        self._schema_depth += 1
        try:
            ok = fill(el, spec)
        finally:
            self._schema_depth -= 1
        if not ok:
            return None
        if spec.id is not None and self._owner is not None:
            self._owner.local_schemas[spec.id] = spec
        return spec

    def _fill_array(self, el: _Element, spec: RawComplex) -> bool:
        spec.element = self._schema(el, "elementSchema")
        return spec.element is not None

    def _fill_enum(self, el: _Element, spec: RawComplex) -> bool:
        value, pointer = el.members["valueSchema"]
        if isinstance(value, list) and len(value) == 1:
            value, pointer = value[0], _ptr(pointer, 0)
        term = v.ENUM_OR_KEY_SCHEMA_BY_DTMI.get(value, value) if isinstance(value, str) else None
        if term not in ("integer", "string"):
            self._add(el.where, pointer, "an Enum's valueSchema must be 'integer' or 'string'.")
            return False
        assert term is not None
        spec.value_schema = term
        if "enumValues" not in el.members:
            return True
        kind: type = int if term == "integer" else str
        ok = True
        seen_values: dict[object, str] = {}
        for item, item_pointer in self._items(*el.members["enumValues"]):
            sub = Where(el.where.doc_id, item_pointer)
            ev = self._element(item, sub, "EnumValue", el.extensions)
            if ev is None:
                ok = False
                continue
            name = self._name(ev)
            raw_value, value_pointer = ev.members["enumValue"]
            try:
                enum_value = literal(raw_value, value_pointer, kind)[0]
            except LiteralError:
                self._add(
                    sub,
                    value_pointer,
                    f"enumValue must be {'an integer' if kind is int else 'a string'} "
                    f"because the Enum's valueSchema is {term!r}.",
                )
                ok = False
                continue
            if name is None:
                ok = False
            elif name in spec.enum_values:
                self._add(
                    sub,
                    _ptr(item_pointer, "name"),
                    f"enum value name {name!r} is used twice; names must be unique within an Enum.",
                )
                ok = False
            elif enum_value in seen_values:
                self._add(
                    sub,
                    value_pointer,
                    f"enumValue {enum_value!r} is already used by {seen_values[enum_value]!r};"
                    " enum values must be unique.",
                )
                ok = False
            else:
                assert isinstance(enum_value, int | str)
                spec.enum_values[name] = enum_value
                seen_values[enum_value] = name
        return ok

    def _fill_map(self, el: _Element, spec: RawComplex) -> bool:
        key_value, key_pointer = el.members["mapKey"]
        if isinstance(key_value, list) and len(key_value) == 1:
            key_value, key_pointer = key_value[0], _ptr(key_pointer, 0)
        key = self._element(key_value, Where(el.where.doc_id, key_pointer), "MapKey", el.extensions)
        if key is None or self._name(key) is None:
            return False
        raw_key_schema, schema_pointer = key.members["schema"]
        if isinstance(raw_key_schema, list) and len(raw_key_schema) == 1:
            raw_key_schema = raw_key_schema[0]
        if (
            v.ENUM_OR_KEY_SCHEMA_BY_DTMI.get(raw_key_schema, raw_key_schema) != "string"
            if isinstance(raw_key_schema, str)
            else True
        ):
            self._add(el.where, schema_pointer, "a MapKey's schema must be 'string'.")
            return False
        val_value, val_pointer = el.members["mapValue"]
        if isinstance(val_value, list) and len(val_value) == 1:
            val_value, val_pointer = val_value[0], _ptr(val_pointer, 0)
        mv = self._element(val_value, Where(el.where.doc_id, val_pointer), "MapValue", el.extensions)
        if mv is None or self._name(mv) is None:
            return False
        spec.map_value = self._schema(mv, "schema")
        return spec.map_value is not None and self._semantics(mv, spec.map_value) is not False

    def _fill_object(self, el: _Element, spec: RawComplex) -> bool:
        if "fields" not in el.members:
            return True
        ok = True
        names: set[str] = set()
        for item, pointer in self._items(*el.members["fields"]):
            sub = Where(el.where.doc_id, pointer)
            fe = self._element(item, sub, "Field", el.extensions)
            if fe is None:
                ok = False
                continue
            name = self._name(fe)
            schema = self._schema(fe, "schema")
            if name is None or schema is None or self._semantics(fe, schema) is False:
                ok = False
            elif name in names:
                self._add(
                    sub,
                    _ptr(pointer, "name"),
                    f"field name {name!r} is used twice; field names must be unique within an Object.",
                )
                ok = False
            else:
                names.add(name)
                spec.fields.append(RawField(name, schema, sub))
        return ok
