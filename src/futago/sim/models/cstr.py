"""A continuous stirred-tank reactor (CSTR) with an exothermic first-order reaction A → B and a cooling jacket.

The classic nonisothermal CSTR of process-control textbooks (the model of Seborg, Edgar, Mellichamp & Doyle,
*Process Dynamics and Control*, ch. 2, and of Bequette, *Process Control: Modeling, Design and Simulation*,
with Seborg's parameter values, also those of the common APMonitor/do-mpc benchmark), converted from minutes
to seconds::

    dCa/dt = q/V (Caf − Ca) − k(T) Ca                                         (mass balance on A)
    dT/dt  = q/V (Tf − T) + (−ΔH)/(ρ cp) k(T) Ca + UA/(V ρ cp) (Tc − T)        (energy balance)
    k(T)   = k0 exp(−E/(R T)) = k_ref exp(−E/R · (1/T − 1/T_ref))             (Arrhenius)

With the default parameters and inputs (Caf = 1 mol/L, Tf = 350 K, Tc = 300 K, q = 100 L/min) the reactor
has three steady states: the textbook operating point Ca = 0.5 mol/L, T = 350 K is the open-loop unstable
middle one, and left alone the reactor settles on the cold branch (Ca ≈ 0.877 mol/L, T ≈ 324.5 K), which is
the default initial state. A few kelvin on the coolant decide between a cold and an ignited reactor, which
makes it a hard test for calibration and hybrid models alike.

The equations are stiff near ignition, so each step of ``dt_s`` seconds is integrated with LSODA (which
switches between Adams and BDF) and an analytic Jacobian. The inputs are held constant over a step, the usual
zero-order hold of sampled process data, so integrating one step at a time is exact to the solver's tolerance
and the batch and streaming views give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp

from futago.analytics.protocol import FloatArray, check_X
from futago.sim.simulator import Simulator

# Tight tolerances: calibration differentiates the output by finite differences, which noisy solves would spoil.
_RTOL = 1e-8
_ATOL = 1e-10


class CSTR(Simulator):
    """Exothermic CSTR: feed concentration, feed temperature, coolant temperature and flow per row → reactor
    temperature (K) per row.

    Inputs (columns of ``X``): ``feed_concentration`` Caf (mol/L), ``feed_temperature`` Tf (K),
    ``coolant_temperature`` Tc (K, the jacket, taken as well mixed), ``flow`` q (L/s).
    Output: the reactor temperature T (K), the quantity a plant measures; ``states`` gives both Ca and T.
    State: ``[Ca, T]``. ``learn_one(x, T_measured)`` moves T towards the measurement by ``assimilation_gain``
    (concentration is rarely measured online, so it follows through the dynamics).

    Calibrated by ``fit``: ``ua`` (fouling lowers it), ``e_over_r`` and ``k_ref``, the rate constant at
    ``t_ref``. The Arrhenius law is parametrised by k_ref rather than k0 (Seborg's k0 = 7.2·10¹⁰ /min = 1.2·10⁹ /s is
    ``k0`` here, read-only) because k0 and E/R are almost perfectly correlated over a plant's narrow
    temperature range, which leaves the calibrator a long flat valley; k at a temperature inside that range is
    what data pin down (the standard reparametrisation of kinetic fitting, e.g. Schwaab & Pinto, *Chem. Eng.
    Sci.* 62 (2007) 2750). E/R still needs temperature movement to be identified: ``calibration_.ci95`` says.
    """

    name: ClassVar[str] = "cstr"
    version: ClassVar[str] = "1"
    inputs: Sequence[str] = ("feed_concentration", "feed_temperature", "coolant_temperature", "flow")
    bounds: ClassVar[Mapping[str, tuple[float, float]]] = {
        "ua": (50.0, 5000.0),
        "e_over_r": (5000.0, 12000.0),
        "k_ref": (1e-4, 1.0),
    }

    def __init__(
        self,
        dt_s: float = 60.0,
        volume_l: float = 100.0,
        density_g_l: float = 1000.0,
        heat_capacity_j_gk: float = 0.239,
        heat_of_reaction_j_mol: float = -5.0e4,
        e_over_r: float = 8750.0,
        k_ref: float = 7.2e10 / 60.0 * math.exp(-8750.0 / 350.0),
        t_ref: float = 350.0,
        ua: float = 5.0e4 / 60.0,
        initial_concentration: float = 0.8773,
        initial_temperature: float = 324.48,
        assimilation_gain: float = 0.5,
    ) -> None:
        self.dt_s = dt_s
        self.volume_l = volume_l
        self.density_g_l = density_g_l
        self.heat_capacity_j_gk = heat_capacity_j_gk
        self.heat_of_reaction_j_mol = heat_of_reaction_j_mol
        self.e_over_r = e_over_r
        self.k_ref = k_ref
        self.t_ref = t_ref
        self.ua = ua
        self.initial_concentration = initial_concentration
        self.initial_temperature = initial_temperature
        self.assimilation_gain = assimilation_gain

    def initial_state(self) -> FloatArray:
        return np.array([self.initial_concentration, self.initial_temperature], dtype=np.float64)

    @property
    def k0(self) -> float:
        """The pre-exponential factor (1/s) that ``k_ref`` and ``e_over_r`` imply."""
        return float(self.k_ref * math.exp(self.e_over_r / self.t_ref))

    def rate_constant(self, temperature: float) -> float:
        """Arrhenius k(T) in 1/s."""
        return float(self.k_ref * math.exp(-self.e_over_r * (1.0 / temperature - 1.0 / self.t_ref)))

    def trajectory(self, X: FloatArray, state: FloatArray) -> FloatArray:
        """States ``[Ca, T]`` at the end of each row's step (rows × 2), from ``state``.

        A failed solve (parameters far outside the physical range, e.g. during a calibrator's wild trial) makes
        that step and the rest NaN, which the calibrator scores as a large residual rather than crashing.
        """
        volume = self.volume_l
        rho_cp = self.density_g_l * self.heat_capacity_j_gk
        heat = -self.heat_of_reaction_j_mol / rho_cp  # K per (mol/L) reacted
        cool = self.ua / (volume * rho_cp)  # 1/s
        k_ref, e_over_r, inv_ref = self.k_ref, self.e_over_r, 1.0 / self.t_ref

        def rhs(_t: float, s: FloatArray, caf: float, tf: float, tc: float, q: float) -> list[float]:
            ca, temp = float(s[0]), float(s[1])
            rate = k_ref * math.exp(-e_over_r * (1.0 / temp - inv_ref)) * ca
            return [q / volume * (caf - ca) - rate, q / volume * (tf - temp) + heat * rate + cool * (tc - temp)]

        def jac(_t: float, s: FloatArray, caf: float, tf: float, tc: float, q: float) -> list[list[float]]:
            ca, temp = float(s[0]), float(s[1])
            k = k_ref * math.exp(-e_over_r * (1.0 / temp - inv_ref))
            dk = k * e_over_r / temp**2
            return [[-q / volume - k, -dk * ca], [heat * k, -q / volume + heat * dk * ca - cool]]

        out = np.full((X.shape[0], 2), np.nan)
        current = np.array(state, dtype=np.float64, copy=True)
        for i, row in enumerate(X):
            if not (np.isfinite(current).all() and current[1] > 0):
                break
            args = (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
            solution = solve_ivp(
                rhs, (0.0, self.dt_s), current, method="LSODA", jac=jac, args=args, rtol=_RTOL, atol=_ATOL
            )
            if not solution.success:
                break
            current = solution.y[:, -1].copy()
            out[i] = current
        return out

    def run(self, X: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        states = self.trajectory(X, state)
        final = states[-1].copy() if len(states) else np.array(state, dtype=np.float64, copy=True)
        return states[:, 1].copy(), final

    def states(self, X: ArrayLike) -> FloatArray:
        """Concentration (mol/L) and temperature (K) per row, from the current state (which is not changed)."""
        data = check_X(self, X, n_features=len(self.inputs))
        return self.trajectory(data, self.state)

    def assimilate(self, state: FloatArray, observed: float, predicted: float) -> FloatArray:
        """Nudge the temperature towards the measurement (a constant-gain observer on the measured state)."""
        if not (np.isfinite(observed) and np.isfinite(predicted)):
            return state
        corrected = np.array(state, dtype=np.float64, copy=True)
        corrected[1] += self.assimilation_gain * (observed - predicted)
        return corrected
