"""The shared metrics against values worked out by hand (and against scikit-learn/NumPy where they agree)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import r2_score

from futago.analytics import metrics
from futago.analytics.metrics import interval_coverage, kge, mae, mape, nse, pearson_r, r2, rmse, summary
from futago.core.errors import InvalidInput

Y = [1.0, 2.0, 3.0, 4.0]
P = [1.0, 3.0, 2.0, 6.0]  # errors 0, 1, -1, 2


def test_rmse_and_mae_by_hand() -> None:
    assert rmse(Y, P) == pytest.approx(math.sqrt((0 + 1 + 1 + 4) / 4))
    assert mae(Y, P) == pytest.approx((0 + 1 + 1 + 2) / 4)
    assert rmse(Y, Y) == 0.0 and mae(Y, Y) == 0.0


def test_mape_is_in_percent_and_skips_zero_truths() -> None:
    # |2-1|/2 = 0.5 and |4-5|/4 = 0.25; the pair with truth 0 is skipped
    assert mape([2.0, 0.0, 4.0], [1.0, 5.0, 5.0]) == pytest.approx(37.5)
    assert math.isnan(mape([0.0, 0.0], [1.0, 2.0]))


def test_nse_and_r2_reference_points() -> None:
    truth = np.array([3.0, 5.0, 2.0, 8.0, 7.0])
    assert nse(truth, truth) == 1.0
    assert nse(truth, np.full(5, truth.mean())) == pytest.approx(0.0, abs=1e-12)
    assert nse(truth, truth.mean() + 2 * (truth - truth.mean())) == pytest.approx(0.0, abs=1e-12)
    # SS_res = 1, SS_tot = 2
    assert r2([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]) == pytest.approx(0.5)
    assert r2(Y, P) == pytest.approx(r2_score(Y, P))
    assert r2(Y, P) == nse(Y, P)
    assert math.isnan(nse([2.0, 2.0], [2.0, 2.0]))  # constant truth: undefined


def test_pearson_r() -> None:
    assert pearson_r(Y, [2 * v + 1 for v in Y]) == pytest.approx(1.0)
    assert pearson_r(Y, [-v for v in Y]) == pytest.approx(-1.0)
    assert pearson_r(Y, P) == pytest.approx(np.corrcoef(Y, P)[0, 1])
    assert math.isnan(pearson_r(Y, [1.0] * 4))


def test_kge_by_hand() -> None:
    truth = np.array([1.0, 3.0, 2.0, 6.0])
    assert kge(truth, truth) == pytest.approx(1.0)
    # doubling: r = 1, alpha = 2, beta = 2
    assert kge(truth, 2 * truth) == pytest.approx(1 - math.sqrt(2))
    # an offset: r = 1, alpha = 1, beta = (3 + 1.5) / 3 = 1.5
    assert kge(truth, truth + 1.5) == pytest.approx(0.5)
    assert math.isnan(kge([-1.0, 1.0], [0.0, 1.0]))  # zero mean truth: beta undefined


def test_interval_coverage_bounds_inclusive() -> None:
    y = [1.0, 2.0, 3.0, 4.0]
    assert interval_coverage(y, [0.0, 2.0, 3.5, 5.0], [2.0, 2.0, 4.0, 6.0]) == pytest.approx(0.5)


def test_nan_pairs_are_ignored() -> None:
    assert rmse([1.0, np.nan, 3.0, 5.0], [1.0, 5.0, np.nan, 7.0]) == pytest.approx(math.sqrt(2.0))
    assert math.isnan(mae([np.nan], [1.0]))  # nothing left
    assert interval_coverage([1.0, np.nan, 3.0], [0.0, 0.0, np.nan], [2.0, 2.0, 4.0]) == 1.0


@pytest.mark.parametrize("function", [rmse, mae, mape, r2, nse, pearson_r, kge])
def test_length_mismatch_and_text_are_refused(function) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput):
        function([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(InvalidInput):
        function(["a", "b"], [1.0, 2.0])


def test_interval_coverage_length_mismatch() -> None:
    with pytest.raises(InvalidInput):
        interval_coverage([1.0, 2.0], [0.0, 0.0], [3.0])


def test_summary_keys_and_values() -> None:
    result = summary(Y, P)
    assert list(result) == ["rmse", "mae", "mape", "r2", "pearson_r", "nse", "kge"]
    assert result["rmse"] == rmse(Y, P) and result["kge"] == kge(Y, P)
    with_bounds = summary(Y, P, lower=[0, 0, 0, 0], upper=[1, 1, 5, 5])
    assert with_bounds["coverage"] == pytest.approx(0.75)
    with pytest.raises(InvalidInput):
        summary(Y, P, lower=[0, 0, 0, 0])
    with pytest.raises(InvalidInput):
        summary(Y, P, lower=[0, 0, 0], upper=[1, 1, 1])


def test_accepts_pandas_and_2d_columns() -> None:
    pandas = pytest.importorskip("pandas")
    assert rmse(pandas.Series(Y), np.asarray(P).reshape(-1, 1)) == pytest.approx(rmse(Y, P))
    assert set(metrics.__all__) >= {"rmse", "mae", "mape", "r2", "pearson_r", "nse", "kge", "summary"}
