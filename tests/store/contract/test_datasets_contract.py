"""DatasetStore contract: dataset records and the per-series telemetry summary, for every adapter."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from futago.core.datasets import DatasetRecord
from futago.core.errors import InvalidInput, NotFound
from futago.core.ports import SeriesStats, Store
from tests.store.contract.test_telemetry_contract import T0, S, batch


def _record(
    dataset_id: str, kind: str = "city_import", updated: str = "2026-01-01T00:00:00Z", **extra: Any
) -> DatasetRecord:
    return DatasetRecord(dataset_id, kind, updated, **extra)


def test_records_are_put_replaced_listed_by_kind_and_deleted(store: Store) -> None:
    store.put_dataset(_record("city_import:b", records={"buildings": 3}))
    store.put_dataset(_record("city_import:a", licence="CC0 (synthetic)"))
    store.put_dataset(_record("other:x", kind="other"))
    store.put_dataset(_record("city_import:b", records={"buildings": 5}, updated="2026-02-01T00:00:00Z"))
    assert [r.id for r in store.list_datasets()] == ["city_import:a", "city_import:b", "other:x"]
    assert [r.id for r in store.list_datasets("city_import")] == ["city_import:a", "city_import:b"]
    assert store.list_datasets("nothing") == []
    again = store.get_dataset("city_import:b")
    assert again == _record("city_import:b", records={"buildings": 5}, updated="2026-02-01T00:00:00Z")
    assert store.get_dataset("city_import:a") == _record("city_import:a", licence="CC0 (synthetic)")
    assert store.get_dataset("missing") is None
    store.delete_dataset("city_import:a")
    assert [r.id for r in store.list_datasets("city_import")] == ["city_import:b"]
    with pytest.raises(NotFound):
        store.delete_dataset("city_import:a")


def test_a_record_without_id_kind_or_updated_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput) as err:
        store.put_dataset(DatasetRecord("x", "", ""))
    assert sorted(p.pointer for p in err.value.problems) == ["/kind", "/updated"]
    assert store.list_datasets() == []


def test_a_record_is_written_inside_a_unit_of_work(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.put_dataset(_record("city_import:rolled-back"))
        raise RuntimeError("the import failed")
    assert store.get_dataset("city_import:rolled-back") is None


def test_series_stats_count_readings_and_span_each_series(store: Store) -> None:
    assert store.series_stats() == []
    store.append_series(
        [
            batch(np.arange(10) * S + T0, np.arange(10.0), twin="p2", name="flow"),
            batch([T0 + 5 * S, T0 + 2 * S], [1.0, 2.0], twin="p1", name="temp"),
        ]
    )
    store.append_series([batch([T0 + 3 * S, T0 + 99 * S], [7.0, 8.0], twin="p2", name="flow")])  # 1 overwrite
    store.append_series([batch([T0 - S], [0.5], twin="p1", name="temp")])  # older than what is stored
    assert store.series_stats() == [
        SeriesStats("p1", "temp", 3, T0 - S, T0 + 5 * S),
        SeriesStats("p2", "flow", 11, T0, T0 + 99 * S),
    ]
    assert store.apply_retention(T0 + 5 * S) == 7  # p1: 2 of 3 go, p2: 5 of 11 go
    assert store.series_stats() == [
        SeriesStats("p1", "temp", 1, T0 + 5 * S, T0 + 5 * S),
        SeriesStats("p2", "flow", 6, T0 + 5 * S, T0 + 99 * S),
    ]
    store.delete_series("p1")
    assert [s.twin_id for s in store.series_stats()] == ["p2"]
