"""Telemetry readings, in the columnar form the store and the analytics share.

A reading is (twin id, telemetry name, timestamp, value, quality flag). Timestamps are
integers: microseconds since the Unix epoch, UTC. Quality flags are QARTOD codes
(1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

QUALITY_PASS = 1
QUALITY_NOT_EVALUATED = 2
QUALITY_SUSPECT = 3
QUALITY_FAIL = 4
QUALITY_MISSING = 9

# How a series' values are held: numeric kinds as numpy arrays, everything else as JSON values.
ValueKind = Literal["f8", "i8", "b1", "json"]


class Reading(NamedTuple):
    """One timestamped value of one telemetry of one twin."""

    twin_id: str
    name: str
    ts: int  # microseconds since the epoch, UTC
    value: Any
    quality: int = QUALITY_NOT_EVALUATED


@dataclass(slots=True)
class SeriesBatch:
    """Readings of one series (twin, telemetry), in any time order, possibly with repeats."""

    twin_id: str
    name: str
    kind: ValueKind
    ts: npt.NDArray[np.int64]
    values: npt.NDArray[Any] | list[Any]
    quality: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(slots=True)
class SeriesData:
    """Readings of one series read back from the store: sorted by time, one per timestamp."""

    kind: ValueKind
    ts: npt.NDArray[np.int64]
    values: npt.NDArray[Any] | list[Any]
    quality: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.ts)


class LatestReading(NamedTuple):
    ts: int
    value: Any
    quality: int
