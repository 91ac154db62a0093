"""Every model futago ships passes every shared check (see ``checks.py``)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import futago.analytics
import futago.sim
from futago.analytics.protocol import Detector, Forecaster, Model
from futago.sim.simulator import Simulator
from tests.analytics import cases as cases_package
from tests.analytics.checks import CHECKS, Case


def _all_cases() -> list[Case]:
    found: list[Case] = []
    for info in pkgutil.iter_modules(cases_package.__path__):
        module = importlib.import_module(f"{cases_package.__name__}.{info.name}")
        found.extend(module.CASES)
    return found


def _shipped_models() -> set[type[Model]]:
    for package in (futago.analytics, futago.sim):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(info.name)
    seen: set[type[Model]] = set()
    stack: list[type[Model]] = [Model]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    abstract = {Detector, Forecaster, Simulator}
    return {
        cls
        for cls in seen
        if cls not in abstract and cls.__module__.startswith("futago.") and not cls.__name__.startswith("_")
    }


CASES = _all_cases()


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_model_passes_check(case: Case, check) -> None:  # type: ignore[no-untyped-def]
    check(case)


def test_every_shipped_model_has_a_case() -> None:
    covered = {type(case.make()) for case in CASES}
    missing = sorted(cls.__qualname__ for cls in _shipped_models() - covered)
    assert not missing, f"models without a protocol case in tests/analytics/cases/: {missing}"
