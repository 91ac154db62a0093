"""plateaukit, the PLATEAU Python library, as the peer of futago's CityGML import.

It is driven the way its users drive it: register the zip as a local dataset (``plateaukit install
<id> --local <zip>``; Python: ``install_dataset``) and export the buildings' footprints to GeoJSON
(``plateaukit export-geojson --dataset <id>``; Python: ``load_dataset(id).to_geojson``). That runs in
a child process whose XDG folders point into ``workdir``, so plateaukit's config and data never
touch the user's own. Only the export is timed; the figure is buildings per second of that export.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

_CHILD = textwrap.dedent(
    """
    import glob, json, sys, time
    from plateaukit.installer import install_dataset
    from plateaukit.core.dataset import load_dataset

    zip_path, out, split = sys.argv[1], sys.argv[2], int(sys.argv[3])
    install_dataset("plateau-22203-numazu-shi-2021.v2", local=zip_path, force=True)
    dataset = load_dataset("plateau-22203-numazu-shi-2021.v2")
    started = time.perf_counter()
    dataset.to_geojson(out, types=["bldg"], seq=True, split=split, altitude=False)
    seconds = time.perf_counter() - started
    files = sorted(glob.glob(out.replace(".geojsonl", "*.geojsonl")))
    features, buildings = 0, set()
    for name in files:
        with open(name, encoding="utf-8") as fd:
            for line in fd:
                if line.strip():
                    feature = json.loads(line)
                    features += 1
                    if feature["properties"].get("type") == "Building":
                        buildings.add(feature["properties"]["gmlId"])
    print(json.dumps({"seconds": seconds, "features": features, "buildings": len(buildings)}))
    """
)


def plateaukit_buildings_per_s(
    zip_path: Path, workdir: Path, *, expected: int | None = None, split: int | None = None
) -> dict[str, Any]:
    """Convert ``zip_path``'s buildings to GeoJSON with plateaukit and time it.

    ``expected`` is the true building count; a mismatch raises, because a fast peer that drops
    buildings is not a peer. ``split`` is plateaukit's own process fan-out (default: one worker
    per CPU, at most one per bldg file), so the peer gets its parallelism as futago gets its own.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if split is None:
        import zipfile

        with zipfile.ZipFile(zip_path) as zf:
            bldg_files = sum(1 for n in zf.namelist() if "/bldg/" in n and n.endswith(".gml"))
        split = max(1, min(os.cpu_count() or 1, bldg_files))
    env = dict(os.environ)
    env.update(XDG_CONFIG_HOME=str(workdir / "config"), XDG_DATA_HOME=str(workdir / "data"))
    out = workdir / "plateaukit.geojsonl"
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(Path(zip_path).resolve()), str(out), str(split)],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=3600,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"plateaukit failed (exit {proc.returncode}); is it installed?\n{proc.stderr[-2000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    n = int(figures["buildings"])
    if expected is not None and n != expected:
        raise AssertionError(f"plateaukit produced {n} building features, the district holds {expected}")
    seconds = float(figures["seconds"])
    return {"plateaukit_buildings_per_s": n / seconds if seconds > 0 else float("inf"), "plateaukit_buildings": n,
            "plateaukit_s": seconds}  # fmt: skip


def run(db: str | None = None, progress: bool = True, buildings: int = 20_000) -> dict[str, Any]:
    """``futago bench city_peer``: generate a district and time plateaukit on it (``db`` is unused)."""
    import tempfile

    from futago.city.generator import DistrictSpec, generate_district

    with tempfile.TemporaryDirectory() as tmp:
        district = generate_district(DistrictSpec(buildings=buildings, seed=1), Path(tmp) / "district.zip")
        figures = plateaukit_buildings_per_s(district.path, Path(tmp) / "pk", expected=district.building_count)
        figures["generate_buildings_per_s"] = district.building_count / district.seconds
        return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
