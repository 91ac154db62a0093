"""PrivacyStore contract: a budget per dataset, and spends that never exceed it, for every adapter."""

from __future__ import annotations

import pytest

from futago.core.errors import Conflict, NotFound
from futago.core.ports import PrivacyStore
from futago.core.privacy import PrivacyBudget, PrivacySpend


def _by(who: str) -> PrivacySpend:
    return PrivacySpend(who, "1km", 5, "laplace")


def test_spends_add_up_within_the_budget_and_one_beyond_it_records_nothing(store: PrivacyStore) -> None:
    store.set_privacy_budget("health", 1.0, 1e-5)
    store.spend_privacy("health", 0.1, 0.0, _by("user:mean-heart-rate"))
    store.spend_privacy("health", 0.2, 1e-6, _by("user:count"))
    store.spend_privacy("health", 0.7, 0.0, _by("user:exactly-what-is-left"))  # 0.1 + 0.2 + 0.7 fits 1.0
    with pytest.raises(Conflict) as refused:
        store.spend_privacy("health", 0.01, 0.0, _by("user:one-too-many"))
    assert [p.pointer for p in refused.value.problems] == ["/epsilon"]
    budget = store.privacy_budget("health")
    assert budget is not None
    assert budget.dataset == "health" and budget.epsilon == 1.0 and budget.delta == 1e-5
    assert budget.spent_epsilon == pytest.approx(1.0) and budget.spent_delta == pytest.approx(1e-6)
    assert budget.releases == 3


def test_a_budget_is_set_again_and_a_dataset_without_one_cannot_spend(store: PrivacyStore) -> None:
    assert store.privacy_budget("none") is None
    with pytest.raises(NotFound):
        store.spend_privacy("none", 0.1, 0.0, _by("user:a"))
    store.set_privacy_budget("d", 0.5, 0.0)
    store.set_privacy_budget("d", 2.0, 0.0)
    with pytest.raises(Conflict) as refused:
        store.spend_privacy("d", 0.1, 0.1, _by("user:a"))
    assert [p.pointer for p in refused.value.problems] == ["/delta"]
    budget = store.privacy_budget("d")
    assert budget == PrivacyBudget("d", 2.0, 0.0, 0, 0, 0)
