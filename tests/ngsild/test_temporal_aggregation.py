"""The aggregated temporal representation: each aggrMethod against values worked out by hand, and real data."""

from __future__ import annotations

import csv
import math
import statistics
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from futago.core.telemetry import SeriesData
from futago.services.ngsild.aggregation import aggregate, parse_period
from futago.services.ngsild.errors import BadRequestData
from tests.conftest import SHARED_DATA
from tests.ngsild.conftest import BASE

T = f"{BASE}/temporal/entities"
ROAD = "urn:ngsi-ld:TrafficFlowObserved:kototoi-bridge"
# Vehicles counted every five minutes on a bridge, and the road's state: the instances aggregated below.
COUNTS = [12, 15, 12, 20, 18, 18, 7]
STATES = ["free", "free", "slow", "jam", "slow", "slow", "free"]
TIMES = [f"2024-06-03T08:{m:02d}:00Z" for m in range(0, 35, 5)]
NAB = SHARED_DATA / "nab" / "realKnownCause" / "machine_temperature_system_failure.csv"


def road() -> dict[str, Any]:
    return {
        "id": ROAD,
        "type": "TrafficFlowObserved",
        "intensity": [{"type": "Property", "value": v, "observedAt": t} for v, t in zip(COUNTS, TIMES, strict=True)],
        "congested": [{"type": "Property", "value": v, "observedAt": t} for v, t in zip(STATES, TIMES, strict=True)],
    }


def aggregated(client: TestClient, attr: str, methods: str, **params: Any) -> dict[str, Any]:
    assert client.post(T, json=road()).status_code in (201, 204)
    query = {"attrs": attr, "options": "aggregatedValues", "aggrMethods": methods, **params}
    response = client.get(f"{T}/{ROAD}", params=query)
    assert response.status_code == 200, response.text
    attribute: dict[str, Any] = response.json()[attr]
    assert attribute["type"] == "Property"
    return attribute


QUARTERS = {
    "timerel": "between",
    "timeAt": TIMES[0],
    "endTimeAt": "2024-06-03T08:35:00Z",
    "aggrPeriodDuration": "PT15M",
}
PERIODS = [
    ("2024-06-03T08:00:00Z", "2024-06-03T08:15:00Z"),  # 12, 15, 12
    ("2024-06-03T08:15:00Z", "2024-06-03T08:30:00Z"),  # 20, 18, 18
    ("2024-06-03T08:30:00Z", "2024-06-03T08:35:00Z"),  # 7 (the interval ends at 08:35)
]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("totalCount", [3, 3, 1]),
        ("distinctCount", [2, 2, 1]),
        ("sum", [39, 56, 7]),
        ("avg", [13, 56 / 3, 7]),
        ("min", [12, 18, 7]),
        ("max", [15, 20, 7]),
        ("sumsq", [144 + 225 + 144, 400 + 324 + 324, 49]),
        # sample standard deviation: sqrt(((-1)² + 2² + (-1)²) / 2) = sqrt(3); (4/3)² + 2·(2/3)² = 8/3, / 2
        ("stddev", [math.sqrt(3), math.sqrt(4 / 3), None]),
    ],
)
def test_each_method_over_fifteen_minute_periods(client: TestClient, method: str, expected: list[Any]) -> None:
    got = aggregated(client, "intensity", method, **QUARTERS)[method]
    assert [(start, end) for _, start, end in got] == PERIODS
    for (value, _, _), want in zip(got, expected, strict=True):
        assert value == (None if want is None else pytest.approx(want, rel=1e-12))


def test_all_methods_at_once_and_one_period_for_the_whole_interval(client: TestClient) -> None:
    methods = "totalCount,distinctCount,sum,avg,min,max,stddev,sumsq"
    got = aggregated(client, "intensity", methods, timerel="before", timeAt="2024-06-03T09:00:00Z")
    assert set(got) == {"type", *methods.split(",")}
    # no aggrPeriodDuration: one period from the first reading to the interval's end
    assert got["sum"] == [[102, "2024-06-03T08:00:00Z", "2024-06-03T09:00:00Z"]]
    assert got["distinctCount"][0][0] == 5
    assert got["stddev"][0][0] == pytest.approx(statistics.stdev(COUNTS))


def test_after_starts_the_periods_at_time_at(client: TestClient) -> None:
    got = aggregated(
        client, "intensity", "totalCount,max", timerel="after", timeAt=TIMES[0], aggrPeriodDuration="PT10M"
    )
    # after's timeAt is an inclusive bound (4.11) and periods start there: [08:00, 08:10) holds 08:00 and 08:05
    assert [v for v, _, _ in got["totalCount"]] == [2, 2, 2, 1]
    assert [v for v, _, _ in got["max"]] == [15, 20, 18, 7]
    assert got["max"][0][1] == "2024-06-03T08:00:00Z"


