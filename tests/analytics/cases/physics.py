"""Protocol cases for the physics, hybrid and FMI models: small data, because fit calibrates by simulation."""

from __future__ import annotations

import atexit
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from futago.sim.models.cstr import CSTR
from futago.sim.models.fmu import FmuSimulator
from futago.sim.models.hybrid import HybridSimulator
from futago.sim.models.thermal import ThermalZone
from tests.analytics.checks import Case
from tests.sim.fmus import build_lag

_rng = np.random.default_rng(11)

# CSTR: twelve minutes with the coolant moved on the cold branch (no ignition, which makes the calibration
# bimodal and slow); y from a slightly fouled reactor (lower UA).
_CSTR_X = np.tile([1.0, 350.0, 300.0, 100.0 / 60.0], (12, 1))
_CSTR_X[:, 2] = np.repeat([297.0, 299.0, 296.0], 4)
_CSTR_Y = CSTR(ua=790.0).predict(_CSTR_X) + _rng.normal(0.0, 0.05, 12)

# Thermal zone: two free-floating days (setpoints out of reach) of a heavier, leakier house than the default.
_HOURS = np.arange(48)
_THERMAL_X = np.column_stack(
    [
        8.0 + 5.0 * np.sin(2 * np.pi * (_HOURS - 9) / 24),
        np.clip(1500.0 * np.sin(2 * np.pi * (_HOURS - 6) / 24), 0.0, None),
        np.where((_HOURS % 24 > 7) & (_HOURS % 24 < 22), 700.0, 300.0),
    ]
)
_FREE: dict[str, Any] = dict(heating_setpoint=-50.0, cooling_setpoint=60.0, initial_temperature=15.0)
_THERMAL_Y = ThermalZone(h_tr_em=180.0, h_ve=60.0, c_m=2.5e7, **_FREE).predict(_THERMAL_X) + _rng.normal(0, 0.1, 48)

# FMI: the pythonfmu first-order lag, built once for the session.
_FMU_DIR = tempfile.TemporaryDirectory(prefix="futago-fmu-case-")
atexit.register(_FMU_DIR.cleanup)
_LAG = str(build_lag(Path(_FMU_DIR.name)))
_LAG_X = np.r_[np.full(10, 1.0), np.full(10, -0.5), np.full(10, 2.0)][:, None]
_LAG_Y = FmuSimulator(_LAG, ["u"], "y", {"tau": 4.0}).predict(_LAG_X) + _rng.normal(0.0, 0.01, 30)


def _fmu() -> FmuSimulator:
    return FmuSimulator(_LAG, ["u"], "y", start_values={"tau": 10.0}, step_size=1.0, tunable={"tau": (0.5, 50.0)})


CASES = [
    Case("cstr", CSTR, _CSTR_X, _CSTR_Y, streaming_tolerance=None),
    Case("thermal_zone", lambda: ThermalZone(**_FREE), _THERMAL_X, _THERMAL_Y, streaming_tolerance=None),
    Case("hybrid_cstr", lambda: HybridSimulator(CSTR()), _CSTR_X, _CSTR_Y, streaming_tolerance=None),
    Case("fmu_lag", _fmu, _LAG_X, _LAG_Y, streaming_tolerance=None),
]
