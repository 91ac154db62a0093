"""A dataset's differential-privacy budget, and what one release spent of it.

They live in core because the privacy store's port (``core.ports.PrivacyStore``) takes and gives them; the
mathematics is ``futago.security.privacy``'s and the release use case ``futago.services.privacy_release``'s. A
budget's JSON is what ``/privacy/budgets/{dataset}`` answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from futago.core.records import JsonRecord


@dataclass(frozen=True, slots=True)
class PrivacyBudget(JsonRecord):
    """The total (ε, δ) of a dataset, and the sums of what its releases spent."""

    dataset: str
    epsilon: float
    delta: float
    spent_epsilon: float = 0.0
    spent_delta: float = 0.0
    releases: int = 0


@dataclass(frozen=True, slots=True)
class PrivacySpend(JsonRecord):
    """Who spent from a budget, and on what release: kept beside the (ε, δ) spent, so that a spend is accounted
    for. ε and δ are not part of it: the store sums them, and they are given to ``spend_privacy`` apart."""

    by: str
    mesh: str | None = None  # the JIS X 0410 level counted on, e.g. "1km"
    k: int | None = None  # the k-anonymity threshold
    mechanism: str | None = None  # laplace, gaussian