def test_strings_count_and_compare_but_do_not_add_up(client: TestClient) -> None:
    got = aggregated(client, "congested", "totalCount,distinctCount,min,max,avg", **QUARTERS)
    assert [v for v, _, _ in got["totalCount"]] == [3, 3, 1]
    assert [v for v, _, _ in got["distinctCount"]] == [2, 2, 1]
    assert [v for v, _, _ in got["min"]] == ["free", "jam", "free"]
    assert [v for v, _, _ in got["max"]] == ["slow", "slow", "free"]
    assert [v for v, _, _ in got["avg"]] == [None, None, None]


def test_periods_without_readings_are_left_out(client: TestClient) -> None:
    got = aggregated(client, "intensity", "totalCount", **{**QUARTERS, "aggrPeriodDuration": "PT1M"})
    assert [(v, s[11:16]) for v, s, _ in got["totalCount"]] == [(1, t[11:16]) for t in TIMES]


def test_iso_8601_periods() -> None:
    assert parse_period("PT1M") == 60_000_000
    assert parse_period("P1DT2H") == 26 * 3_600_000_000
    assert parse_period("P1W") == 7 * 86_400_000_000
    assert parse_period("PT0.5S") == 500_000
    for bad in ("P", "PT", "1h", "P1Y", "P2M", "PT0S", "P1.5D", ""):
        with pytest.raises(BadRequestData):
            parse_period(bad)


@pytest.mark.skipif(not NAB.exists(), reason=f"needs the NAB data set in {NAB.parent} (../shared/data)")
def test_a_day_of_real_readings_at_one_hour_agrees_with_the_statistics_module(client: TestClient) -> None:
    """A day of NAB's machine temperature readings (every five minutes), aggregated by hour, against Python's own
    statistics over the same readings."""
    day = datetime(2013, 12, 3)
    with NAB.open() as source:
        rows = [(datetime.fromisoformat(r["timestamp"]), float(r["value"])) for r in csv.DictReader(source)]
    readings = [(t, v) for t, v in rows if day <= t < day + timedelta(days=1)]
    assert len(readings) == 288
    instances = [{"value": v, "observedAt": t.isoformat() + "Z"} for t, v in readings]
    entity = {"id": "urn:ngsi-ld:Device:machine-1", "type": "Device", "temperature": instances}
    assert client.post(T, json=entity).status_code == 201
    params = {
        "options": "aggregatedValues",
        "aggrMethods": "totalCount,sum,avg,min,max,stddev,sumsq",
        "aggrPeriodDuration": "PT1H",
        "timerel": "between",
        "timeAt": "2013-12-03T00:00:00Z",
        "endTimeAt": "2013-12-04T00:00:00Z",
    }
    got = client.get(f"{T}/urn:ngsi-ld:Device:machine-1", params=params).json()["temperature"]
    assert len(got["avg"]) == 24
    for hour in range(24):
        values = [v for t, v in readings if t.hour == hour]
        assert got["totalCount"][hour][0] == len(values) == 12
        assert got["avg"][hour][0] == pytest.approx(statistics.fmean(values), rel=1e-12)
        assert got["sum"][hour][0] == pytest.approx(math.fsum(values), rel=1e-12)
        assert got["min"][hour][0] == min(values) and got["max"][hour][0] == max(values)
        assert got["stddev"][hour][0] == pytest.approx(statistics.stdev(values), rel=1e-9)
        assert got["sumsq"][hour][0] == pytest.approx(math.fsum(v * v for v in values), rel=1e-12)
        assert got["avg"][hour][1] == f"2013-12-03T{hour:02d}:00:00Z"


def test_booleans_count_as_zero_and_one() -> None:
    ts = np.array([0, 10, 20, 60, 70], dtype=np.int64)
    data = SeriesData("b1", ts, np.array([True, False, True, True, True]), np.full(5, 2, dtype=np.uint8))
    got = aggregate(data, ["sum", "avg", "distinctCount", "max"], origin_us=0, period_us=60)
    assert [v for v, _, _ in got["sum"]] == [2, 2]
    assert [v for v, _, _ in got["avg"]] == [pytest.approx(2 / 3), 1.0]
    assert [v for v, _, _ in got["distinctCount"]] == [2, 1]
    assert [v for v, _, _ in got["max"]] == [1, 1]
