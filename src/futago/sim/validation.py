"""Model validation reports: how well a behaviour's output matches what was measured over a period.

The QA view of a model. Metrics (RMSE, MAE, MAPE, R², Pearson r, NSE and KGE for hydrology, and the coverage of
prediction intervals when there are any) are judged against the tolerances declared with the behaviour, and two
plots show where the model goes wrong: residuals over time, and simulated against measured with the 1:1 line.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics import metrics
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.telemetry import format_timestamp
from futago.sim.behaviours import TOLERANCE_DIRECTIONS

if TYPE_CHECKING:
    from futago.sim.runtime import BehaviourRuntime


@dataclass(frozen=True)
class ValidationReport:
    title: str
    metrics: dict[str, float]
    checks: dict[str, dict[str, Any]]
    n: int
    plots: dict[str, bytes] = field(default_factory=dict)  # name -> PNG
    period: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(check["ok"] for check in self.checks.values())

    def save_plots(self, folder: Path, stem: str) -> dict[str, str]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, png in self.plots.items():
            path = folder / f"{stem}_{name}.png"
            path.write_bytes(png)
            paths[name] = str(path)
        return paths

    def to_json(self, plot_paths: Mapping[str, str] | None = None, inline_plots: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": self.title,
            "n": self.n,
            "metrics": {k: (None if math.isnan(v) else round(v, 6)) for k, v in self.metrics.items()},
            "checks": self.checks,
            "passed": self.passed,
            "period": self.period,
        }
        if plot_paths is not None:
            body["plots"] = dict(plot_paths)
        elif inline_plots:
            body["plots"] = {k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in self.plots.items()}
        return body


def judge(values: Mapping[str, float], tolerances: Mapping[str, float]) -> dict[str, dict[str, Any]]:
    """Each tolerance as a check: the value, the limit, whether it is a ceiling or a floor, and the verdict."""
    checks = {}
    for metric, limit in tolerances.items():
        direction = TOLERANCE_DIRECTIONS.get(metric)
        if direction is None:
            raise InvalidInput([Problem(f"/tolerances/{metric}", "unknown metric")])
        value = values.get(metric, math.nan)
        ok = (value <= limit) if direction == "max" else (value >= limit)
        checks[metric] = {
            "value": None if math.isnan(value) else value,
            "limit": limit,
            "bound": direction,
            "ok": bool(ok),
        }
    return checks


def validation_report(
    measured: ArrayLike,
    predicted: ArrayLike,
    *,
    tolerances: Mapping[str, float] | None = None,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    ts_us: ArrayLike | None = None,
    title: str = "validation",
    plots: bool = True,
) -> ValidationReport:
    """Compare ``predicted`` with ``measured`` (NaN pairs are skipped) and judge against ``tolerances``."""
    y = np.asarray(measured, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if y.shape != p.shape:
        raise InvalidInput([Problem("/predicted", f"{p.size} predictions for {y.size} measurements")])
    both = np.isfinite(y) & np.isfinite(p)
    if both.sum() < 3:
        raise InvalidInput([Problem("/measured", "fewer than 3 measured values to compare over this period")])
    values = metrics.summary(y, p, lower, upper)
    period = {}
    times = None if ts_us is None else np.asarray(ts_us, dtype=np.int64)
    if times is not None and len(times):
        period = {"from": format_timestamp(int(times[0])), "to": format_timestamp(int(times[-1]))}
    images = _plots(y, p, times, lower, upper, title) if plots else {}
    return ValidationReport(title, values, judge(values, tolerances or {}), int(both.sum()), images, period)


def _plots(
    y: np.ndarray, p: np.ndarray, ts: np.ndarray | None, lower: ArrayLike | None, upper: ArrayLike | None, title: str
) -> dict[str, bytes]:
    # Figures made directly (not through pyplot, which keeps global state) are safe in API worker threads.
    # Labels stay English: the plots must not depend on a CJK font being installed, and the dashboard shows
    # them under Japanese or English captions.
    from matplotlib.figure import Figure

    x: Any = np.arange(len(y)) if ts is None else ts.astype("datetime64[us]")
    images = {}
    fig = Figure(figsize=(9, 5.5))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    top.plot(x, y, color="#1f77b4", lw=1.2, label="measured")
    top.plot(x, p, color="#d62728", lw=1.2, label="model")
    if lower is not None and upper is not None:
        top.fill_between(x, np.asarray(lower, float), np.asarray(upper, float), color="#d62728", alpha=0.15, lw=0,
                         label="interval")  # fmt: skip
    top.legend(loc="upper right", fontsize=8)
    top.set_title(title)
    bottom.axhline(0, color="0.5", lw=0.8)
    bottom.plot(x, p - y, color="#2ca02c", lw=1.0)
    bottom.set_ylabel("residual")
    fig.autofmt_xdate()
    images["residuals"] = _png(fig)
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.scatter(y, p, s=6, alpha=0.5, color="#1f77b4")
    finite = np.concatenate([y[np.isfinite(y)], p[np.isfinite(p)]])
    low, high = float(finite.min()), float(finite.max())
    ax.plot([low, high], [low, high], color="0.3", lw=1, ls="--", label="1:1")
    ax.set_xlabel("measured")
    ax.set_ylabel("model")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    images["scatter"] = _png(fig)
    return images


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def validate_behaviour(
    runtime: BehaviourRuntime, name: str, twin_id: str, start_us: int, end_us: int
) -> ValidationReport:
    """Run a behaviour's model over [start, end) as it runs live, without writing, and compare it with the
    measured telemetry: a simulator free-running from its state at the start (no assimilation, so the report
    judges the model, not the corrections), a regressor's predictions row by row."""
    spec, model, inputs = runtime.replay(name, twin_id, start_us, end_us)
    if model.kind not in ("simulator", "regressor"):
        raise InvalidInput([Problem("/behaviour", f"{model.kind} behaviours are scored with `futago eval`")])
    assert inputs.y is not None
    with model_errors("/params"):
        predicted = model.predict(inputs.X)
    title = f"{name} · {twin_id} · {spec.measured}"
    return validation_report(inputs.y, predicted, tolerances=spec.tolerances, ts_us=inputs.grid, title=title)


@contextmanager
def model_errors(pointer: str) -> Iterator[None]:
    """A model that fails on the data it is given (a bad parameter, a diverging integration) is the request's
    problem, answered as one, never a server error."""
    try:
        yield
    except (TypeError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        raise InvalidInput([Problem(pointer, f"the model failed: {exc}")]) from exc
