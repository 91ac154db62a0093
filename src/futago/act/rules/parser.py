"""Parsing a rule description (JSON or YAML): every problem is reported at once, each with its pointer."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from futago.act.model import SEVERITIES
from futago.act.rules.condition_parser import parse_condition
from futago.act.rules.leaves import Leaf
from futago.act.rules.rule import DEFAULT_MESSAGE, TEMPLATE_FIELDS, AreaSpec, Recommend, Rule, Scope
from futago.core.errors import InvalidInput
from futago.core.problems import Problem, escape_pointer_token
from futago.core.query.spatial import point_from_literal
from futago.core.validation import Checker

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

RULE_KEYS = (
    "description",
    "severity",
    "twins",
    "twinModel",
    "scope",
    "when",
    "for",
    "message",
    "suppress",
    "escalateAfter",
    "area",
    "recommend",
    "autoResolve",
    "enabled",
)


def _template_problems(template: str) -> str | None:
    """Why a message template cannot be used, or None. Attribute access is refused: ``{twin.__class__}`` would let
    a rule author read the interpreter's internals."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"not a valid template ({exc}); write literal braces as {{{{ and }}}}"
    for _, field_name, spec, _ in parsed:
        if field_name is None:
            continue
        base = re.split(r"[.\[]", field_name, maxsplit=1)[0]
        if base not in TEMPLATE_FIELDS:
            return f"unknown placeholder {{{field_name}}}; use {', '.join(sorted(TEMPLATE_FIELDS))}"
        if "." in field_name.split("[", 1)[0] or (field_name != base and base not in ("values", "props")):
            return f"placeholder {{{field_name}}}: only values[...] and props[...] may be indexed"
        if spec and "{" in spec:
            return f"placeholder {{{field_name}}}: nested placeholders are not allowed"
    return None


def _message(value: Any, pointer: str, check: Checker) -> dict[str, str]:
    if value is None:
        return dict(DEFAULT_MESSAGE)
    if isinstance(value, str):
        value = {"ja": value, "en": value}
    if not isinstance(value, Mapping):
        check.add(pointer, "message is {ja: ..., en: ...} (templates with {twin}, {value}, …)")
        return dict(DEFAULT_MESSAGE)
    check.keys(value, ("ja", "en"), pointer)
    message = dict(DEFAULT_MESSAGE)
    for lang in ("ja", "en"):
        text = value.get(lang)
        if text is None:
            continue
        if not isinstance(text, str) or len(text) > 2000:
            check.add(f"{pointer}/{lang}", "a message template is a string of at most 2000 characters")
            continue
        reason = _template_problems(text)
        if reason:
            check.add(f"{pointer}/{lang}", reason)
        message[lang] = text
    return message


def _id_list(value: Any, pointer: str, check: Checker) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v and len(v) <= 200 for v in value):
        check.add(pointer, "a list of twin ids")
        return ()
    if len(value) > 10_000:
        check.add(pointer, "at most 10000 twins; use twinModel (with a scope) for more")
        return ()
    return tuple(value)


def _scope(value: Any, pointer: str, check: Checker) -> Scope | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in ("within", "near"):
        check.add(pointer, 'scope is {"within": "<zone twin id>"} or {"near": {"point": [lon, lat], "distanceM": m}}')
        return None
    if "within" in value:
        zone = value["within"]
        if not isinstance(zone, str) or not zone or len(zone) > 200:
            check.add(f"{pointer}/within", "within is the id of a zone twin with a Polygon or MultiPolygon geometry")
            return None
        return Scope(within=zone)
    near = value["near"]
    if not isinstance(near, Mapping):
        check.add(f"{pointer}/near", 'near is {"point": [lon, lat], "distanceM": 500}')
        return None
    check.keys(near, ("point", "distanceM"), f"{pointer}/near")
    distance = check.number(near, "distanceM", f"{pointer}/near", 0.0, 20_037_509.0)
    if "distanceM" not in near:
        check.add(f"{pointer}/near/distanceM", "distanceM is the radius in metres")
    try:
        point = point_from_literal(near.get("point"))
    except ValueError as exc:
        check.add(f"{pointer}/near/point", f"point is {exc}")
        return None
    return None if distance is None else Scope(point=point, distance_m=distance)


def _area(value: Any, pointer: str, check: Checker, scope: Scope | None) -> AreaSpec:
    default_zone = scope.within if scope is not None else None
    if value is None:
        return AreaSpec(zone=default_zone)
    if not isinstance(value, Mapping):
        check.add(pointer, 'area is {"relationship": name}, {"zone": id} and/or {"twins": [ids]}')
        return AreaSpec()
    check.keys(value, ("relationship", "zone", "twins"), pointer)
    relationship = check.text(value, "relationship", pointer)
    zone = check.text(value, "zone", pointer)
    twins = _id_list(value["twins"], f"{pointer}/twins", check) if "twins" in value else ()
    return AreaSpec(relationship=relationship, zone=zone or (None if relationship else default_zone), twins=twins)


