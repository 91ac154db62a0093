"""``futago bench ngsild`` at a small size: every figure measured (or null with why), no timing asserted."""

from __future__ import annotations

from pathlib import Path

import benchmarks.ngsild as bench

from futago.app import build
from futago.config import Settings
from futago.core.twins import TwinScan


def test_weather_entities_have_ten_attributes() -> None:
    entity = bench.weather_entity(12_345, round_=1)
    assert len(set(entity) - {"id", "type"}) == 10
    assert entity["id"] == "urn:ngsi-ld:WeatherObserved:0012345"
    assert entity["temperature"]["value"] != bench.weather_entity(12_345)["temperature"]["value"]  # rounds differ


def test_bench_ngsild_at_a_small_size(tmp_path: Path) -> None:
    figures = bench.run(
        db=str(tmp_path), progress=False, entities=300, updates=100, batch=100, query_runs=2, notification_updates=20
    )
    assert figures["batch_upsert_entities_per_s"] > 0
    assert figures["batch_upsert_target_per_s"] == 5_000 and figures["batch_upsert_peer_per_s"] == 3_500
    assert figures["batch_upsert_floor_per_s"] > 0 and figures["batch_upsert_ratio_to_floor"] > 0
    for figure in ("query_p50_ms", "temporal_p50_ms", "notification_p99_ms"):
        assert (figures[figure] is None) == (figure in figures["reasons"]), figure
    if figures["query_p50_ms"] is not None:
        assert 0 < figures["query_first_page"] <= 100
    if figures["notification_p99_ms"] is not None:  # a figure, not asserted: at least some were notified
        assert 0 <= figures["lost_notifications"] < 20
    stored = build(Settings(db=str(tmp_path / "ngsild.db"), data_root=str(tmp_path)))
    try:  # the bench wrote what it says: every entity, the first hundred upserted twice
        twins = stored.store.scan_twins(TwinScan(limit=1000))
        weather = [t for t in twins if t.id.startswith("urn:ngsi-ld:WeatherObserved:0")]
        assert len(weather) == 300
        by_id = {t.id: t for t in weather}
        for number, round_ in ((1, 1), (99, 1), (100, 0), (299, 0)):
            expected = bench.weather_entity(number, round_)["temperature"]["value"]
            assert by_id[bench.entity_id(number)].properties["temperature"] == expected, number
    finally:
        stored.close()
