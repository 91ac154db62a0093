"""Follow references between raw Interfaces and build resolved ones.

This is where the rules that span documents live: undefined references, ``extends`` cycles,
depth and count limits, inherited name clashes, nested Components and schema depth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from futago.core.problems import Problem

from . import vocabulary as v
from .model import Command, CommandPayload, Component, Interface, Property, Relationship, Telemetry
from .raw import RawComplex, RawContent, RawInterface, RawPayload, RawRef, SchemaSpec, Where
from .schemas import ArraySchema, EnumSchema, MapSchema, ObjectSchema, PrimitiveSchema, Schema

_Content = Property | Telemetry | Command | Relationship | Component
_PRIMITIVES = {name: PrimitiveSchema(name) for name in v.PRIMITIVE_SCHEMAS | set(v.GEOSPATIAL_SCHEMAS)}


def _array_in(schema: Schema) -> str | None:
    """What makes ``schema`` array-like (an Array or a geospatial schema), or None."""
    if isinstance(schema, ArraySchema):
        return "an Array"
    if isinstance(schema, PrimitiveSchema):
        return f"the geospatial schema {schema.name!r}" if schema.name in v.GEOSPATIAL_SCHEMAS else None
    if isinstance(schema, ObjectSchema):
        return next((found for s in schema.fields.values() if (found := _array_in(s))), None)
    if isinstance(schema, MapSchema):
        return _array_in(schema.value_schema)
    return None


class Resolver:
    """Resolves the Interfaces of ``raw`` on demand; ``done`` holds ones resolved earlier."""

    def __init__(
        self,
        raw: Mapping[str, RawInterface],
        done: Mapping[str, Interface],
        element_ids: Mapping[str, Where],
    ) -> None:
        self.raw = raw
        self.done: dict[str, Interface] = dict(done)
        self.element_ids = element_ids
        self.problems: list[Problem] = []
        self._ancestors: dict[str, frozenset[str] | None] = {}
        self._depth: dict[str, int] = {}
        self._visiting: list[str] = []
        self._failed: set[str] = set()
        self._schemas: dict[int, tuple[Schema, int] | None] = {}
        self._building: set[int] = set()

    def _add(self, where: Where, message: str) -> None:
        self.problems.append(Problem(pointer=where.pointer, message=message, id=where.doc_id))

    # -- extends ---------------------------------------------------------------------------
    def ancestors(self, dtmi: str) -> frozenset[str] | None:
        """Every Interface ``dtmi`` inherits from, transitively; None when the chain is broken."""
        if dtmi in self._ancestors:
            return self._ancestors[dtmi]
        if dtmi in self.done and dtmi not in self.raw:
            return self._ancestors_of_done(dtmi)
        iface = self.raw[dtmi]
        self._visiting.append(dtmi)
        result: set[str] = set()
        depth = 0
        ok = True
        for ref in iface.extends:
            if ref.dtmi in self._visiting:
                cycle = " -> ".join([*self._visiting[self._visiting.index(ref.dtmi) :], ref.dtmi])
                self._add(ref.where, f"extends forms a cycle ({cycle}); an Interface may not inherit from itself.")
                ok = False
                continue
            if not self._is_interface(ref, "extends"):
                ok = False
                continue
            parents = self.ancestors(ref.dtmi)
            if parents is None:
                ok = False
                continue
            result.add(ref.dtmi)
            result |= parents
            depth = max(depth, 1 + self._depth.get(ref.dtmi, 0))
        self._visiting.pop()
        if ok and depth > v.MAX_EXTENDS_DEPTH:
            self._add(
                iface.extends[0].where,
                f"extends is nested {depth} levels deep; at most {v.MAX_EXTENDS_DEPTH} levels are allowed.",
            )
            ok = False
        if ok:
            count = sum(len(self._direct_extends(x)) for x in {dtmi, *result})
            if count > v.MAX_EXTENDS_COUNT:
                self._add(
                    iface.extends[0].where,
                    f"the extends hierarchy holds {count} values; at most {v.MAX_EXTENDS_COUNT} are allowed.",
                )
                ok = False
        self._depth[dtmi] = depth
        value = frozenset(result) if ok else None
        self._ancestors[dtmi] = value
        return value

    def _ancestors_of_done(self, dtmi: str) -> frozenset[str]:
        result: set[str] = set()
        depth = 0
        for parent in self.done[dtmi].extends:
            result.add(parent)
            result |= self.ancestors(parent) or frozenset()
            depth = max(depth, 1 + self._depth.get(parent, 0))
        self._depth[dtmi] = depth
        value = frozenset(result)
        self._ancestors[dtmi] = value
        return value

    def _direct_extends(self, dtmi: str) -> tuple[str, ...]:
        if dtmi in self.raw:
            return tuple(r.dtmi for r in self.raw[dtmi].extends)
        return self.done[dtmi].extends

    def _is_interface(self, ref: RawRef, member: str) -> bool:
        if ref.dtmi in self.raw or ref.dtmi in self.done:
            return True
        if ref.dtmi in self.element_ids:
            self._add(ref.where, f"{member} must name an Interface, but {ref.dtmi!r} is another kind of element.")
        else:
            self._add(ref.where, f"{member} refers to {ref.dtmi!r}, which is not defined in this model set.")
        return False

    # -- interfaces ------------------------------------------------------------------------
    def interface(self, dtmi: str) -> Interface | None:
        if dtmi in self.done:
            return self.done[dtmi]
        if dtmi in self._failed:
            return None
        raw = self.raw[dtmi]
        ancestors = self.ancestors(dtmi)
        if ancestors is None:
            self._failed.add(dtmi)
            return None
        self._failed.add(dtmi)  # guards against re-entry through components while building
        parents = [self.interface(r.dtmi) for r in raw.extends]
        if any(p is None for p in parents):
            return None
        built = self._build(raw, [p for p in parents if p is not None])
        if built is None:
            return None
        self._failed.discard(dtmi)
        self.done[dtmi] = built
        return built

    def _build(self, raw: RawInterface, parents: list[Interface]) -> Interface | None:
        ok = True
        props: dict[str, Property] = {}
        tele: dict[str, Telemetry] = {}
        cmds: dict[str, Command] = {}
        rels: dict[str, Relationship] = {}
        comps: dict[str, Component] = {}
        origin: dict[str, tuple[str, object]] = {}
        for parent in parents:
            tables: list[tuple[dict[str, Any], Mapping[str, Any]]] = [
                (props, parent.properties),
                (tele, parent.telemetry),
                (cmds, parent.commands),
                (rels, parent.relationships),
                (comps, parent.components),
            ]
            for table, source in tables:
                for name, item in source.items():
                    if name in origin and origin[name][1] is not item:
                        ref = next(r for r in raw.extends if r.dtmi == parent.id)
                        self._add(
                            ref.where,
                            f"content name {name!r} is inherited from both {origin[name][0]!r} "
                            f"and {parent.id!r} "
                            "as different elements; content names must be unique including inherited ones.",
                        )
                        ok = False
                    origin[name] = (parent.id, item)
                    table[name] = item
        for content in raw.contents:
            if content.name in origin:
                self._add(
                    Where(content.where.doc_id, content.where.pointer + "/name"),
                    f"name {content.name!r} is already inherited from {origin[content.name][0]!r}; content "
                    "names must be unique including inherited ones.",
                )
                ok = False
                continue
            built = self._content(raw, content)
            if built is None:
                ok = False
                continue
            origin[content.name] = (raw.id, built)
            if isinstance(built, Property):
                props[content.name] = built
            elif isinstance(built, Telemetry):
                tele[content.name] = built
            elif isinstance(built, Command):
                cmds[content.name] = built
            elif isinstance(built, Relationship):
                rels[content.name] = built
            else:
                comps[content.name] = built
        local: dict[str, Schema] = {}
        for sid, spec in raw.local_schemas.items():
            schema = self._root_schema(spec)
            if schema is None:
                ok = False
            else:
                local[sid] = schema
        if ok and not self._count_ok(raw):
            ok = False
        total = len(props) + len(tele) + len(cmds) + len(rels) + len(comps)
        if ok and raw.v2 and total > v.V2_MAX_CONTENTS_COUNT:
            self._add(
                raw.where,
                f"the Interface has {total} contents including inherited ones; DTDL v2 allows at most "
                f"{v.V2_MAX_CONTENTS_COUNT}.",
            )
            ok = False
        if not ok:
            return None
        return Interface(
            id=raw.id,
            extends=tuple(r.dtmi for r in raw.extends),
            display_name=raw.display_name,
            description=raw.description,
            properties=props,
            telemetry=tele,
            commands=cmds,
            relationships=rels,
            components=comps,
            schemas=local,
        )

    def _count_ok(self, raw: RawInterface) -> bool:
        total = raw.own_count + sum(self.raw[a].own_count for a in self._ancestors.get(raw.id) or () if a in self.raw)
        if total > v.MAX_CONTENTS_COUNT:
            self._add(
                raw.where,
                f"the Interface holds {total} elements including inherited ones; "
                f"at most {v.MAX_CONTENTS_COUNT} are allowed.",
            )
            return False
        return True

    def _content(self, owner: RawInterface, c: RawContent) -> _Content | None:
        if c.kind in ("Property", "Telemetry"):
            assert c.schema is not None
            schema = self._root_schema(c.schema)
            if schema is None:
                return None
            if c.kind == "Property" and c.v2 and (found := _array_in(schema)):
                self._add(
                    Where(c.where.doc_id, c.where.pointer + "/schema"),
                    f"a DTDL v2 Property may not have {found} anywhere in its schema "
                    "(Arrays and geospatial schemas are allowed in Telemetry and Commands only).",
                )
                return None
            if c.kind == "Property":
                return Property(c.name, schema, c.writable, c.semantic_types, c.unit)
            return Telemetry(c.name, schema, c.semantic_types, c.unit)
        if c.kind == "Command":
            request = self._payload(c.request)
            response = self._payload(c.response)
            if (c.request and request is None) or (c.response and response is None):
                return None
            return Command(c.name, request, response)
        if c.kind == "Relationship":
            props: dict[str, Property] = {}
            for p in c.properties:
                built = self._content(owner, p)
                if not isinstance(built, Property):
                    return None
                props[p.name] = built
            return Relationship(c.name, c.target, 0, c.max_multiplicity, props, c.writable)
        return self._component(owner, c)

    def _payload(self, p: RawPayload | None) -> CommandPayload | None:
        if p is None:
            return None
        schema = self._root_schema(p.schema)
        return None if schema is None else CommandPayload(p.name, schema, False, p.semantic_types, p.unit)

    def _component(self, owner: RawInterface, c: RawContent) -> Component | None:
        ref = c.component
        assert ref is not None
        if ref.dtmi == owner.id:
            self._add(ref.where, "a Component's schema may not be the Interface that contains it.")
            return None
        if not self._is_interface(ref, "A Component's schema"):
            return None
        target = self.interface(ref.dtmi)
        if target is None:
            if ref.dtmi in self._visiting or (ref.dtmi in self._failed and ref.dtmi not in self.done):
                self._add(ref.where, f"Component schema {ref.dtmi!r} is invalid or leads back to this Interface.")
            return None
        if target.components:
            self._add(
                ref.where,
                f"Interface {ref.dtmi!r} cannot be a Component's schema because it has Components itself "
                f"({', '.join(sorted(target.components))}); DTDL v3 does not allow nested Components.",
            )
            return None
        return Component(c.name, ref.dtmi)

    # -- schemas ---------------------------------------------------------------------------
    def _root_schema(self, spec: SchemaSpec) -> Schema | None:
        built = self._schema(spec)
        if built is None:
            return None
        schema, depth = built
        if depth > v.MAX_SCHEMA_DEPTH:
            where = spec.where if isinstance(spec, RawComplex | RawRef) else None
            if where is not None:
                self._add(
                    where,
                    f"complex schemas are nested {depth} levels deep; at most "
                    f"{v.MAX_SCHEMA_DEPTH} nested schema levels are allowed below a complex schema.",
                )
            return None
        return schema

    def _schema(self, spec: SchemaSpec) -> tuple[Schema, int] | None:
        """The built schema and the count of nested complex-schema levels below it."""
        if isinstance(spec, str):
            return _PRIMITIVES[spec], -1
        if isinstance(spec, RawRef):
            target = self._lookup_schema(spec)
            return None if target is None else self._schema(target)
        key = id(spec)
        if key in self._schemas:
            return self._schemas[key]
        if key in self._building:
            self._add(spec.where, "this schema contains itself; a schema may not refer back to itself.")
            return None
        self._building.add(key)
        try:
            result = self._complex(spec)
        finally:
            self._building.discard(key)
        self._schemas[key] = result
        return result

    def _complex(self, spec: RawComplex) -> tuple[Schema, int] | None:
        if spec.kind == "Enum":
            return EnumSchema(spec.value_schema, dict(spec.enum_values)), 0
        children: list[tuple[Schema, int]] = []
        direct = spec.element if spec.kind == "Array" else spec.map_value if spec.kind == "Map" else None
        nested: list[SchemaSpec] = [direct] if direct is not None else []
        nested += [f.schema for f in spec.fields]
        for child in nested:
            built = self._schema(child)
            if built is None:
                return None
            children.append(built)
        depth = max((d + 1 for _, d in children), default=0)
        if spec.kind == "Array":
            return ArraySchema(children[0][0]), depth
        if spec.kind == "Map":
            return MapSchema("string", children[0][0]), depth
        return ObjectSchema({f.name: s for f, (s, _) in zip(spec.fields, children, strict=True)}), depth

    def _lookup_schema(self, ref: RawRef) -> RawComplex | None:
        owner = ref.owner
        if owner is not None and ref.dtmi in owner.local_schemas:
            return owner.local_schemas[ref.dtmi]
        if ref.dtmi in self.raw or ref.dtmi in self.done:
            self._add(
                ref.where,
                f"schema {ref.dtmi!r} is an Interface; a schema must be a primitive or complex schema.",
            )
        elif ref.dtmi in self.element_ids:
            self._add(
                ref.where,
                f"schema {ref.dtmi!r} is defined in another Interface; "
                "a schema DTMI may refer only to schemas "
                "defined in the same Interface.",
            )
        else:
            self._add(ref.where, f"schema {ref.dtmi!r} is not defined; define it in this Interface's schemas.")
        return None
