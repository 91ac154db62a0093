"""Rules a twin and a relationship must keep to match their DTDL model.

Pure functions over the resolved ModelSet. A client may set only writable properties: a
non-writable (reported) property may be present, but a write that changes it is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from futago.core.dtdl import Interface, ModelSet, Property
from futago.core.geometry import check_geometry
from futago.core.problems import Problem, join_pointer
from futago.core.twins import Relationship, Twin

MAX_ID_LENGTH = 256
#: The reserved twin property where the NGSI-LD door keeps what DTDL cannot say about an entity's attributes
#: (futago.services.ngsild.mapping); any model's twins may carry it, as a JSON object.
NGSILD_META = "$ngsild"
_ID_FORBIDDEN = re.compile(r"[/\\?#\x00-\x1f\x7f]")


def check_id(value: str, pointer: str, what: str) -> list[Problem]:
    if not value:
        return [Problem(pointer, f"a {what} id must not be empty")]
    if len(value) > MAX_ID_LENGTH:
        return [Problem(pointer, f"a {what} id may have at most {MAX_ID_LENGTH} characters, not {len(value)}")]
    if _ID_FORBIDDEN.search(value):
        return [Problem(pointer, f"a {what} id may not contain '/', '\\', '?', '#' or control characters")]
    return []


def _names(mapping: Mapping[str, object]) -> str:
    listed = sorted(mapping)
    return ", ".join(listed[:20]) + (" …" if len(listed) > 20 else "") if listed else "nothing"


def _check_properties(
    values: Mapping[str, Any],
    declared: Mapping[str, Property],
    previous: Mapping[str, Any] | None,
    pointer: str,
    owner: str,
) -> list[Problem]:
    problems: list[Problem] = []
    for name, value in values.items():
        prop = declared.get(name)
        if prop is None:
            where = join_pointer(pointer, name)
            problems.append(Problem(where, f"'{name}' is not a property of {owner}; it declares {_names(declared)}"))
            continue
        where = pointer + "/" + name  # a declared name matches DTDL's name rule: nothing to escape
        problems += prop.schema.check(value, where)
        changed = previous is None or previous.get(name, _MISSING) != value
        if changed and not prop.writable:
            problems.append(
                Problem(
                    where,
                    f"property '{name}' of {owner} is not writable; only writable properties can be set",
                )
            )
    return problems


_MISSING = object()


def check_twin(twin: Twin, models: ModelSet, previous: Twin | None = None) -> list[Problem]:
    """Every problem with a twin about to be stored; ``previous`` is the stored version, if any."""
    problems = check_id(twin.id, "/$dtId", "twin")
    if not twin.model:
        return [
            *problems,
            Problem("/$metadata/$model", "a twin needs $metadata.$model, the DTMI of its model"),
        ]
    if twin.model not in models:
        return [
            *problems,
            Problem("/$metadata/$model", f"model '{twin.model}' does not exist; upload it first"),
        ]
    interface = models[twin.model]
    old = previous.properties if previous is not None and previous.model == twin.model else None
    plain = {k: v for k, v in twin.properties.items() if k not in interface.components and k != NGSILD_META}
    if not isinstance(twin.properties.get(NGSILD_META, {}), dict):
        problems.append(Problem("/" + NGSILD_META, f"{NGSILD_META} is reserved for NGSI-LD metadata, a JSON object"))
    problems += _check_properties(plain, interface.properties, old, "", twin.model)
    for name, component in interface.components.items():
        if name not in twin.properties:
            continue
        problems += _check_component(twin.properties[name], models[component.schema], old, name)
    if twin.geometry is not None:
        problems += check_geometry(twin.geometry)
    return problems


def _check_component(value: Any, interface: Interface, old: Mapping[str, Any] | None, name: str) -> list[Problem]:
    pointer = join_pointer("", name)
    if not isinstance(value, dict):
        return [Problem(pointer, f"component '{name}' must be a JSON object of its properties")]
    previous = old.get(name) if old is not None else None
    values = {k: v for k, v in value.items() if k != "$metadata"}
    return _check_properties(
        values, interface.properties, previous if isinstance(previous, dict) else None, pointer, interface.id
    )


def check_relationship(
    rel: Relationship,
    source: Twin,
    target: Twin | None,
    models: ModelSet,
    existing_of_name: int,
    previous: Relationship | None = None,
) -> list[Problem]:
    """Problems with a relationship about to be stored.

    ``existing_of_name`` counts the source's other relationships with the same name, for
    maxMultiplicity.
    """
    problems = check_id(rel.id, "/$relationshipId", "relationship")
    interface = models[source.model]
    declared = interface.relationships.get(rel.name)
    if declared is None:
        return [
            *problems,
            Problem(
                "/$relationshipName",
                f"'{rel.name}' is not a relationship of {source.model}; it declares {_names(interface.relationships)}",
            ),
        ]
    if target is None:
        problems.append(Problem("/$targetId", f"target twin '{rel.target_id}' does not exist"))
    elif declared.target and not models.is_of_model(target.model, declared.target):
        problems.append(
            Problem(
                "/$targetId",
                f"relationship '{rel.name}' must target a twin of {declared.target}; '{target.id}' is a {target.model}",
            )
        )
    if declared.max_multiplicity is not None and existing_of_name + 1 > declared.max_multiplicity:
        problems.append(
            Problem(
                "/$relationshipName",
                f"twin '{source.id}' may have at most {declared.max_multiplicity} '{rel.name}' "
                f"relationship(s), and already has {existing_of_name}",
            )
        )
    old = previous.properties if previous is not None else None
    problems += _check_properties(rel.properties, declared.properties, old, "", f"relationship '{rel.name}'")
    return problems
