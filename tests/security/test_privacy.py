"""Privacy-safe release: JIS X 0410 mesh codes, k-anonymity, the DP mechanisms' measured privacy loss and utility,
and the budget that refuses a release it does not cover."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, build
from futago.config import Settings
from futago.core.errors import InvalidInput
from futago.samples import demo_models
from futago.security import privacy

TOKYO_STATION = (35.681236, 139.767125)
SENSOR = "dtmi:futago:demo:Sensor;1"  # any model with Point geometries stands for people here
AREA = [139.70, 35.60, 139.80, 35.70]


def test_mesh_codes_follow_jis_x_0410() -> None:
    lat, lon = TOKYO_STATION
    assert privacy.mesh_code(lat, lon, "1km") == "53394611"  # the third-order mesh of Tokyo Station
    assert privacy.mesh_code(lat, lon, "500m") == "533946113"  # its north-west half
    assert (
        privacy.mesh_code(lat, lon, "250m").startswith("533946113") and len(privacy.mesh_code(lat, lon, "250m")) == 10
    )
    rng = np.random.default_rng(3)
    for lat, lon in zip(rng.uniform(24, 45, 300), rng.uniform(123, 153, 300), strict=True):
        for level in ("1km", "500m", "250m"):
            west, south, east, north = privacy.mesh_bounds(privacy.mesh_code(lat, lon, level))
            assert west <= lon < east and south <= lat < north
    west, south, east, north = privacy.mesh_bounds("53394611")
    assert north - south == pytest.approx(30 / 3600) and east - west == pytest.approx(45 / 3600)  # 30" × 45"
    with pytest.raises(InvalidInput):
        privacy.mesh_code(51.5, -0.1)  # London has no JIS mesh


def cell_point(code: str, rng: np.random.Generator) -> tuple[float, float]:
    west, south, east, north = privacy.mesh_bounds(code)
    return float(rng.uniform(south, north)), float(rng.uniform(west, east))


def test_small_cells_are_generalised_then_suppressed() -> None:
    rng = np.random.default_rng(1)
    big, small, sibling = "5339461111", "5339461112", "5339461121"  # two 250 m cells of one 500 m, one of another
    far = "5339470011"
    points = [cell_point(big, rng) for _ in range(12)] + [cell_point(small, rng) for _ in range(3)]
    points += [cell_point(sibling, rng) for _ in range(4)] + [cell_point(far, rng) for _ in range(2)]
    out = privacy.release(points, "250m", k=5)
    # small (3) and sibling (4) each go up a level: 533946111 gets 3, which is still under 5, so it goes up again
    # into 53394611 with sibling's 533946112 (4): 7 at 1 km. far (2) stays under 5 even at 1 km: suppressed.
    assert out.cells == {big: 12, "53394611": 7}
    assert out.generalised == 7 and out.suppressed == 2
    assert all(n >= 5 for n in out.cells.values())


def empirical_loss(mechanism: str, epsilon: float, delta: float | None, draws: int = 200_000) -> float:
    """The largest |ln P(out = v | D) − ln P(out = v | D')| over outputs seen often, for neighbouring counts."""
    rng = np.random.default_rng(7)
    scale = privacy.noise_scale(mechanism, epsilon, delta)

    def outputs(count: int) -> Counter[int]:
        noise = rng.laplace(0, scale, draws) if mechanism == "laplace" else rng.normal(0, scale, draws)
        return Counter(np.maximum(0, np.rint(count + noise)).astype(int).tolist())

    d, d_prime = outputs(20), outputs(21)
    common = [v for v in d if d[v] >= 2000 and d_prime[v] >= 2000]
    return max(abs(math.log(d[v] / d_prime[v])) for v in common)


def test_the_laplace_mechanism_loses_no_more_privacy_than_its_epsilon() -> None:
    for epsilon in (0.5, 1.0):
        loss = empirical_loss("laplace", epsilon, None)
        assert loss <= epsilon * 1.05 + 0.02  # the guarantee (sampling noise allowed for)
        assert loss >= epsilon * 0.7  # and the test measures it: the bound is nearly reached


def test_utility_error_shrinks_as_epsilon_grows() -> None:
    rng = np.random.default_rng(11)
    counts = {f"c{i}": 100 for i in range(2000)}
    errors = {}
    for epsilon in (0.1, 0.5, 1.0, 2.0):
        out = privacy.noisy(counts, "laplace", epsilon, None, rng)
        errors[epsilon] = float(np.mean([abs(v - 100) for v in out.values()]))
    assert errors[0.1] > errors[0.5] > errors[1.0] > errors[2.0]
    assert errors[0.1] == pytest.approx(10.0, rel=0.1) and errors[0.5] == pytest.approx(2.0, rel=0.15)  # ≈ 1/ε
    gaussian = privacy.noisy(counts, "gaussian", 1.0, 1e-5, rng)
    sigma = math.sqrt(2 * math.log(1.25 / 1e-5))
    assert float(np.std(list(gaussian.values()))) == pytest.approx(sigma, rel=0.1)


def test_a_dp_release_adds_noise_to_empty_cells_too() -> None:
    rng = np.random.default_rng(5)
    points = [cell_point("5339461111", rng) for _ in range(30)]
    out = privacy.release(points, "1km", k=1, mechanism="laplace", epsilon=0.5, area=(139.76, 35.675, 139.78, 35.69),
                          rng=np.random.default_rng(2))  # fmt: skip
    assert len(out.cells) > 1  # cells with nobody in them show up (with noise) as well
    with pytest.raises(InvalidInput) as caught:
        privacy.release(points, "1km", k=1, mechanism="laplace", epsilon=0.5)
    assert caught.value.problems[0].pointer == "/area"


def person(lon: float, lat: float) -> dict[str, Any]:
    return {"$metadata": {"$model": SENSOR}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


@pytest.fixture
def people(app: App) -> App:
    rng = np.random.default_rng(9)
    for i in range(60):
        lat, lon = cell_point("53394611", rng) if i < 50 else cell_point("53394622", rng)
        app.twins.put(
            f"p{i}", {"$metadata": {"$model": SENSOR}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}
        )
    return app


def test_the_budget_refuses_a_release_it_does_not_cover_and_remembers_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "people.db")
    app = build(Settings(db=db))
    app.models.add_missing(demo_models())
    app.twins.put(
        "p0", {"$metadata": {"$model": SENSOR}, "geometry": {"type": "Point", "coordinates": [139.767, 35.681]}}
    )
    release = {"model": SENSOR, "mesh": "1km", "k": 1, "mechanism": "laplace", "epsilon": 0.4, "area": AREA}
    with TestClient(create_api(app)) as client:
        assert client.post("/privacy/releases", json=release).status_code == 404  # no budget set yet
        assert client.put(f"/privacy/budgets/{SENSOR}", json={"epsilon": 1.0, "delta": 1e-5}).status_code == 200
        assert client.post("/privacy/releases", json=release).status_code == 200
        assert client.post("/privacy/releases", json=release).status_code == 200
        refused = client.post("/privacy/releases", json=release)
        assert refused.status_code == 409 and refused.json()["errors"][0]["pointer"] == "/epsilon"
        assert client.post("/privacy/releases", json={**release, "epsilon": 0.2}).status_code == 200  # what is left
    app.close()
    again = build(Settings(db=db))
    budget = again.store.privacy_budget(SENSOR)
    again.close()
    assert budget is not None and budget.spent_epsilon == pytest.approx(1.0) and budget.releases == 3


def test_a_release_over_http_is_k_anonymous_and_audited(people: App) -> None:
    with TestClient(create_api(people)) as client:
        response = client.post("/privacy/releases", json={"model": SENSOR, "mesh": "500m", "k": 15})
        bad = client.post("/privacy/releases", json={"model": SENSOR, "mesh": "2km", "k": 0})
    assert response.status_code == 200
    body = response.json()
    assert all(cell["count"] >= 15 for cell in body["cells"]) and body["suppressed"] == 10  # the 10 elsewhere
    assert sum(cell["count"] for cell in body["cells"]) == 50
    assert {p["pointer"] for p in bad.json()["errors"]} == {"/mesh", "/k"}
    people.audit.flush()
    assert any(e.action == "privacy.release" for e in people.audit.entries())


def test_a_dp_release_gives_no_exact_count_of_people_outside_its_area() -> None:
    rng = np.random.default_rng(4)
    points = [cell_point("5339461111", rng) for _ in range(7)]
    with pytest.raises(InvalidInput) as caught:
        privacy.release(points, "1km", k=1, mechanism="laplace", epsilon=0.5, area=(140.0, 36.0, 140.01, 36.01))
    assert not any(ch.isdigit() for ch in caught.value.problems[0].message)
