"""The schemas of DTDL elements: primitive and geospatial names, references to named schemas, the complex schemas
(Array, Enum, Map, Object) however deeply nested, and the semantic types and units that numeric schemas may carry.
"""

from __future__ import annotations

from . import vocabulary as v
from .dtmi import is_dtmi
from .elements import Element, ElementReader, child_pointer, class_term
from .literals import LiteralError, literal
from .raw import RawComplex, RawField, RawRef, SchemaSpec, Where
from .units import (
    ALL_UNITS,
    UNIT_TYPE_BY_SEMANTIC_TYPE,
    V2_ALL_UNITS,
    V2_UNIT_BY_DTMI,
    V2_UNITS_BY_SEMANTIC_TYPE,
    units_for,
)

_COMPLEX_KINDS = ("Array", "Enum", "Map", "Object")


class SchemaReader(ElementReader):
    """Reads the schema of an element and checks the semantic type and unit that go with it."""

    def _semantics(self, el: Element, schema: SchemaSpec) -> str | bool | None:
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

    def _v2_unit(self, el: Element) -> str | bool:
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

    # -- schemas ---------------------------------------------------------------------------
    def _schema(self, el: Element, member: str) -> SchemaSpec | None:
        value, pointer = el.members[member]
        if isinstance(value, list):
            if len(value) != 1:
                self._add(el.where, pointer, f"{member} must be a single schema, or an array holding exactly one.")
                return None
            value, pointer = value[0], child_pointer(pointer, 0)
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
        kinds = [class_term(t, self._context_of(node, ext)) for t in types if isinstance(t, str)]
        kind = next((k for k in kinds if k in _COMPLEX_KINDS), None)
        if kind is None:
            pointer = child_pointer(where.pointer, "@type") if "@type" in node else where.pointer
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

    def _fill_array(self, el: Element, spec: RawComplex) -> bool:
        spec.element = self._schema(el, "elementSchema")
        return spec.element is not None

    def _fill_enum(self, el: Element, spec: RawComplex) -> bool:
        value, pointer = el.members["valueSchema"]
        if isinstance(value, list) and len(value) == 1:
            value, pointer = value[0], child_pointer(pointer, 0)
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
                    child_pointer(item_pointer, "name"),
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

    def _fill_map(self, el: Element, spec: RawComplex) -> bool:
        key_value, key_pointer = el.members["mapKey"]
        if isinstance(key_value, list) and len(key_value) == 1:
            key_value, key_pointer = key_value[0], child_pointer(key_pointer, 0)
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
            val_value, val_pointer = val_value[0], child_pointer(val_pointer, 0)
        mv = self._element(val_value, Where(el.where.doc_id, val_pointer), "MapValue", el.extensions)
        if mv is None or self._name(mv) is None:
            return False
        spec.map_value = self._schema(mv, "schema")
        return spec.map_value is not None and self._semantics(mv, spec.map_value) is not False

    def _fill_object(self, el: Element, spec: RawComplex) -> bool:
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
                    child_pointer(pointer, "name"),
                    f"field name {name!r} is used twice; field names must be unique within an Object.",
                )
                ok = False
            else:
                names.add(name)
                spec.fields.append(RawField(name, schema, sub))
        return ok
