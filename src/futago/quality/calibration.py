"""Per-sensor calibration: the book of a series, and applying it to raw readings (the records, ``Calibration``
and ``CalibrationChange``, are ``futago.core.calibration``'s and re-exported here).

A calibration maps a sensor's raw value to the calibrated one, either linearly
(``gain × raw + offset``) or by a polynomial (coefficients lowest order first), over a
validity window ``[validFrom, validTo)`` (``validTo`` absent: still in force). The raw value
is always kept next to the calibrated one, because certificates get corrected after the fact:
adding, correcting or retiring a calibration means recomputing the calibrated values of its
window from raw, and `CalibrationBook.window_of` says which window that is.

The book is pure: it decides whether a change is allowed and what it is, and the caller stores
the new records and the `CalibrationChange` (who, when, why, before, after) together.

**Readings outside every window pass through unchanged.** Most series never get a calibration
and most sensors are installed before their first certificate arrives, so "uncalibrated"
is the normal state, not a fault: QARTOD has no flag for it, and turning such readings into
NaN or SUSPECT would flag good data. `CalibrationBook.covered` tells a caller which readings
did get a calibration, when it needs to know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from futago.core.calibration import (  # the records are core's (the store's port takes them); re-exported here
    MAX_CERTIFICATE_LENGTH as MAX_CERTIFICATE_LENGTH,
)
from futago.core.calibration import MAX_DEGREE as MAX_DEGREE
from futago.core.calibration import Calibration as Calibration
from futago.core.calibration import CalibrationChange as CalibrationChange
from futago.core.calibration import CalibrationKind as CalibrationKind
from futago.core.calibration import ChangeAction as ChangeAction
from futago.core.calibration import horner
from futago.core.errors import Conflict, InvalidInput, NotFound
from futago.core.problems import Problem
from futago.core.telemetry import format_timestamp

# ---------------------------------------------------------------------------------------------
# The book of one series
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalibrationBook:
    """The calibrations of one series, with non-overlapping windows, sorted by start.

    Immutable: `add`, `correct` and `retire` return the new book and the change to record, so
    a caller that fails to store them has changed nothing.
    """

    twin_id: str
    telemetry: str
    records: tuple[Calibration, ...] = ()
    _starts: npt.NDArray[np.int64] = field(init=False, repr=False, compare=False)
    _ends: npt.NDArray[np.int64] = field(init=False, repr=False, compare=False)
    _table: npt.NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        records = tuple(sorted(self.records, key=lambda c: c.valid_from_us))
        problems: list[Problem] = []
        seen: set[str] = set()
        for i, cal in enumerate(records):
            if (cal.twin_id, cal.telemetry) != (self.twin_id, self.telemetry):
                problems.append(
                    Problem(f"/{i}", f"calibration {cal.id} is for {cal.twin_id}/{cal.telemetry}", self.twin_id)
                )
            if cal.id in seen:
                problems.append(Problem(f"/{i}/id", f"calibration id {cal.id!r} appears twice", self.twin_id))
            seen.add(cal.id)
            if i and records[i - 1].overlaps(cal):
                problems.append(_overlap_problem(cal, records[i - 1], self.twin_id))
        if problems:
            raise InvalidInput(problems)
        object.__setattr__(self, "records", records)
        width = max((len(c.polynomial) for c in records), default=1)
        table = np.zeros((len(records), width), dtype=np.float64)
        for i, cal in enumerate(records):
            table[i, : len(cal.polynomial)] = cal.polynomial
        object.__setattr__(self, "_starts", np.array([c.valid_from_us for c in records], dtype=np.int64))
        object.__setattr__(self, "_ends", np.array([c.end_us for c in records], dtype=np.int64))
        object.__setattr__(self, "_table", table)

    def get(self, calibration_id: str) -> Calibration:
        for cal in self.records:
            if cal.id == calibration_id:
                return cal
        raise NotFound(f"no calibration {calibration_id!r} for {self.twin_id}/{self.telemetry}")

    def at(self, ts_us: int) -> Calibration | None:
        """The calibration in force at ``ts_us``, if any."""
        index = self._index(np.array([ts_us], dtype=np.int64))[0]
        return None if index < 0 else self.records[index]

    # -- changes ---------------------------------------------------------------------------------

    def add(
        self,
        calibration: Calibration,
        *,
        who: str,
        why: str,
        when_us: int,
        supersedes: str | None = None,
    ) -> tuple[CalibrationBook, CalibrationChange]:
        """Add a calibration; with ``supersedes``, it replaces that one (a correction).

        An addition whose window overlaps another record is refused (Conflict), naming the
        record in the way: two calibrations in force at once would make a reading's value
        depend on which one was applied first.
        """
        if (calibration.twin_id, calibration.telemetry) != (self.twin_id, self.telemetry):
            raise InvalidInput(
                [
                    Problem(
                        "/telemetry",
                        f"this book holds {self.twin_id}/{self.telemetry}, "
                        f"not {calibration.twin_id}/{calibration.telemetry}",
                        self.twin_id,
                    )
                ]
            )
        old = self.get(supersedes) if supersedes is not None else None
        others = [c for c in self.records if old is None or c.id != old.id]
        if any(c.id == calibration.id for c in others):
            raise Conflict(
                f"calibration id {calibration.id!r} already exists",
                [
                    Problem(
                        "/id",
                        f"calibration id {calibration.id!r} already exists; pass supersedes to correct it",
                    )
                ],
            )
        clashes = [c for c in others if c.overlaps(calibration)]
        if clashes:
            problems = [_overlap_problem(calibration, c, self.twin_id) for c in clashes]
            raise Conflict("; ".join(p.message for p in problems), problems)
        change = CalibrationChange(
            calibration_id=calibration.id,
            twin_id=self.twin_id,
            telemetry=self.telemetry,
            action="created" if old is None else "corrected",
            who=who,
            when_us=when_us,
            why=why,
            before=None if old is None else old.to_json(),
            after=calibration.to_json(),
        )
        return CalibrationBook(self.twin_id, self.telemetry, (*others, calibration)), change

    def correct(
        self, calibration: Calibration, *, who: str, why: str, when_us: int
    ) -> tuple[CalibrationBook, CalibrationChange]:
        """Replace the record with the same id (a corrected certificate, a closed window)."""
        return self.add(calibration, who=who, why=why, when_us=when_us, supersedes=calibration.id)

    def retire(
        self, calibration_id: str, *, who: str, why: str, when_us: int
    ) -> tuple[CalibrationBook, CalibrationChange]:
        """Remove a record (entered in error); its readings go back to their raw values."""
        old = self.get(calibration_id)
        change = CalibrationChange(
            calibration_id=old.id,
            twin_id=self.twin_id,
            telemetry=self.telemetry,
            action="retired",
            who=who,
            when_us=when_us,
            why=why,
            before=old.to_json(),
        )
        remaining = tuple(c for c in self.records if c.id != old.id)
        return CalibrationBook(self.twin_id, self.telemetry, remaining), change

    @staticmethod
    def window_of(change: CalibrationChange) -> tuple[int, int | None]:
        """The ``[start, end)`` to recompute after ``change`` (end None: up to the latest reading)."""
        return change.window()

    # -- applying --------------------------------------------------------------------------------

    def apply(self, ts: npt.ArrayLike, raw: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated values for readings at ``ts`` (any order); uncovered readings pass unchanged.

        Vectorised: one binary search for the record of each reading, then one Horner pass
        over all readings with their own coefficients.
        """
        t = np.asarray(ts, dtype=np.int64).ravel()
        x = np.asarray(raw, dtype=np.float64).ravel()
        if t.shape != x.shape:
            raise ValueError(f"ts and raw differ in length: {t.shape[0]} and {x.shape[0]}")
        out = x.copy()
        index = self._index(t)
        covered = index >= 0
        if covered.any():
            with np.errstate(all="ignore"):
                out[covered] = horner(self._table[index[covered]], x[covered])
        return out

    def covered(self, ts: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which readings fall inside some calibration's window."""
        return self._index(np.asarray(ts, dtype=np.int64).ravel()) >= 0

    def _index(self, t: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """Per timestamp, the index of the record in force, or -1."""
        if not self.records:
            return np.full(t.shape, -1, dtype=np.intp)
        index = np.searchsorted(self._starts, t, side="right") - 1
        inside = (index >= 0) & (t < self._ends[np.maximum(index, 0)])
        return np.where(inside, index, -1).astype(np.intp)


def _overlap_problem(new: Calibration, old: Calibration, twin_id: str | None) -> Problem:
    end = "open-ended" if old.valid_to_us is None else f"to {format_timestamp(old.valid_to_us)}"
    return Problem(
        "/validFrom",
        f"the window overlaps calibration {old.id} (from {format_timestamp(old.valid_from_us)} {end}); "
        f"close that one with validTo, or pass supersedes={old.id!r} to replace it",
        twin_id,
    )


def books_by_series(records: Sequence[Calibration]) -> dict[tuple[str, str], CalibrationBook]:
    """Group stored records into one book per series (loading many series at once)."""
    grouped: dict[tuple[str, str], list[Calibration]] = {}
    for cal in records:
        grouped.setdefault((cal.twin_id, cal.telemetry), []).append(cal)
    return {key: CalibrationBook(key[0], key[1], tuple(cals)) for key, cals in grouped.items()}
