"""udx/dem/: the terrain as a dem:TINRelief of gml:Triangles, one file per 2nd-level mesh.

A regular grid split into two triangles per cell; the grid is coarsened for big districts so that
the DEM stays a small fraction of the dataset.
"""

from __future__ import annotations

import math

import numpy as np

from futago.city.generator import gml
from futago.city.generator.geo import LocalFrame
from futago.city.generator.mesh import second_code, third_index
from futago.city.generator.plan import River, ground_height
from futago.city.generator.sink import Sink

UP = "../../"
MAX_CELLS = 120  # per side


def write_dem(
    sink: Sink, frame: LocalFrame, river: River | None, extent: tuple[float, float, float, float], version: str
) -> None:
    """``extent`` is (x_min, y_min, x_max, y_max) in local metres."""
    x0, y0, x1, y1 = extent
    step = max(25.0, max(x1 - x0, y1 - y0) / MAX_CELLS)
    nx, ny = math.ceil((x1 - x0) / step), math.ceil((y1 - y0) / step)
    gx, gy = np.meshgrid(x0 + step * np.arange(nx + 1), y0 + step * np.arange(ny + 1), indexing="ij")
    lon, lat = frame.to_lonlat(gx, gy)
    lon, lat = np.round(lon, 10), np.round(lat, 10)
    h = np.round(ground_height(river, gx, gy), 3)
    pts = np.array(
        [
            f"{a!r} {o!r} {z!r}"
            for a, o, z in zip(lat.ravel().tolist(), lon.ravel().tolist(), h.ravel().tolist(), strict=True)
        ],
        dtype=object,
    ).reshape(lon.shape)
    gi, gj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    i, j = gi.ravel(), gj.ravel()
    # Two counter-clockwise triangles per cell, as (i, j) vertex triples.
    tris = [((i, j), (i + 1, j), (i + 1, j + 1)), ((i, j), (i + 1, j + 1), (i, j + 1))]
    c_lon = (lon[i, j] + lon[i + 1, j + 1]) / 2
    c_lat = (lat[i, j] + lat[i + 1, j + 1]) / 2
    iy, ix = third_index(c_lon, c_lat)
    codes = np.array([second_code(a, b) for a, b in zip(iy.tolist(), ix.tolist(), strict=True)])
    ind = "\t\t\t\t\t\t\t\t"
    for code in sorted(set(codes.tolist())):
        sel = np.flatnonzero(codes == code)
        chunks: list[str] = []
        for tri in tris:
            a, b, c = (pts[ti[sel], tj[sel]] for ti, tj in tri)
            chunks.extend(
                f"{ind}<gml:Triangle>\n{ind}\t<gml:exterior>\n{ind}\t\t<gml:LinearRing>\n"
                f"{ind}\t\t\t<gml:posList>{p} {q} {r} {p}</gml:posList>\n"
                f"{ind}\t\t</gml:LinearRing>\n{ind}\t</gml:exterior>\n{ind}</gml:Triangle>\n"
                for p, q, r in zip(a.tolist(), b.tolist(), c.tolist(), strict=True)
            )
        ci = np.concatenate([sel, sel])
        cells_lat = np.concatenate([lat[i[ci], j[ci]], lat[i[ci] + 1, j[ci] + 1]])
        cells_lon = np.concatenate([lon[i[ci], j[ci]], lon[i[ci] + 1, j[ci] + 1]])
        cells_h = np.concatenate([h[i[ci], j[ci]], h[i[ci] + 1, j[ci] + 1], h[i[ci] + 1, j[ci]], h[i[ci], j[ci] + 1]])
        env = (
            float(cells_lat.min()), float(cells_lon.min()), float(cells_h.min()),
            float(cells_lat.max()), float(cells_lon.max()), float(cells_h.max()),
        )  # fmt: skip
        start = (
            f'\t<core:cityObjectMember>\n\t\t<dem:ReliefFeature gml:id="dem_{code}">\n\t\t\t<dem:lod>1</dem:lod>\n'
            f'\t\t\t<dem:reliefComponent>\n\t\t\t\t<dem:TINRelief gml:id="dem_{code}_tin">\n'
            "\t\t\t\t\t<dem:lod>1</dem:lod>\n\t\t\t\t\t<dem:tin>\n\t\t\t\t\t\t<gml:TriangulatedSurface>\n"
            "\t\t\t\t\t\t\t<gml:trianglePatches>\n"
        )
        end = (
            "\t\t\t\t\t\t\t</gml:trianglePatches>\n\t\t\t\t\t\t</gml:TriangulatedSurface>\n\t\t\t\t\t</dem:tin>\n"
            "\t\t\t\t</dem:TINRelief>\n\t\t\t</dem:reliefComponent>\n\t\t</dem:ReliefFeature>\n\t</core:cityObjectMember>\n"
        )
        sink.write(f"udx/dem/{code}_dem_6697_op.gml", [gml.header(version, UP, env), start, *chunks, end, gml.FOOTER])
