"""Parsing a rule's ``when``: the condition tree (``all``/``any``/``not``) and each kind of leaf."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from futago.act.rules.leaves import (
    EXCEEDANCE_SUFFIX,
    FORECAST_SUFFIX,
    QARTOD_FLAGS,
    STAGES,
    Anomaly,
    Exceedance,
    Leaf,
    Quality,
    Rate,
    Threshold,
)
from futago.act.rules.rule import AllOf, AnyOf, LeafNode, Node, NotOf
from futago.core.problems import escape_pointer_token
from futago.core.validation import Checker

MAX_DEPTH = 12
MAX_LEAVES = 64


_COMMON_LEAF_KEYS = ("telemetry", "for", "minQuality")
_LEAF_KEYS = {
    "threshold": (*_COMMON_LEAF_KEYS, "above", "below", "clear", "within"),
    "rate": (*_COMMON_LEAF_KEYS, "per", "over", "above", "below", "clear"),
    "exceedance": (*_COMMON_LEAF_KEYS, "stage", "probability", "clear", "within"),
    "anomaly": (*_COMMON_LEAF_KEYS, "above", "clear"),
    "quality": ("telemetry", "for", "flag", "test", "stuck", "tolerance"),
}
_OPERATORS = ("all", "any", "not", *_LEAF_KEYS)


def _telemetry_name(check: Checker, body: Mapping[str, Any], pointer: str, default: str | None = None) -> str | None:
    value = body.get("telemetry", default)
    if not isinstance(value, str) or not value or len(value) > 200:
        check.add(f"{pointer}/telemetry", "telemetry is the name of a telemetry (or derived series) of the twin")
        return None
    return value


def _direction(check: Checker, body: Mapping[str, Any], pointer: str) -> tuple[float | None, float | None, float]:
    """``above`` or ``below`` (exactly one), and the ``clear`` level on the right side of it."""
    if ("above" in body) == ("below" in body):
        check.add(pointer, "give exactly one of 'above' or 'below'")
        return None, None, 0.0
    above, below = check.number(body, "above", pointer), check.number(body, "below", pointer)
    level = above if above is not None else below
    clear = check.number(body, "clear", pointer)
    if level is None or clear is None:
        return above, below, 0.0 if level is None else level
    if (above is not None and clear > above) or (below is not None and clear < below):
        side = "at or below 'above'" if above is not None else "at or above 'below'"
        check.add(f"{pointer}/clear", f"the clear (hysteresis) level must be {side}, or the rule could never clear")
    return above, below, clear


def _min_quality(check: Checker, body: Mapping[str, Any], pointer: str) -> int:
    value = body.get("minQuality", 3)
    if value not in QARTOD_FLAGS or isinstance(value, bool):
        check.add(f"{pointer}/minQuality", "minQuality is a QARTOD flag: 1, 2, 3, 4 or 9")
        return 3
    return int(value)


def _leaf(kind: str, body: Any, pointer: str, check: Checker) -> Leaf | None:
    if not isinstance(body, Mapping):
        check.add(pointer, f"a {kind} condition is an object")
        return None
    check.keys(body, _LEAF_KEYS[kind], pointer)
    for_us = check.duration(body, "for", pointer) or 0
    if kind == "anomaly":
        name = _telemetry_name(check, body, pointer, "anomalyScore")
        above = check.number(body, "above", pointer)
        above = 1.0 if above is None else above
        clear = check.number(body, "clear", pointer)
        if clear is not None and clear > above:
            check.add(f"{pointer}/clear", "the clear (hysteresis) level must be at or below 'above'")
        if name is None:
            return None
        return Anomaly(
            name, for_us, _min_quality(check, body, pointer), above=above, clear=above if clear is None else clear
        )
    name = _telemetry_name(check, body, pointer)
    if kind == "threshold":
        above, below, clear = _direction(check, body, pointer)
        within = check.duration(body, "within", pointer)
        if name is None or (above is None and below is None):
            return None
        leaf = Threshold(
            name, for_us, _min_quality(check, body, pointer), above=above, below=below, clear=clear, within_us=within
        )
        if within is not None and not leaf.forecast:
            check.add(f"{pointer}/within", f"'within' applies to forecast series (…{FORECAST_SUFFIX}) only")
        return leaf
    if kind == "rate":
        above, below, clear = _direction(check, body, pointer)
        per = check.duration(body, "per", pointer)
        if "per" not in body:
            check.add(f"{pointer}/per", 'per is the rate\'s time unit, e.g. "1h" for metres per hour')
        over = check.duration(body, "over", pointer)
        if name is None or per is None or (above is None and below is None):
            return None
        return Rate(
            name,
            for_us,
            _min_quality(check, body, pointer),
            per_us=per,
            over_us=over or per,
            above=above,
            below=below,
            clear=clear,
        )
    if kind == "exceedance":
        stage = body.get("stage")
        if stage is not None and stage not in STAGES:
            check.add(f"{pointer}/stage", f"stage is one of {', '.join(STAGES)}")
        probability = check.number(body, "probability", pointer, 0.0, 1.0)
        if "probability" not in body:
            check.add(f"{pointer}/probability", "probability is the level (0–1) at which the rule fires")
        clear = check.number(body, "clear", pointer, 0.0, 1.0)
        if clear is not None and probability is not None and clear > probability:
            check.add(f"{pointer}/clear", "the clear (hysteresis) probability must be at or below 'probability'")
        within = check.duration(body, "within", pointer)
        if name is None or probability is None:
            return None
        series = f"{name}{EXCEEDANCE_SUFFIX}~{stage}" if isinstance(stage, str) and stage in STAGES else name
        return Exceedance(
            series,
            for_us,
            _min_quality(check, body, pointer),
            probability=probability,
            clear=probability if clear is None else clear,
            stage=stage if isinstance(stage, str) else None,
            within_us=within,
        )
    # quality
    stuck = check.duration(body, "stuck", pointer)
    flag = body.get("flag")
    test = check.text(body, "test", pointer)
    tolerance = check.number(body, "tolerance", pointer, 0.0)
    if flag is not None and (flag not in QARTOD_FLAGS or isinstance(flag, bool)):
        check.add(f"{pointer}/flag", "flag is a QARTOD flag: 1, 2, 3, 4 or 9 (the condition holds at it or worse)")
    if "stuck" in body and ("flag" in body or "test" in body):
        check.add(pointer, "give either 'stuck' (a duration) or 'flag'/'test', not both")
    if "stuck" not in body and "tolerance" in body:
        check.add(f"{pointer}/tolerance", "tolerance goes with 'stuck'")
    if test is not None and not re.fullmatch(r"[A-Za-z0-9_]{1,64}", test):
        check.add(f"{pointer}/test", "test is a QARTOD test name, e.g. flat_line, spike or gross_range")
    if name is None:
        return None
    flag_value = int(flag) if flag in QARTOD_FLAGS and not isinstance(flag, bool) else 3
    return Quality(name, for_us, None, flag=flag_value, test=test, stuck_us=stuck, tolerance=tolerance or 0.0)


def parse_condition(body: Any, pointer: str, check: Checker, leaves: list[Leaf], depth: int = 0) -> Node | None:
    if depth > MAX_DEPTH:
        check.add(pointer, f"conditions nest at most {MAX_DEPTH} deep")
        return None
    if not isinstance(body, Mapping) or len(body) != 1:
        check.add(pointer, f"a condition is an object with one key: one of {', '.join(_OPERATORS)}")
        return None
    ((op, inner),) = body.items()
    here = f"{pointer}/{escape_pointer_token(str(op))}"
    if op in ("all", "any"):
        if not isinstance(inner, list) or not inner:
            check.add(here, f"'{op}' is a non-empty list of conditions")
            return None
        nodes = [parse_condition(c, f"{here}/{i}", check, leaves, depth + 1) for i, c in enumerate(inner[:MAX_LEAVES])]
        if len(inner) > MAX_LEAVES:
            check.add(here, f"at most {MAX_LEAVES} conditions")
        children = tuple(n for n in nodes if n is not None)
        if len(children) != len(nodes):
            return None
        return AllOf(children) if op == "all" else AnyOf(children)
    if op == "not":
        child = parse_condition(inner, here, check, leaves, depth + 1)
        return None if child is None else NotOf(child)
    if op not in _LEAF_KEYS:
        check.add(here, f"unknown condition; use one of {', '.join(_OPERATORS)}")
        return None
    if len(leaves) >= MAX_LEAVES:
        check.add(here, f"a rule has at most {MAX_LEAVES} leaf conditions")
        return None
    leaf = _leaf(str(op), inner, here, check)
    if leaf is None:
        return None
    leaf = _with_index(leaf, len(leaves))
    leaves.append(leaf)
    return LeafNode(leaf)


def _with_index(leaf: Leaf, index: int) -> Leaf:
    return replace(leaf, index=index)
