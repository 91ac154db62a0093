"""Turn DTDL v3 JSON into raw elements, reporting every rule that one document can break alone.

Rules that need other documents (references, inheritance, limits across ``extends``) are
left to the resolver; everything else is decided here, with a JSON Pointer per problem.
This module reads documents, Interfaces and their contents; the rules of any element live in
``elements.py`` and those of schemas, semantic types and units in ``schema_reader.py``.
"""

from __future__ import annotations

from futago.core.problems import Problem

from . import vocabulary as v
from .dtmi import is_dtmi
from .elements import Element, child_pointer, class_term
from .literals import localizable
from .raw import RawComplex, RawContent, RawInterface, RawPayload, RawRef, Where
from .schema_reader import SchemaReader

_CONTENT_KINDS = ("Telemetry", "Property", "Command", "Relationship", "Component")


class Parser(SchemaReader):
    """Accumulates raw Interfaces and problems over any number of top-level documents."""

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

    def _interface_members(self, el: Element, iface: RawInterface) -> None:
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
                        child_pointer(pointer, "name"),
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
        kinds = [class_term(t, self._context_of(node, ext)) for t in types if isinstance(t, str)]
        kind = next((k for k in kinds if k in _CONTENT_KINDS), None)
        if kind is None:
            self._add(
                where,
                child_pointer(where.pointer, "@type") if "@type" in node else where.pointer,
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

    def _fill_schema_content(self, el: Element, content: RawContent) -> bool:
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

    def _fill_command(self, el: Element, content: RawContent) -> bool:
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
                value, pointer = value[0], child_pointer(pointer, 0)
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

    def _fill_relationship(self, el: Element, content: RawContent) -> bool:
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
                        child_pointer(pointer, "name"),
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

    def _fill_component(self, el: Element, content: RawContent) -> bool:
        value, pointer = el.members["schema"]
        if isinstance(value, list) and len(value) == 1:
            value, pointer = value[0], child_pointer(pointer, 0)
        ref = self._interface_ref(value, Where(el.where.doc_id, pointer), el.extensions, "A Component's schema")
        content.component = ref
        return ref is not None
