"""Follow references between raw Interfaces and build resolved ones.

This is where the rules that span documents live: undefined references, ``extends`` cycles,
depth and count limits, inherited name clashes, nested Components and schema depth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class _Walk:
    """One Interface on the explicit stack of ``Resolver.ancestors``: how far through its extends it is."""

    dtmi: str
    next: int = 0  # the index of the next extends entry to look at
    waiting: str | None = None  # the parent being resolved below it
    ok: bool = True
    depth: int = 0
    result: set[str] = field(default_factory=set)

    def take(self, parent: str, parents: frozenset[str] | None, depth: int) -> None:
        if parents is None:
            self.ok = False
            return
        self.result.add(parent)
        self.result |= parents
        self.depth = max(self.depth, 1 + depth)


def _nested_components(dtmi: str, names: list[str]) -> str:
    return (
        f"Interface {dtmi!r} cannot be a Component's schema because it has Components itself "
        f"({', '.join(names)}); DTDL v3 does not allow nested Components."
    )


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
        """Every Interface ``dtmi`` inherits from, transitively; None when the chain is broken.

        The walk keeps its own stack rather than recursing: an ``extends`` chain is as long as a caller makes
        it, and a recursion limit must never be what stops one (that was a 500 for 2,000 levels)."""
        if dtmi in self._ancestors:
            return self._ancestors[dtmi]
        if dtmi in self.done and dtmi not in self.raw:
            return self._ancestors_of_done(dtmi)
        frames = [_Walk(dtmi)]
        self._visiting.append(dtmi)
        while frames:
            walk = frames[-1]
            extends = self.raw[walk.dtmi].extends
            if walk.waiting is not None:  # the parent descended into last has its answer now
                walk.take(walk.waiting, self._ancestors[walk.waiting], self._depth.get(walk.waiting, 0))
                walk.waiting = None
            elif walk.next < len(extends):
                ref = extends[walk.next]
                walk.next += 1
                if ref.dtmi in self._visiting:
                    cycle = " -> ".join([*self._visiting[self._visiting.index(ref.dtmi) :], ref.dtmi])
                    self._add(ref.where, f"extends forms a cycle ({cycle}); an Interface may not inherit from itself.")
                    walk.ok = False
                elif not self._is_interface(ref, "extends"):
                    walk.ok = False
                elif ref.dtmi in self._ancestors or ref.dtmi not in self.raw:
                    parents = self.ancestors(ref.dtmi)  # known already, or stored (validated, so shallow)
                    walk.take(ref.dtmi, parents, self._depth.get(ref.dtmi, 0))
                else:
                    walk.waiting = ref.dtmi
                    self._visiting.append(ref.dtmi)
                    frames.append(_Walk(ref.dtmi))
            else:
                frames.pop()
                self._visiting.pop()
                self._finish(walk)
        return self._ancestors[dtmi]

    def _finish(self, walk: _Walk) -> None:
        """Check the depth and count limits of one Interface whose parents are all known, and remember it."""
        iface = self.raw[walk.dtmi]
        ok, depth = walk.ok, walk.depth
        if ok and depth > v.MAX_EXTENDS_DEPTH:
            self._add(
                iface.extends[0].where,
                f"extends is nested {depth} levels deep; at most {v.MAX_EXTENDS_DEPTH} levels are allowed.",
            )
            ok = False
        if ok:
            count = sum(len(self._direct_extends(x)) for x in {walk.dtmi, *walk.result})
            if count > v.MAX_EXTENDS_COUNT:
                self._add(
                    iface.extends[0].where,
                    f"the extends hierarchy holds {count} values; at most {v.MAX_EXTENDS_COUNT} are allowed.",
                )
                ok = False
        self._depth[walk.dtmi] = depth
        self._ancestors[walk.dtmi] = frozenset(walk.result) if ok else None

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
        # Refuse nesting before building the target: building it would build its Components in turn, and a
        # chain of Components is as long as a caller makes it.
        nested = self._component_names(ref.dtmi)
        if nested:
            self._add(ref.where, _nested_components(ref.dtmi, nested))
            return None
        target = self.interface(ref.dtmi)
        if target is None:
            if ref.dtmi in self._visiting or (ref.dtmi in self._failed and ref.dtmi not in self.done):
                self._add(ref.where, f"Component schema {ref.dtmi!r} is invalid or leads back to this Interface.")
            return None
        return Component(c.name, ref.dtmi)

    def _component_names(self, dtmi: str) -> list[str]:
        """The Components ``dtmi`` has, its own and inherited, read from the raw Interfaces without building."""
        lineage = {dtmi, *(self.ancestors(dtmi) or ())}
        names: set[str] = set()
        for x in lineage:
            if x in self.raw:
                names.update(c.name for c in self.raw[x].contents if c.kind == "Component")
            elif x in self.done:
                names.update(self.done[x].components)
        return sorted(names)

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
            if target is None:
                return None
            spec = target
        if id(spec) not in self._schemas:
            self._build_schemas(spec)
        return self._schemas[id(spec)]

    def _build_schemas(self, root: RawComplex) -> None:
        """Build ``root`` and every complex schema below it, children first, on an explicit stack: schemas
        that name other schemas nest as deep as a caller likes, and only the depth check may refuse that."""
        stack: list[tuple[RawComplex, list[RawComplex | str | None] | None]] = [(root, None)]
        while stack:
            spec, targets = stack[-1]
            key = id(spec)
            if key in self._schemas:
                stack.pop()
            elif targets is None:  # first visit: resolve its children, then build those not built yet
                self._building.add(key)
                targets = [self._target(child) for child in self._children(spec)]
                stack[-1] = (spec, targets)
                for i, target in enumerate(targets):
                    if not isinstance(target, RawComplex) or id(target) in self._schemas:
                        continue
                    if id(target) in self._building:
                        self._add(target.where, "this schema contains itself; a schema may not refer back to itself.")
                        targets[i] = None
                    else:
                        stack.append((target, None))
            else:
                stack.pop()
                self._building.discard(key)
                self._schemas[key] = self._complex(spec, targets)

    @staticmethod
    def _children(spec: RawComplex) -> list[SchemaSpec]:
        direct = spec.element if spec.kind == "Array" else spec.map_value if spec.kind == "Map" else None
        return ([direct] if direct is not None else []) + [f.schema for f in spec.fields]

    def _target(self, child: SchemaSpec) -> RawComplex | str | None:
        return self._lookup_schema(child) if isinstance(child, RawRef) else child

    def _complex(self, spec: RawComplex, targets: list[RawComplex | str | None]) -> tuple[Schema, int] | None:
        if spec.kind == "Enum":
            return EnumSchema(spec.value_schema, dict(spec.enum_values)), 0
        children: list[tuple[Schema, int]] = []
        for target in targets:
            built = self._built(target)
            if built is None:
                return None
            children.append(built)
        depth = max((d + 1 for _, d in children), default=0)
        if spec.kind == "Array":
            return ArraySchema(children[0][0]), depth
        if spec.kind == "Map":
            return MapSchema("string", children[0][0]), depth
        return ObjectSchema({f.name: s for f, (s, _) in zip(spec.fields, children, strict=True)}), depth

    def _built(self, target: RawComplex | str | None) -> tuple[Schema, int] | None:
        if target is None:
            return None
        if isinstance(target, str):
            return _PRIMITIVES[target], -1
        return self._schemas.get(id(target))

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
