"""Temporal query rules of GS CIM 009 v1.8 (4.11, 5.7.4.4, 6.3.12) found by replaying the ETSI 021 cases:
which entities a temporal query answers, what it needs, and how options and format meet."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ngsild.test_temporal import (
    BAD,
    GAUGE,
    T,
    created,
)

INVALID = "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest"
# A second gauge upstream at Iwabuchi whose readings stop a day earlier, during the same flood.
UPSTREAM = "urn:ngsi-ld:WaterObserved:arakawa-iwabuchi"
EARLY = ["2024-05-31T22:00:00Z", "2024-05-31T23:00:00Z"]


def two_gauges(client: TestClient) -> None:
    created(client)
    upstream = {
        "id": UPSTREAM,
        "type": "WaterObserved",
        "height": [{"type": "Property", "value": v, "observedAt": t} for v, t in zip([3.1, 3.4], EARLY, strict=True)],
    }
    assert client.post(T, json=upstream).status_code == 201


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_an_entity_without_instances_in_the_interval_is_not_answered_nor_counted(adapter_client: TestClient) -> None:
    two_gauges(adapter_client)
    window = {"type": "WaterObserved", "timerel": "after", "timeAt": "2024-06-01T00:00:00Z", "count": "true"}
    response = adapter_client.get(T, params=window)
    assert ids(response) == [GAUGE] and response.headers["NGSILD-Results-Count"] == "1"
    # past the page too: the count leaves out the upstream gauge, and so does every page
    paged = adapter_client.get(T, params={**window, "limit": 1, "offset": 1})
    assert ids(paged) == [] and paged.headers["NGSILD-Results-Count"] == "1"
    both = adapter_client.get(T, params={**window, "timeAt": "2024-05-31T00:00:00Z"})
    assert sorted(ids(both)) == sorted([GAUGE, UPSTREAM])
    # the Query body's temporalQ selects the same way
    body = {
        "type": "Query",
        "entities": [{"type": "WaterObserved"}],
        "temporalQ": {"timerel": "before", "timeAt": EARLY[1]},
    }
    assert ids(adapter_client.post(f"{T.removesuffix('/entities')}/entityOperations/query", json=body)) == [UPSTREAM]


def test_ids_alone_are_no_temporal_query_unless_local(adapter_client: TestClient) -> None:
    two_gauges(adapter_client)
    only_ids = {"id": f"{GAUGE},{UPSTREAM}", "timerel": "after", "timeAt": "2024-05-31T00:00:00Z"}
    refused = adapter_client.get(T, params=only_ids)
    assert refused.status_code == 400 and refused.json()["type"] == BAD
    assert sorted(ids(adapter_client.get(T, params={**only_ids, "attrs": "height"}))) == sorted([GAUGE, UPSTREAM])
    assert sorted(ids(adapter_client.get(T, params={**only_ids, "local": "true"}))) == sorted([GAUGE, UPSTREAM])


@pytest.mark.parametrize("params", [{"options": "pretty"}, {"format": "pretty"}, {"options": "temporalValues,pretty"}])
def test_an_unknown_option_or_format_is_invalid_request(adapter_client: TestClient, params: dict[str, str]) -> None:
    created(adapter_client)
    for url in (f"{T}/{GAUGE}", T):
        response = adapter_client.get(url, params={"type": "WaterObserved", **params})
        assert response.status_code == 400 and response.json()["type"] == INVALID, response.text


def test_format_wins_over_options_and_leaves_aggregation_parameters_unused(adapter_client: TestClient) -> None:
    created(adapter_client)
    asked = {"format": "temporalValues", "options": "aggregatedValues", "aggrMethods": "sum", "attrs": "height"}
    response = adapter_client.get(f"{T}/{GAUGE}", params=asked)
    assert response.status_code == 200, response.text
    assert response.json()["height"]["values"][0] == [1.2, "2024-06-01T00:00:00Z"]
    # without aggregatedValues asked anywhere, aggregation parameters are still a mistake
    assert adapter_client.get(f"{T}/{GAUGE}", params={"aggrMethods": "sum"}).status_code == 400
