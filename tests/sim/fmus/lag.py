"""A first-order lag, dy/dt = (gain·u − y)/tau, as a pythonfmu co-simulation slave (the FMU the FMI tests build).

Each ``do_step`` applies the exact solution for an input held over the step,
y ← y + (1 − exp(−h/tau))·(gain·u − y), so the FMU's output at the communication points equals the analytic
response to a piecewise-constant input (no integration error to allow for in the tests).
"""

from __future__ import annotations

import math
from typing import Any

from pythonfmu import Fmi2Causality, Fmi2Slave, Fmi2Variability, Real


class Lag(Fmi2Slave):
    author = "futago"
    description = "First-order lag"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.u = 0.0
        self.y = 0.0
        self.tau = 10.0
        self.gain = 1.0
        self.register_variable(Real("u", causality=Fmi2Causality.input))
        self.register_variable(Real("y", causality=Fmi2Causality.output))
        self.register_variable(Real("tau", causality=Fmi2Causality.parameter, variability=Fmi2Variability.tunable))
        self.register_variable(Real("gain", causality=Fmi2Causality.parameter, variability=Fmi2Variability.tunable))

    def do_step(self, current_time: float, step_size: float) -> bool:
        self.y += (1.0 - math.exp(-step_size / self.tau)) * (self.gain * self.u - self.y)
        return True
