"""Privacy budgets per dataset and what each release spent: the check and the spend are one transaction,
so that two releases at once cannot both fit into what is left."""

from __future__ import annotations

import orjson

from futago.core.errors import Conflict, NotFound
from futago.core.privacy import PrivacyBudget, PrivacySpend
from futago.core.problems import Problem
from futago.store.sql.db import Database

_SLACK = 1e-12  # float sums: 0.1 + 0.2 must fit a budget of 0.3


class SqlPrivacy:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set_privacy_budget(self, dataset: str, epsilon: float, delta: float) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO privacy_budgets (dataset, epsilon, delta) VALUES (?, ?, ?) "
                "ON CONFLICT (dataset) DO UPDATE SET epsilon = excluded.epsilon, delta = excluded.delta",
                (dataset, epsilon, delta),
            )

    def privacy_budget(self, dataset: str) -> PrivacyBudget | None:
        conn = self.db.read()
        row = conn.execute("SELECT epsilon, delta FROM privacy_budgets WHERE dataset = ?", (dataset,)).fetchone()
        if row is None:
            return None
        spent = conn.execute(
            "SELECT COALESCE(SUM(epsilon), 0), COALESCE(SUM(delta), 0), COUNT(*) FROM privacy_spends WHERE dataset = ?",
            (dataset,),
        ).fetchone()
        return PrivacyBudget(dataset, row[0], row[1], spent[0], spent[1], spent[2])

    def spend_privacy(self, dataset: str, epsilon: float, delta: float, spend: PrivacySpend) -> None:
        with self.db.write() as conn:
            # The budget's row lock makes concurrent spends of one dataset (several processes on PostgreSQL) wait
            # for each other, so each sums the spends the others committed before it: they cannot both fit.
            budget = conn.execute(
                f"SELECT epsilon, delta FROM privacy_budgets WHERE dataset = ?{self.db.for_update}", (dataset,)
            ).fetchone()
            if budget is None:
                raise NotFound(f"dataset '{dataset}' has no privacy budget; an administrator sets one first")
            spent_e, spent_d = conn.execute(
                "SELECT COALESCE(SUM(epsilon), 0), COALESCE(SUM(delta), 0) FROM privacy_spends WHERE dataset = ?",
                (dataset,),
            ).fetchone()
            problems = []
            if spent_e + epsilon > budget[0] + _SLACK:
                problems.append(
                    Problem("/epsilon", f"ε {epsilon} would exceed the budget: {budget[0] - spent_e:.6g} left")
                )
            if spent_d + delta > budget[1] + _SLACK:
                left = budget[1] - spent_d
                problems.append(Problem("/delta", f"δ {delta} would exceed the budget: {left:.6g} left"))
            if problems:
                raise Conflict(f"the privacy budget of '{dataset}' does not cover this release", problems)
            conn.execute(
                "INSERT INTO privacy_spends (dataset, epsilon, delta, record) VALUES (?, ?, ?, ?)",
                (dataset, epsilon, delta, orjson.dumps(spend.to_json()).decode()),
            )
