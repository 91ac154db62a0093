"""Remaining useful life of degrading equipment: history features, regressors and the PHM08 score.

Typical use on a twin whose telemetry history ``history`` (rows = cycles, columns = sensors) ends now::

    features = DegradationFeatures().fit(fleet_history, groups=fleet_units)
    model = GradientBoostingRUL().fit(features.transform(fleet_history, fleet_units),
                                      run_to_failure_rul(fleet_units, len(fleet_units)))
    cycles_left = model.predict(features.transform_last(history))[0]

or, as one model that a twin behaviour's ``artifact`` can hold (raw sensor rows in, RUL per row out)::

    pipeline = RULPipeline().fit(fleet_history, fleet_rul)   # runs inferred where the RUL target rises
    cycles_left = pipeline.predict(history)[-1]
"""

from futago.analytics.rul.features import DegradationFeatures, rolling_mean_slope, run_to_failure_rul, unit_runs
from futago.analytics.rul.pipeline import RULPipeline, runs_from_target
from futago.analytics.rul.regressors import DEFAULT_CAP, GradientBoostingRUL, RidgeRUL
from futago.analytics.rul.score import phm08_score

__all__ = [
    "DEFAULT_CAP",
    "DegradationFeatures",
    "GradientBoostingRUL",
    "RULPipeline",
    "RidgeRUL",
    "phm08_score",
    "rolling_mean_slope",
    "run_to_failure_rul",
    "runs_from_target",
    "unit_runs",
]
