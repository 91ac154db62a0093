"""The time axis of a forecaster: from row positions to timestamps, and from timestamps to calendar features.

Forecasters see one row per regular time step (the protocol's shape rule), so the axis is fully described by
the timestamp of the first row and the step between rows. ``fit(..., timestamps=...)`` learns both; the
future is then ``start + step × position`` and needs no timestamps from the caller at predict time, which
keeps ``predict(np.empty((h, 0)))`` an ``h``-step forecast for every model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from futago.core.errors import InvalidInput
from futago.core.problems import Problem

if TYPE_CHECKING:
    from futago.analytics.protocol import FloatArray

#: Column names of ``calendar_features``, in order.
CALENDAR_COLUMNS: tuple[str, ...] = ("hour", "weekday", "yearday", "month")


def as_datetimes(timestamps: ArrayLike) -> NDArray[np.datetime64]:
    """Timestamps as ``datetime64[ns]``: ISO strings, ``datetime`` objects, NumPy or naive pandas values.

    Time-zone-aware pandas values are refused on purpose: the calendar that drives demand (hour of day,
    weekday) is the site's local clock, so the caller decides which local time to pass.
    """
    try:
        return np.asarray(timestamps, dtype="datetime64[ns]").reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInput([Problem("/timestamps", f"timestamps must be naive local date-times ({exc})")]) from exc


def calendar_features(timestamps: ArrayLike) -> FloatArray:
    """One row per timestamp: fractional hour of day (0–24), weekday (Monday = 0), day of year (1–366), month.

    Trees split on these raw values well enough; no sine/cosine encoding is needed for gradient boosting.
    """
    stamps = as_datetimes(timestamps)
    days = stamps.astype("datetime64[D]")
    hour = (stamps - days) / np.timedelta64(1, "h")
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    yearday = (days - stamps.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1
    month = stamps.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return np.column_stack([hour, weekday, yearday, month]).astype(np.float64)


@dataclass(frozen=True)
class TimeAxis:
    """A regular time axis: row ``i`` of the history sits at ``start + i × step``."""

    start: np.datetime64
    step: np.timedelta64

    @classmethod
    def from_timestamps(cls, timestamps: ArrayLike, n_rows: int) -> TimeAxis:
        stamps = as_datetimes(timestamps)
        if stamps.shape[0] != n_rows:
            raise InvalidInput([Problem("/timestamps", f"{stamps.shape[0]} timestamps for {n_rows} rows")])
        if n_rows < 2:
            raise InvalidInput([Problem("/timestamps", "need at least two timestamps to know the time step")])
        if np.isnat(stamps).any():
            raise InvalidInput([Problem("/timestamps", "timestamps contain NaT")])
        steps = np.diff(stamps)
        if steps[0] <= np.timedelta64(0, "ns") or not (steps == steps[0]).all():
            raise InvalidInput(
                [Problem("/timestamps", "forecasters need one row per regular, increasing time step; resample first")]
            )
        return cls(start=stamps[0], step=steps[0])

    def at(self, positions: ArrayLike) -> NDArray[np.datetime64]:
        """Timestamps of the given row positions (0 = first row of the fitted history)."""
        index = np.asarray(positions, dtype=np.int64).reshape(-1)
        result: NDArray[np.datetime64] = self.start + index * self.step
        return result
