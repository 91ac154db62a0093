"""The shared check suite every futago model passes, in the manner of scikit-learn's ``check_estimator``.

A model module's test cases live in ``tests/analytics/cases/<module>.py`` as ``CASES = [Case(...)]``;
``test_protocol.py`` runs every check below over every case, and fails when a ``Model`` subclass that
futago ships has no case.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from futago.analytics.protocol import Model, NotFittedError
from futago.core.errors import InvalidInput


@dataclass(frozen=True)
class Case:
    """One model to check: how to build it and data it can learn (``y`` None for unsupervised models).

    ``X_test`` defaults to ``X``. ``streaming_tolerance``: when the model is tagged streaming, how close the
    predictions of a model fed row by row with ``learn_one`` come to those of the batch ``fit`` (relative,
    on the last quarter of ``X``); None skips that comparison where online and batch honestly differ.
    """

    id: str
    make: Callable[[], Model]
    X: np.ndarray
    y: np.ndarray | None = None
    X_test: np.ndarray | None = None
    streaming_tolerance: float | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def test_X(self) -> np.ndarray:
        return self.X if self.X_test is None else self.X_test


def _fit(case: Case) -> Model:
    return case.make().fit(case.X, case.y)


def check_params_roundtrip(case: Case) -> None:
    model = case.make()
    params = model.get_params()
    assert set(params) == set(model.param_names())
    twin = model.clone()
    assert type(twin) is type(model) and twin is not model
    assert twin.get_params().keys() == params.keys()
    assert not twin.is_fitted, "clone must be unfitted"
    with pytest.raises(InvalidInput):
        model.set_params(no_such_parameter_anywhere=1)


def check_init_does_no_work(case: Case) -> None:
    model = case.make()
    assert not model.is_fitted, "__init__ must not learn anything (no attribute ending in '_')"


def check_fit_returns_self_and_predicts_shape(case: Case) -> None:
    model = case.make()
    assert model.fit(case.X, case.y) is model
    assert model.is_fitted
    out = model.predict(case.test_X)
    assert isinstance(out, np.ndarray) and out.ndim == 1
    assert out.shape[0] == np.asarray(case.test_X).shape[0]
    assert np.isfinite(out).all()


def check_not_fitted(case: Case) -> None:
    model = case.make()
    if not model.tags.get("requires_fit", True):
        return
    with pytest.raises(NotFittedError):
        model.predict(case.test_X)


def check_deterministic(case: Case) -> None:
    if not case.make().tags.get("deterministic", True):
        return
    a = _fit(case).predict(case.test_X)
    b = _fit(case).predict(case.test_X)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def check_does_not_mutate_input(case: Case) -> None:
    X = np.array(case.X, dtype=np.float64, copy=True)
    y = None if case.y is None else np.array(case.y, dtype=np.float64, copy=True)
    model = case.make().fit(X, y)
    model.predict(X)
    np.testing.assert_array_equal(X, case.X)
    if y is not None:
        np.testing.assert_array_equal(y, case.y)


def check_rejects_bad_input(case: Case) -> None:
    model = _fit(case)
    X = np.asarray(case.test_X, dtype=np.float64)
    with pytest.raises(InvalidInput):
        model.predict([["not a number"] * max(X.shape[1], 1)])
    if X.shape[1] > 0:
        with pytest.raises(InvalidInput):
            model.predict(np.zeros((X.shape[0], X.shape[1] + 1)))
    if not model.tags.get("allow_nan", False) and X.shape[1] > 0:
        bad = X.copy()
        bad[0, 0] = np.nan
        with pytest.raises(InvalidInput):
            model.predict(bad)
    if model.tags.get("needs_y", True):
        with pytest.raises(InvalidInput):
            case.make().fit(case.X, None)


def check_pickles(case: Case) -> None:
    """Dask ships models between processes, so a fitted model must survive pickling unchanged."""
    model = _fit(case)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(model.predict(case.test_X), again.predict(case.test_X), rtol=1e-9, atol=1e-12)


def check_predict_one_matches_predict(case: Case) -> None:
    """The streaming answer for a row equals the batch answer for that row, for stateless models; stateful
    simulators and forecasters are compared step by step from the same fitted state."""
    model = _fit(case)
    X = np.asarray(case.test_X, dtype=np.float64)
    rows = X[: min(len(X), 25)]
    batch = model.predict(rows)
    fresh = _fit(case)
    one = np.array([fresh.predict_one(row) for row in rows])
    np.testing.assert_allclose(one, batch, rtol=1e-6, atol=1e-9)


def check_streaming(case: Case) -> None:
    model = case.make()
    if not model.tags.get("streaming", False):
        with pytest.raises(NotImplementedError):
            model.learn_one(np.asarray(case.X)[0], None if case.y is None else float(case.y[0]))
        return
    X = np.asarray(case.X, dtype=np.float64)
    for i, row in enumerate(X):
        model.learn_one(row, None if case.y is None else float(case.y[i]))
    assert model.is_fitted
    value = model.predict_one(np.asarray(case.test_X)[0])
    assert np.isfinite(value)
    if case.streaming_tolerance is not None:
        quarter = max(1, len(X) // 4)
        tail = np.asarray(case.test_X, dtype=np.float64)[-quarter:]
        online = model.predict(tail)
        batch = _fit(case).predict(tail)
        scale = max(float(np.max(np.abs(batch))), 1e-9)
        assert float(np.max(np.abs(online - batch))) / scale <= case.streaming_tolerance


def check_describe(case: Case) -> None:
    info = case.make().describe()
    assert info["name"] and info["version"] and info["kind"] in {"detector", "forecaster", "regressor", "simulator"}
    assert isinstance(info["params"], dict)


def check_near_constant_training_keeps_scores_readable(case: Case) -> None:
    """A detector learned on a window in which every column barely moves (a settled controller output: levels
    from 0.1 to 350 with jitter of 1e-9) still scores the normal continuation below 1, and a shift of 5 % of
    each level as a readable multiple of its threshold: above 1, never the billions a learned scale of 1e-9
    would give. Detectors only."""
    model = case.make()
    if model.kind != "detector":
        return
    n_columns = np.asarray(case.X).shape[1]
    levels = np.resize([350.0, 10.0, 0.1], n_columns)
    rng = np.random.default_rng(3)
    train = levels + 1e-9 * rng.normal(size=(400, n_columns))
    normal = levels + 1e-9 * rng.normal(size=(60, n_columns))
    shifted = levels * 1.05 + 1e-9 * rng.normal(size=(40, n_columns))
    model.fit(train)
    ratio = model.score(np.vstack([normal, shifted])) / model.threshold_
    assert np.all(np.isfinite(ratio))
    assert np.mean(ratio[: len(normal)] > 1.0) <= 0.05, "false alarms on the unchanged continuation"
    assert ratio[len(normal) :].max() > 1.0, "a 5 % shift must be seen"
    assert ratio.max() <= 1e3, f"scores exploded: {ratio.max():.3g} × the threshold"


CHECKS = [
    check_params_roundtrip,
    check_init_does_no_work,
    check_fit_returns_self_and_predicts_shape,
    check_not_fitted,
    check_deterministic,
    check_does_not_mutate_input,
    check_rejects_bad_input,
    check_pickles,
    check_predict_one_matches_predict,
    check_streaming,
    check_describe,
    check_near_constant_training_keeps_scores_readable,
]
