"""Sensor data quality: the IOOS QARTOD tests, in batch and reading by reading.

Flags are QARTOD codes (1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing) with the same
semantics as ``ioos_qc.qartod``; the property tests in ``tests/quality`` hold futago to it.
"""

from futago.quality.batch import QcResult, run_batch
from futago.quality.calibration import Calibration, CalibrationBook, CalibrationChange
from futago.quality.config import (
    FlatLineConfig,
    GrossRangeConfig,
    QcConfig,
    RateOfChangeConfig,
    SpikeConfig,
    TimeSanityConfig,
    TimingConfig,
)
from futago.quality.drift import DRIFT_METHODS, Cusum, DriftAlarm, PageHinkley, residuals_against
from futago.quality.flags import QartodFlag, aggregate, aggregate_one
from futago.quality.gapfill import fill_gaps
from futago.quality.qartod import (
    flat_line_test,
    gross_range_test,
    median_interval_s,
    rate_of_change_test,
    spike_test,
)
from futago.quality.streaming import QcReading, StreamingQc
from futago.quality.timing import missing_timestamps, time_sanity_test

__all__ = [
    "DRIFT_METHODS",
    "Calibration",
    "CalibrationBook",
    "CalibrationChange",
    "Cusum",
    "DriftAlarm",
    "FlatLineConfig",
    "GrossRangeConfig",
    "PageHinkley",
    "QartodFlag",
    "QcConfig",
    "QcReading",
    "QcResult",
    "RateOfChangeConfig",
    "SpikeConfig",
    "StreamingQc",
    "TimeSanityConfig",
    "TimingConfig",
    "aggregate",
    "aggregate_one",
    "fill_gaps",
    "flat_line_test",
    "gross_range_test",
    "median_interval_s",
    "missing_timestamps",
    "rate_of_change_test",
    "residuals_against",
    "run_batch",
    "spike_test",
    "time_sanity_test",
]
