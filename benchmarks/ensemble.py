"""100,000-member tank-model ensemble, 6 hours ahead at 10-minute steps (issue 5).

Peer in the same run: the same model stepped one member at a time through its streaming ``predict_one``, timed on
a sample of members and scaled to the full count, which is how a naive loop over members would go.

Scale-out (issue 9): the same ensemble and seed on a Dask LocalCluster (2 worker processes, one 50,000-member
chunk each), its time once the cluster is up, and whether its members equal the in-process ones bit for bit.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from futago.sim.distributed import LOCAL, LOCAL_WORKERS, dask_mapper
from futago.sim.ensemble import Uncertainty, run_ensemble
from futago.sim.flood import WarningLevels
from futago.sim.models.tank import RiverStageModel

MEMBERS = 100_000
STEPS = 36  # 6 h at 10 min
LOOP_SAMPLE = 200


def run(db: str | None = None, progress: bool = True) -> dict[str, Any]:
    model = RiverStageModel(dt_s=600.0)
    # A front passing over: rain building to 25 mm/h and easing, as a radar nowcast would give it.
    rain = (25.0 * np.sin(np.linspace(0.0, np.pi, STEPS)) ** 2).reshape(-1, 1)
    levels = WarningLevels.parse({"standby": 2.0, "caution": 3.0, "evacuation": 3.8, "danger": 4.5})
    spread = Uncertainty(inputs={"rainfall": 0.35}, params={"a11": 0.15, "b1": 0.15})
    run_ensemble(model, rain[:2], 1000, spread)  # warm-up: imports and allocator
    started = time.perf_counter()
    ensemble = run_ensemble(model, rain, MEMBERS, spread, seed=42)
    seconds = time.perf_counter() - started

    started = time.perf_counter()
    for _ in range(LOOP_SAMPLE):
        member = model.clone()
        for row in rain:
            member.predict_one(row)
    loop_seconds = (time.perf_counter() - started) * MEMBERS / LOOP_SAMPLE

    started = time.perf_counter()
    with dask_mapper(LOCAL) as mapper:
        startup_seconds = time.perf_counter() - started
        run_ensemble(model, rain[:2], 1000, spread, mapper=mapper)  # warm-up: the workers' imports
        started = time.perf_counter()
        on_dask = run_ensemble(model, rain, MEMBERS, spread, seed=42, mapper=mapper)
        dask_seconds = time.perf_counter() - started
    return {
        "members": int(ensemble.members.shape[0]),
        "steps": int(ensemble.members.shape[1]),
        "seconds": round(seconds, 4),
        "exceedance_probabilities": ensemble.exceedance(levels.levels),
        "target_seconds": 1.0,
        "member_loop_seconds_estimate": round(loop_seconds, 2),
        "speedup_vs_member_loop": round(loop_seconds / seconds, 1),
        "dask_workers": LOCAL_WORKERS,
        "dask_startup_seconds": round(startup_seconds, 2),
        "dask_seconds": round(dask_seconds, 4),  # includes moving the members back (about 29 MB)
        "dask_identical": bool(np.array_equal(on_dask.members, ensemble.members)),
    }
