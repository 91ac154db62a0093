"""Which twins a rule's target includes: its ids, its model lineage, its place in a zone or near a point.

Worked out once per (rule, twin) and kept until a twin or model event says it may have changed, so a reading is
judged without a read of the store to find out whether its rule applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from futago.act.rules import Rule
from futago.core.errors import FutagoError
from futago.core.query.spatial import distance_function, within_test
from futago.core.twins import Relationship, Twin

log = logging.getLogger(__name__)

CACHE_LIMIT = 200_000  # twins whose lookups are kept; past it the caches start again (memory bound)


class TwinLookup(Protocol):
    def get_twin(self, twin_id: str) -> Twin | None: ...
    def list_relationships(self, source_id: str, name: str | None = None) -> list[Relationship]: ...


class RuleTargets:
    """The membership of twins in the targets of rules, with the twin, lineage and zone lookups behind it.

    Not thread-safe on its own: the service calls it under its lock.
    """

    def __init__(self, twins: TwinLookup, descendants: Callable[[str], Iterable[str]]) -> None:
        """``descendants(model)`` gives a model and every model extending it (a ``twinModel`` target includes
        sub-models)."""
        self.twins = twins
        self.descendants = descendants
        self._zones: set[str] = set()  # zone twins that some rule's scope depends on
        self._membership: dict[str, dict[str, bool]] = {}  # twin -> rule -> in the rule's target
        self._twin_cache: dict[str, Twin | None] = {}
        self._zone_tests: dict[str, Callable[[Any], bool | None] | None] = {}
        self._near_tests: dict[str, Callable[[Any], float | None]] = {}
        self._lineage: dict[str, frozenset[str]] = {}

    def reindex(self, rules: Iterable[Rule]) -> None:
        """The rules changed: every membership is worked out again."""
        self._zones = {r.scope.within for r in rules if r.scope is not None and r.scope.within}
        self._membership.clear()
        self._near_tests.clear()

    def forget_twin(self, twin_id: str) -> None:
        """A twin was created, updated or deleted: its lookups, and a zone's place tests, start again."""
        self._twin_cache.pop(twin_id, None)
        self._membership.pop(twin_id, None)
        if twin_id in self._zones:  # the zone moved: every twin's place in it may have changed
            self._zone_tests.pop(twin_id, None)
            self._membership.clear()

    def forget_graph(self) -> None:
        """A bulk change that announces no twin (models, a city import): every lookup starts again."""
        self._twin_cache.clear()
        self._membership.clear()
        self._zone_tests.clear()
        self._lineage.clear()

    def applies(self, rule: Rule, twin_id: str) -> bool:
        per_twin = self._membership.get(twin_id)
        if per_twin is None:
            if len(self._membership) > CACHE_LIMIT:
                self._membership.clear()
            per_twin = self._membership[twin_id] = {}
        found = per_twin.get(rule.name)
        if found is None:
            found = per_twin[rule.name] = self._in_target(rule, twin_id)
        return found

    def twin(self, twin_id: str) -> Twin | None:
        if twin_id in self._twin_cache:
            return self._twin_cache[twin_id]
        twin = self.twins.get_twin(twin_id)
        if len(self._twin_cache) > CACHE_LIMIT:
            self._twin_cache.clear()
        self._twin_cache[twin_id] = twin
        return twin

    def _in_target(self, rule: Rule, twin_id: str) -> bool:
        if rule.twins and twin_id not in rule.twins:
            return False
        if rule.twin_model is not None:
            twin = self.twin(twin_id)
            if twin is None or twin.model not in self._models_under(rule.twin_model):
                return False
        scope = rule.scope
        if scope is None:
            return True
        twin = self.twin(twin_id)
        if twin is None or twin.geometry is None:
            return False  # a twin without a place is in no zone and near nothing
        if scope.within is not None:
            test = self._zone_test(scope.within)
            return bool(test is not None and test(twin.geometry))
        assert scope.point is not None
        near = self._near_tests.get(rule.name)
        if near is None:
            near = self._near_tests[rule.name] = distance_function(list(scope.point))
        distance = near(twin.geometry)
        return distance is not None and distance <= scope.distance_m

    def _models_under(self, model: str) -> frozenset[str]:
        lineage = self._lineage.get(model)
        if lineage is None:
            try:
                lineage = frozenset(self.descendants(model))
            except (FutagoError, KeyError):  # a model not (or no longer) in the catalogue: its own twins only
                lineage = frozenset({model})
            self._lineage[model] = lineage
        return lineage

    def _zone_test(self, zone_id: str) -> Callable[[Any], bool | None] | None:
        if zone_id in self._zone_tests:
            return self._zone_tests[zone_id]
        zone = self.twin(zone_id)
        test = None
        if zone is not None and zone.geometry is not None:
            try:
                test = within_test(zone.geometry)
            except ValueError as exc:
                log.warning("zone twin %s has no usable area (%s); rules scoped to it match no twin", zone_id, exc)
        self._zone_tests[zone_id] = test
        return test
