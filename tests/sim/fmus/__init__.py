"""Build the test FMUs: the first-order lag of ``lag.py`` as FMI 2.0 (with pythonfmu) and as FMI 3.0.

pythonfmu packs a Python class with its generic FMI 2.0 library, which calls into the CPython that loads it:
FMPy loads FMUs into the test process itself, so the slave runs on the test's own interpreter (libpython's
symbols are already there; nothing needs to find a libpython at run time). For FMI 3.0, FMPy's container FMU
(a native FMI 3.0 implementation shipped with FMPy) wraps the FMI 2.0 lag and exposes its variables: a real
FMI 3.0 co-simulation FMU, loaded through ``fmi3*`` calls, without a C compiler.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

LAG_SCRIPT = Path(__file__).with_name("lag.py")


def build_lag(dest: Path, *, serialisable: bool = False) -> Path:
    """Build the lag FMU (FMI 2.0) into ``dest``; ``serialisable`` declares and enables FMU-state saving."""
    from pythonfmu.builder import FmuBuilder

    dest.mkdir(parents=True, exist_ok=True)
    options = {"canGetAndSetFMUstate": True, "canSerializeFMUstate": True} if serialisable else {}
    name = "LagState.fmu" if serialisable else "Lag.fmu"
    return Path(FmuBuilder.build_FMU(LAG_SCRIPT, dest=dest / name, **options))


def build_lag_fmi3(inner: Path, dest: Path) -> Path:
    """Wrap the FMI 2.0 lag ``inner`` in an FMI 3.0 container FMU with the same variables (u, y, tau, gain)."""
    from fmpy import read_model_description
    from fmpy.container_fmu.cli import create_container_fmu
    from fmpy.container_fmu.config import Component, Configuration
    from fmpy.model_description import CoSimulation, ModelDescription, ModelVariable

    described = read_model_description(inner)
    component = Component(name="lag", filename=inner, modelDescription=described)
    inner_vars = {v.name: v for v in described.modelVariables}
    model = ModelDescription(fmiVersion="3.0", modelName="LagFmi3", instantiationToken="{" + str(uuid.uuid4()) + "}")
    model.coSimulation = CoSimulation(modelIdentifier="container_fmu", fixedInternalStepSize=0.1)
    # FMI 3.0 needs the independent variable; the container keeps value reference 0 for it, so it comes first.
    time = ModelVariable(name="time", valueReference=0, type="Float64", causality="independent")
    time.variability = "continuous"
    mapped: list[Any] = []
    for name, causality, variability in [
        ("u", "input", "continuous"),
        ("y", "output", "continuous"),
        ("tau", "parameter", "tunable"),
        ("gain", "parameter", "tunable"),
    ]:
        start = inner_vars[name].start if causality != "output" else None
        variable = ModelVariable(name=name, valueReference=len(mapped) + 1, type="Float64", causality=causality)
        variable.variability = variability
        variable.start = start
        mapped.append(variable)
    model.modelVariables = [time, *mapped]
    config = Configuration(
        parallelDoStep=False,
        modelDescription=model,
        components=[component],
        connections=[],
        variableMappings={v: [(component, inner_vars[v.name])] for v in mapped},
    )
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / "LagFmi3.fmu"
    # create_container_fmu empties its work folder first, so it gets one of its own.
    with tempfile.TemporaryDirectory(prefix="futago-container-") as work:
        create_container_fmu(config, Path(work), target)
    return target