def _recommend(value: Any, pointer: str, check: Checker) -> Recommend | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        check.add(pointer, 'recommend is {"command": name, "payload": …, "twin": id | "{twin}", "relationship"?}')
        return None
    check.keys(value, ("command", "payload", "twin", "relationship"), pointer)
    command = check.text(value, "command", pointer, required=True)
    twin = check.text(value, "twin", pointer) or "{twin}"
    relationship = check.text(value, "relationship", pointer)
    if "twin" in value and relationship is not None:
        check.add(pointer, "give 'twin' or 'relationship', not both")
    fields = {f for _, f, _, _ in _safe_parse(twin) if f is not None}
    if not fields <= {"twin", "zone"}:
        check.add(f"{pointer}/twin", "twin is a twin id; it may use {twin} or {zone}")
    return None if command is None else Recommend(command, value.get("payload"), twin, relationship)


def _safe_parse(template: str) -> list[tuple[str, str | None, str | None, str | None]]:
    try:
        return list(string.Formatter().parse(template))
    except ValueError:
        return [("", "?", None, None)]


def parse_rule(name: str, body: Any, pointer: str = "") -> Rule:
    """Check a rule description; every problem is reported at once, each with its JSON pointer (under ``pointer``)."""
    check = Checker()
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        check.add(
            pointer or "/name", "a rule name is 1–64 letters, digits, '_', '.', '-' (starting with a letter/digit)"
        )
    if not isinstance(body, Mapping):
        raise InvalidInput([*check.problems, Problem(pointer or "/", "a rule is a JSON object")])
    check.keys(body, RULE_KEYS, pointer)
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > 4000:
        check.add(f"{pointer}/description", "description is a string")
        description = ""
    severity = body.get("severity", "warning")
    if severity not in SEVERITIES:
        check.add(f"{pointer}/severity", f"severity is one of {', '.join(SEVERITIES)}")
        severity = "warning"
    twins = _id_list(body["twins"], f"{pointer}/twins", check) if "twins" in body else ()
    twin_model = check.text(body, "twinModel", pointer)
    if twin_model is not None and not twin_model.startswith("dtmi:"):
        check.add(f"{pointer}/twinModel", "twinModel is a DTMI, e.g. dtmi:futago:demo:RiverStation;1")
    if ("twins" in body) == ("twinModel" in body):
        check.add(pointer or "/", "give the target: 'twins' (a list of ids) or 'twinModel' (every twin of a model)")
    scope = _scope(body.get("scope"), f"{pointer}/scope", check)
    leaves: list[Leaf] = []
    when = parse_condition(body.get("when"), f"{pointer}/when", check, leaves) if "when" in body else None
    if "when" not in body:
        check.add(f"{pointer}/when", "when is the condition, e.g. {threshold: {telemetry: waterLevel, above: 4}}")
    for_us = check.duration(body, "for", pointer) or 0
    message = _message(body.get("message"), f"{pointer}/message", check)
    suppress = check.duration(body, "suppress", pointer) or 0
    escalate = check.duration(body, "escalateAfter", pointer)
    area = _area(body.get("area"), f"{pointer}/area", check, scope)
    recommend = _recommend(body.get("recommend"), f"{pointer}/recommend", check)
    flags = {}
    for key, default in (("autoResolve", True), ("enabled", True)):
        flags[key] = body.get(key, default)
        if not isinstance(flags[key], bool):
            check.add(f"{pointer}/{key}", f"{key} is true or false")
    if check.problems or when is None:
        raise InvalidInput(check.problems or [Problem(f"{pointer}/when", "a condition is required")])
    return Rule(
        name=name,
        when=when,
        leaves=tuple(leaves),
        severity=severity,
        description=description,
        twins=frozenset(twins),
        twin_model=twin_model,
        scope=scope,
        for_us=for_us,
        message=message,
        suppress_us=suppress,
        escalate_after_us=escalate,
        area=area,
        recommend=recommend,
        auto_resolve=bool(flags["autoResolve"]),
        enabled=bool(flags["enabled"]),
        raw=dict(body),
    )


def load_rule_file(path: str | Path) -> dict[str, Rule]:
    """Rules from a YAML (or JSON) file shaped ``rules: {name: {...}}``; problems point into the file's document."""
    import yaml

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput([Problem("", f"cannot read the rules file {path}: {exc}")]) from exc
    except yaml.YAMLError as exc:
        raise InvalidInput([Problem("", f"{path} is not valid YAML: {exc}")]) from exc
    if not isinstance(document, Mapping) or not isinstance(document.get("rules"), Mapping):
        raise InvalidInput([Problem("/rules", f"{path}: the file holds 'rules:' mapping names to rules")])
    rules: dict[str, Rule] = {}
    problems: list[Problem] = []
    for name, body in document["rules"].items():
        try:
            rules[str(name)] = parse_rule(str(name), body, f"/rules/{escape_pointer_token(str(name))}")
        except InvalidInput as exc:
            problems += exc.problems
    if problems:
        raise InvalidInput(f"{path}: " + "; ".join(str(p) for p in problems[:5]), problems)
    return rules
