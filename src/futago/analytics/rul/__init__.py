"""Remaining useful life of degrading equipment: history features, regressors and the PHM08 score.

Typical use on a twin whose telemetry history ``history`` (rows = cycles, columns = sensors) ends now::

    features = DegradationFeatures().fit(fleet_history, groups=fleet_units)
    model = GradientBoostingRUL().fit(features.transform(fleet_history, fleet_units),
                                      run_to_failure_rul(fleet_units, len(fleet_units)))
    cycles_left = model.predict(features.transform_last(history))[0]
"""

from futago.analytics.rul.features import DegradationFeatures, rolling_mean_slope, run_to_failure_rul, unit_runs
from futago.analytics.rul.regressors import DEFAULT_CAP, GradientBoostingRUL, RidgeRUL
from futago.analytics.rul.score import phm08_score

__all__ = [
    "DEFAULT_CAP",
    "DegradationFeatures",
    "GradientBoostingRUL",
    "RidgeRUL",
    "phm08_score",
    "rolling_mean_slope",
    "run_to_failure_rul",
    "unit_runs",
]
