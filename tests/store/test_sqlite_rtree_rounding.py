"""SQLite's R*Tree rounds each box outward to 32-bit floats; the store predicts that rounding to leave boxes that did
not change alone (``_stored``). The prediction must be exact, or an unchanged twin is written again for nothing."""

from __future__ import annotations

import random
import sqlite3

from futago.store.sqlite.twins import _stored


def test_the_predicted_box_is_the_box_the_r_tree_keeps() -> None:
    rng = random.Random(19)
    boxes: list[tuple[float, float, float, float]] = []
    for _ in range(20_000):
        lon, lat = rng.uniform(-180, 180), rng.uniform(-90, 90)
        lon = rng.choice([lon, round(lon, 6), round(lon, 3), 0.0, -0.0, 1e-40, -1e-40])
        boxes.append((lon, lat, lon + rng.choice([0.0, 1e-9, 0.5]), lat + rng.choice([0.0, 1e-7])))
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE boxes USING rtree (rid, min_lon, max_lon, min_lat, max_lat)")
    conn.executemany(
        "INSERT INTO boxes VALUES (?, ?, ?, ?, ?)", [(i, b[0], b[2], b[1], b[3]) for i, b in enumerate(boxes)]
    )
    kept = {rid: tuple(box) for rid, *box in conn.execute("SELECT * FROM boxes")}
    assert len(kept) == len(boxes)
    assert [rid for rid, box in kept.items() if _stored(boxes[rid]) != box] == []
