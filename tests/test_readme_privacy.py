"""The README's privacy-safe release, as written, against a running server whose store holds people; and the
answer to a body sent without its content-type, which names the body rather than ε and δ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from futago.app import build
from futago.config import Settings
from futago.security import privacy
from tests import readme_blocks
from tests.conftest import LiveServer

PERSON = "dtmi:acme:Person;1"
#: Two 500 m cells of central Tokyo (JIS X 0410, around Tokyo Station) and how many people live in each: enough
#: that the Laplace noise of ε 0.2 (scale 5) cannot take either under k = 10 (a chance of about 1 in 10,000).
HOMES = {"533946113": 60, "533946114": 50}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("privacy")
    app = build(Settings(db=str(folder / "people.db"), data_root=str(folder)))
    app.models.add(
        [{"@context": "dtmi:dtdl:context;3", "@id": PERSON, "@type": "Interface",
          "contents": [{"@type": "Property", "name": "name", "schema": "string", "writable": True}]}]
    )  # fmt: skip
    rng = np.random.default_rng(5)
    for cell, count in HOMES.items():
        west, south, east, north = privacy.mesh_bounds(cell)
        for n in range(count):
            point = [float(rng.uniform(west, east)), float(rng.uniform(south, north))]
            app.twins.put(f"p-{cell}-{n}", {"$metadata": {"$model": PERSON}, "name": f"Person {n}",
                                            "geometry": {"type": "Point", "coordinates": point}})  # fmt: skip
    with LiveServer(app) as live:
        yield live
    app.close()


def test_readme_privacy_release_runs_as_written(server: LiveServer, tmp_path: Path) -> None:
    (block,) = readme_blocks.blocks_for(__file__)
    budget, release = (json.loads(readme_blocks.run(c, tmp_path, server.url)) for c in block.commands())
    assert budget == {"dataset": PERSON, "epsilon": 1.0, "delta": 1e-5, "spentEpsilon": 0, "spentDelta": 0,
                      "releases": 0}  # fmt: skip
    assert release["model"] == PERSON and release["budget"]["spentEpsilon"] == pytest.approx(0.2)
    counts = {cell["mesh"]: cell["count"] for cell in release["cells"]}
    for cell, people in HOMES.items():
        assert abs(counts[cell] - people) < 40, counts  # noisy (Laplace, ε 0.2), yet released
    assert release["mechanism"] == "laplace" and release["k"] == 10


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", f"/privacy/budgets/{PERSON}", '{"epsilon": 1.0, "delta": 1e-5}'),
        ("POST", "/privacy/releases", json.dumps({"model": PERSON, "mesh": "500m", "k": 10})),
    ],
)
def test_a_body_without_content_type_is_named_not_json(server: LiveServer, method: str, path: str, body: str) -> None:
    # What curl's -d sends when no content-type is given: the JSON text as a form.
    answer = httpx.request(method, server.url + path, content=body,
                           headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["pointer"] == "" and "not JSON" in problem["detail"] and "content-type" in problem["detail"]
    assert "ε" not in problem["detail"] and "/model" not in problem["detail"]
    wrong_shape = httpx.request(method, server.url + path, json=[1, 2])
    assert wrong_shape.status_code == 422 and wrong_shape.json()["detail"] == "/: give a JSON object"
