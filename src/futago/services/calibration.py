"""Sensor calibration at ingest: calibrated values are stored, the raw ones kept beside them.

A reading inside a calibration's validity window is stored calibrated, and its raw value is
kept in the series ``<telemetry>~raw``. Adding, correcting or retiring a calibration recomputes
the stored values over the window it touches, from the raw values (a reading stored while no
calibration covered it is its own raw value). Every change is logged: who, when, why, and the
record before and after.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

import numpy as np

from futago.core.errors import InvalidInput
from futago.core.ports import CalibrationStore, TelemetryStore
from futago.core.problems import Problem
from futago.core.telemetry import QUALITY_NOT_EVALUATED, SeriesBatch, SeriesData
from futago.quality.calibration import Calibration, CalibrationBook, CalibrationChange, books_by_series

RAW_SUFFIX = "~raw"


class CalibratedSeriesStore(CalibrationStore, TelemetryStore, Protocol):
    """The roles calibration uses: the calibration records and their log, and the series it recomputes."""


class CalibrationService:
    def __init__(self, store: CalibratedSeriesStore) -> None:
        self.store = store
        self._books: dict[tuple[str, str], CalibrationBook] = books_by_series(store.list_calibrations())
        self._lock = threading.Lock()

    def book(self, twin_id: str, telemetry: str) -> CalibrationBook:
        return self._books.get((twin_id, telemetry)) or CalibrationBook(twin_id, telemetry)

    def changes(self, twin_id: str, telemetry: str) -> list[dict[str, Any]]:
        """The log of a series' calibration changes (add, correct, retire), oldest first, as JSON."""
        return [c.to_json() for c in self.store.list_calibration_changes(twin_id, telemetry)]

    def apply(self, batches: list[SeriesBatch]) -> list[SeriesBatch]:
        """Calibrate numeric batches in place; returns the raw-value batches to store beside them."""
        raw_batches: list[SeriesBatch] = []
        if not self._books:
            return raw_batches
        for batch in batches:
            book = self._books.get((batch.twin_id, batch.name))
            if book is None or batch.kind != "f8" or not book.records:
                continue
            covered = book.covered(batch.ts)
            if not covered.any():
                continue
            raw = np.asarray(batch.values, dtype=np.float64)
            raw_batches.append(
                SeriesBatch(
                    batch.twin_id,
                    batch.name + RAW_SUFFIX,
                    "f8",
                    batch.ts[covered],
                    raw[covered].copy(),
                    np.full(int(covered.sum()), QUALITY_NOT_EVALUATED, dtype=np.uint8),
                )
            )
            batch.values = book.apply(batch.ts, raw)
        return raw_batches

    def change(
        self,
        twin_id: str,
        telemetry: str,
        action: str,
        who: str,
        why: str,
        record: dict[str, Any] | None = None,
        calibration_id: str | None = None,
    ) -> CalibrationChange:
        """Add, correct or retire a calibration; store it, log it, recompute its window."""
        if not isinstance(why, str) or not why.strip():
            raise InvalidInput([Problem("/why", "say why the calibration changes (e.g. the certificate)")])
        now_us = time.time_ns() // 1000
        with self._lock:
            book = self.book(twin_id, telemetry)
            if action == "retire":
                assert calibration_id is not None
                new_book, change = book.retire(calibration_id, who=who, why=why, when_us=now_us)
            else:
                calibration = Calibration.from_json(
                    record or {}, twin_id=twin_id, telemetry=telemetry, default_id=calibration_id
                )
                if action == "correct":
                    new_book, change = book.correct(calibration, who=who, why=why, when_us=now_us)
                else:
                    new_book, change = book.add(calibration, who=who, why=why, when_us=now_us)
            self.store.save_calibrations(twin_id, telemetry, new_book.records, change)
            self._books[(twin_id, telemetry)] = new_book
            self._recompute(new_book, *change.window())
        return change

    def _recompute(self, book: CalibrationBook, start_us: int, end_us: int | None) -> None:
        """Rewrite the stored values in [start, end) from the raw values under the new book."""
        stored = self.store.read_series(book.twin_id, book.telemetry, start_us, end_us)
        if len(stored) == 0 or stored.kind != "f8":
            return
        kept = self.store.read_series(book.twin_id, book.telemetry + RAW_SUFFIX, start_us, end_us)
        raw = _merge_raw(stored, kept)
        ones = np.full(len(stored), QUALITY_NOT_EVALUATED, dtype=np.uint8)
        self.store.append_series(
            [
                SeriesBatch(book.twin_id, book.telemetry, "f8", stored.ts, book.apply(stored.ts, raw), stored.quality),
                SeriesBatch(book.twin_id, book.telemetry + RAW_SUFFIX, "f8", stored.ts, raw, ones),
            ]
        )

    def raw_values(
        self, data: SeriesData, twin_id: str, telemetry: str, start_us: int | None, end_us: int | None
    ) -> SeriesData:
        """The same readings with their raw (uncalibrated) values."""
        if data.kind != "f8":
            return data
        kept = self.store.read_series(twin_id, telemetry + RAW_SUFFIX, start_us, end_us)
        return SeriesData(data.kind, data.ts, _merge_raw(data, kept), data.quality)


def _merge_raw(stored: SeriesData, kept: SeriesData) -> np.ndarray:
    """Stored values with the kept raw value where one exists (elsewhere the stored one is raw)."""
    values = np.asarray(stored.values, dtype=np.float64).copy()
    if len(kept) and len(stored):
        where = np.searchsorted(stored.ts, kept.ts)
        inside = (where < len(stored.ts)) & (stored.ts[np.minimum(where, len(stored.ts) - 1)] == kept.ts)
        values[where[inside]] = np.asarray(kept.values, dtype=np.float64)[inside]
    return values
