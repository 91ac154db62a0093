"""Paging links (GS CIM 009 6.3.13) on the other lists a GET pages: /subscriptions and /temporal/entities give
rel="prev"/"next" as GET /entities does, through the one helper, so a client walks every list the same way."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE

LD = {"Accept": "application/ld+json"}
# three gauges along the Arakawa, each with two readings: what the temporal list pages over
GAUGES = ["iwabuchi", "kasai", "senju"]


def _subscription(name: str) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:Subscription:{name}",
        "type": "Subscription",
        "entities": [{"type": "WaterObserved"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/flood"}},
    }


def test_subscription_pages_link_both_ways_in_the_plain_form(client: TestClient) -> None:
    for name in ("levee-a", "levee-b", "levee-c"):
        assert client.post(f"{BASE}/subscriptions", json=_subscription(name)).status_code == 201
    path = f"{BASE}/subscriptions"
    middle = client.get(path, params={"limit": "1", "offset": "1"}, headers=LD)
    assert middle.status_code == 200 and len(middle.json()) == 1
    assert middle.headers["Link"].split(", ") == [
        f'<{path}?limit=1&offset=0>;rel="prev";type="application/ld+json"',
        f'<{path}?limit=1&offset=2>;rel="next";type="application/ld+json"',
    ]
    last = client.get(path, params={"limit": "1", "offset": "2"}, headers=LD)
    # a JSON-LD answer has its @context in the body, so the header is the one link, written exactly so
    assert last.headers["Link"] == f'<{path}?limit=1&offset=1>;rel="prev";type="application/ld+json"'
    whole = client.get(path, params={"limit": "15"}, headers=LD)
    assert len(whole.json()) == 3 and "Link" not in whole.headers
    first = client.get(path, params={"limit": "2", "count": "true"})
    assert first.headers["NGSILD-Results-Count"] == "3"
    context_link, paging = first.headers["Link"].split(", ")  # a JSON answer: the @context link first
    assert "json-ld#context" in context_link
    assert paging == f'<{path}?count=true&limit=2&offset=2>;rel="next";type="application/json"'


def test_temporal_entity_pages_link_both_ways(adapter_client: TestClient) -> None:
    path = f"{BASE}/temporal/entities"
    for name in GAUGES:
        level = [
            {"type": "Property", "value": v, "observedAt": t}
            for v, t in ((1.1, "2024-09-01T00:00:00Z"), (1.4, "2024-09-01T01:00:00Z"))
        ]
        gauge = {"id": f"urn:ngsi-ld:WaterObserved:{name}", "type": "WaterObserved", "height": level}
        assert adapter_client.post(path, json=gauge).status_code == 201, name
    query = {"type": "WaterObserved", "timerel": "after", "timeAt": "2024-01-01T00:00:00Z"}
    middle = adapter_client.get(path, params={**query, "limit": "1", "offset": "1"}, headers=LD)
    assert middle.status_code == 200, middle.text
    assert [e["id"] for e in middle.json()] == ["urn:ngsi-ld:WaterObserved:kasai"]
    rest = "timeAt=2024-01-01T00:00:00Z&timerel=after&type=WaterObserved"
    assert middle.headers["Link"].split(", ") == [
        f'<{path}?limit=1&offset=0&{rest}>;rel="prev";type="application/ld+json"',
        f'<{path}?limit=1&offset=2&{rest}>;rel="next";type="application/ld+json"',
    ]
    # following next gives the last gauge, which has no next of its own
    target = middle.headers["Link"].split(", ")[1].split(">")[0][1:]
    last = adapter_client.get(target, headers=LD)
    assert [e["id"] for e in last.json()] == ["urn:ngsi-ld:WaterObserved:senju"]
    assert 'rel="next"' not in last.headers["Link"]
    counted = adapter_client.get(path, params={**query, "limit": "0", "count": "true"}, headers=LD)
    assert counted.headers["NGSILD-Results-Count"] == "3" and "Link" not in counted.headers
