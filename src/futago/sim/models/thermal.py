"""Building thermal zone: the ISO 13790 5R1C resistance–capacitance network with an ideal heating/cooling plant.

The simple hourly method of EN ISO 13790:2008 (Annex C; carried on in EN ISO 52016-1 as its reference hourly
model) treats a zone as five conductances and one capacity:

* ``h_ve``    ventilation, from the supply air (here outdoor air) to the indoor air node θ_air;
* ``h_tr_is`` convective coupling of the air node to the internal surfaces' "star" node θ_s (3.45 W/m²K · A_t);
* ``h_tr_w``  windows (light elements without mass), from θ_s to outdoors;
* ``h_tr_ms`` coupling of θ_s to the mass node θ_m (9.1 W/m²K · A_m);
* ``h_tr_em`` opaque elements, from θ_m to outdoors; and ``c_m``, the heat capacity of the mass (J/K).

Internal gains go half to the air node and half, with the solar gains, to the surface and mass nodes in the
proportions of the standard (C.1–C.3, with A_m = h_tr_ms/9.1 and A_t = h_tr_is/3.45 recovered from the
conductances, so the model is parametrised by conductances alone and every parameter is calibratable).
The mass node is advanced with the standard's Crank–Nicolson scheme (C.4), generalised from 3600 s to any step
``dt_s``; air and surface nodes have no capacity and follow algebraically.

Heating and cooling are *ideal loads* (C.4.2): the power into the air node needed to hold the air between the
heating and cooling setpoints, capped by the plant's capacities. The network is linear in that power, so the
needed power is found exactly from two evaluations (the standard's 10 W/m² probe, without the rounding).

Why 5R1C: it is the normative reference for hourly zone models (so results compare with published building
energy tools), it separates the fast air/surface response from the slow fabric, and it has few enough
parameters to calibrate from a building's meter and thermostat data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics.protocol import FloatArray, check_X
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.sim.simulator import Simulator

# Heat transfer coefficients of ISO 13790 §7.2.2 (W/m²K): air ↔ surfaces, and surfaces ↔ mass.
H_IS = 3.45
H_MS = 9.1
#: The per-row results ``ThermalZone.results`` gives, in its columns' order.
RESULT_COLUMNS = ("air_temperature", "load", "surface_temperature", "mass_temperature")


class ThermalZone(Simulator):
    """ISO 13790 5R1C zone: outdoor temperature, solar and internal gains per row → indoor air temperature (°C)
    or the heating/cooling load (W) per row.

    Inputs (columns of ``X``): ``outdoor_temperature`` θ_e (°C), ``solar_gains`` Φ_sol (W, solar heat through
    the windows), ``internal_gains`` Φ_int (W, occupants, lighting and appliances).
    Output (``output``): ``"air"`` the indoor air temperature (°C), or ``"load"`` the ideal heating (+) or
    cooling (−) power (W) averaged over the step. ``results`` gives both, and the surface and mass temperatures.
    State: ``[θ_m]``, the mass temperature at the end of the last step. ``learn_one(x, θ_air_measured)`` moves
    θ_m by ``assimilation_gain`` times the air-temperature error (the mass carries the zone's memory); with
    ``output="load"`` measurements are not assimilated.

    Defaults: a 100 m² single-family house of the standard's "medium" class (A_m = 2.5 A_f, C_m = 165 kJ/m²K ·
    A_f, A_t = 4.5 A_f), 20 m² of U = 1.5 windows, a 0.5/h air change over 250 m³, and a 10 kW plant.
    ``fit`` calibrates ``h_tr_em``, ``h_ve`` and ``c_m``: what free-floating temperatures or metered loads
    identify best (the window and surface couplings trade off against them and come from the design).
    """

    name: ClassVar[str] = "thermal_zone"
    version: ClassVar[str] = "1"
    inputs: Sequence[str] = ("outdoor_temperature", "solar_gains", "internal_gains")
    bounds: ClassVar[Mapping[str, tuple[float, float]]] = {
        "h_tr_em": (5.0, 2000.0),
        "h_ve": (2.0, 1000.0),
        "c_m": (1e5, 1e9),
    }

    def __init__(
        self,
        dt_s: float = 3600.0,
        h_ve: float = 42.5,
        h_tr_w: float = 30.0,
        h_tr_em: float = 120.0,
        h_tr_is: float = 1552.5,
        h_tr_ms: float = 2275.0,
        c_m: float = 16.5e6,
        heating_setpoint: float = 20.0,
        cooling_setpoint: float = 26.0,
        heating_capacity_w: float = 10_000.0,
        cooling_capacity_w: float = 10_000.0,
        initial_temperature: float = 20.0,
        output: Literal["air", "load"] = "air",
        assimilation_gain: float = 0.5,
    ) -> None:
        self.dt_s = dt_s
        self.h_ve = h_ve
        self.h_tr_w = h_tr_w
        self.h_tr_em = h_tr_em
        self.h_tr_is = h_tr_is
        self.h_tr_ms = h_tr_ms
        self.c_m = c_m
        self.heating_setpoint = heating_setpoint
        self.cooling_setpoint = cooling_setpoint
        self.heating_capacity_w = heating_capacity_w
        self.cooling_capacity_w = cooling_capacity_w
        self.initial_temperature = initial_temperature
        self.output = output
        self.assimilation_gain = assimilation_gain

    def initial_state(self) -> FloatArray:
        return np.array([self.initial_temperature], dtype=np.float64)

    def conductance(self) -> float:
        """Steady-state heat loss coefficient (W/K) from the air node to outdoors through the whole network:
        ventilation in parallel with the surfaces, which lose through the windows and, in series, the mass."""
        fabric = 1.0 / (1.0 / self.h_tr_ms + 1.0 / self.h_tr_em)
        envelope = 1.0 / (1.0 / self.h_tr_is + 1.0 / (self.h_tr_w + fabric))
        return self.h_ve + envelope

    def _step(
        self, theta_m: float, theta_e: float, solar: float, internal: float, power: float
    ) -> tuple[float, float, float, float]:
        """One step of ISO 13790 C.2–C.4 with ``power`` into the air node: (θ_m end, θ_air, θ_s, θ_m mean)."""
        a_m, a_t = self.h_tr_ms / H_MS, self.h_tr_is / H_IS
        phi_ia = 0.5 * internal
        shared = 0.5 * internal + solar
        phi_m = a_m / a_t * shared
        phi_st = (1.0 - a_m / a_t - self.h_tr_w / (H_MS * a_t)) * shared
        theta_sup = theta_e  # supply air at outdoor temperature (no heat recovery)
        h1 = 1.0 / (1.0 / self.h_ve + 1.0 / self.h_tr_is)
        h2 = h1 + self.h_tr_w
        h3 = 1.0 / (1.0 / h2 + 1.0 / self.h_tr_ms)
        phi_mtot = (
            phi_m
            + self.h_tr_em * theta_e
            + h3 * (phi_st + self.h_tr_w * theta_e + h1 * ((phi_ia + power) / self.h_ve + theta_sup)) / h2
        )
        capacity = self.c_m / self.dt_s
        loss = 0.5 * (h3 + self.h_tr_em)
        theta_m_end = (theta_m * (capacity - loss) + phi_mtot) / (capacity + loss)
        theta_m_mean = 0.5 * (theta_m + theta_m_end)
        theta_s = (
            self.h_tr_ms * theta_m_mean
            + phi_st
            + self.h_tr_w * theta_e
            + h1 * (theta_sup + (phi_ia + power) / self.h_ve)
        ) / (self.h_tr_ms + self.h_tr_w + h1)
        theta_air = (self.h_tr_is * theta_s + self.h_ve * theta_sup + phi_ia + power) / (self.h_tr_is + self.h_ve)
        return theta_m_end, theta_air, theta_s, theta_m_mean

    def _simulate(self, X: FloatArray, state: FloatArray) -> tuple[FloatArray, float]:
        """Rows × ``RESULT_COLUMNS`` from ``state``, and the final mass temperature."""
        out = np.empty((X.shape[0], len(RESULT_COLUMNS)), dtype=np.float64)
        theta_m = float(state[0])
        for i, (theta_e, solar, internal) in enumerate(X[:, :3].tolist()):
            free = self._step(theta_m, theta_e, solar, internal, 0.0)
            power = 0.0
            if free[1] < self.heating_setpoint or free[1] > self.cooling_setpoint:
                # θ_air is affine in the power: one probe gives the slope, then solve for the setpoint (C.4.2).
                probe = 1000.0
                slope = (self._step(theta_m, theta_e, solar, internal, probe)[1] - free[1]) / probe
                if free[1] < self.heating_setpoint:
                    power = min((self.heating_setpoint - free[1]) / slope, self.heating_capacity_w)
                else:
                    power = max((self.cooling_setpoint - free[1]) / slope, -self.cooling_capacity_w)
            theta_m, theta_air, theta_s, theta_mean = (
                self._step(theta_m, theta_e, solar, internal, power) if power else free
            )
            out[i] = (theta_air, power, theta_s, theta_mean)
        return out, theta_m

    def run(self, X: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        if self.output not in ("air", "load"):
            problem = Problem("/output", f"{self.name}: output must be 'air' or 'load', got {self.output!r}")
            raise InvalidInput([problem])
        table, theta_m = self._simulate(X, state)
        column = 0 if self.output == "air" else 1
        return table[:, column].copy(), np.array([theta_m], dtype=np.float64)

    def results(self, X: ArrayLike) -> dict[str, FloatArray]:
        """Air temperature (°C), load (W, heating +), surface and mean mass temperature (°C) per row, from the
        current state (which is not changed)."""
        data = check_X(self, X, n_features=len(self.inputs))
        table, _ = self._simulate(data, self.state)
        return {name: table[:, i].copy() for i, name in enumerate(RESULT_COLUMNS)}

    def assimilate(self, state: FloatArray, observed: float, predicted: float) -> FloatArray:
        if self.output != "air" or not (np.isfinite(observed) and np.isfinite(predicted)):
            return state
        return state + self.assimilation_gain * (observed - predicted)
