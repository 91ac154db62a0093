"""QARTOD quality flags and the rule that folds per-test flags into one flag per reading.

The codes are the ones `futago.core.telemetry` stores with every reading, so a flag computed
here can be written to the store as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from futago.core.telemetry import (
    QUALITY_FAIL,
    QUALITY_MISSING,
    QUALITY_NOT_EVALUATED,
    QUALITY_PASS,
    QUALITY_SUSPECT,
)

FlagArray = npt.NDArray[np.uint8]


class QartodFlag(IntEnum):
    """The primary QARTOD flags (IOOS QARTOD manuals; `ioos_qc.qartod.QartodFlags`)."""

    PASS = QUALITY_PASS
    NOT_EVALUATED = QUALITY_NOT_EVALUATED
    SUSPECT = QUALITY_SUSPECT
    FAIL = QUALITY_FAIL
    MISSING = QUALITY_MISSING


# The aggregate is the flag of highest precedence among the tests, with the precedence of
# ioos_qc's ``qartod_compare``: MISSING < NOT_EVALUATED < PASS < SUSPECT < FAIL. A reading is
# MISSING only when every test says so (or when no test gave a known flag), and one test that
# could not be evaluated does not hide another test's PASS.
_PRECEDENCE = (
    QartodFlag.MISSING,
    QartodFlag.NOT_EVALUATED,
    QartodFlag.PASS,
    QartodFlag.SUSPECT,
    QartodFlag.FAIL,
)
_RANK = np.zeros(256, dtype=np.uint8)
for _rank, _flag in enumerate(_PRECEDENCE):
    _RANK[_flag] = _rank
_FLAG_OF_RANK = np.array([int(f) for f in _PRECEDENCE], dtype=np.uint8)
_RANK_OF: dict[int, int] = {int(f): r for r, f in enumerate(_PRECEDENCE)}


def aggregate(flags: Mapping[str, FlagArray] | Sequence[FlagArray], size: int | None = None) -> FlagArray:
    """The aggregate flag per reading from per-test flag arrays of equal length.

    Codes other than the five QARTOD ones rank like MISSING, as in ioos_qc. With no tests at
    all (ioos_qc has no answer there) every reading of ``size`` is NOT_EVALUATED.
    """
    arrays = list(flags.values()) if isinstance(flags, Mapping) else list(flags)
    if not arrays:
        return np.full(size or 0, QartodFlag.NOT_EVALUATED, dtype=np.uint8)
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"flag arrays differ in length: {sorted(lengths)}")
    rank = _RANK[np.asarray(arrays[0], dtype=np.uint8)]
    for other in arrays[1:]:
        np.maximum(rank, _RANK[np.asarray(other, dtype=np.uint8)], out=rank)
    return _FLAG_OF_RANK[rank]


def aggregate_one(flags: Iterable[int]) -> int:
    """`aggregate` for one reading: the streaming path, without building arrays."""
    best = -1
    for flag in flags:
        rank = _RANK_OF.get(int(flag), 0)
        if rank > best:
            best = rank
    return int(QartodFlag.NOT_EVALUATED) if best < 0 else int(_PRECEDENCE[best])
