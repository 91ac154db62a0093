"""An idPattern is matched against every candidate id: it has the bounds of the q language's regular expressions."""

from __future__ import annotations

from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App

BACKTRACKING = "(a+)+$"  # catastrophic on "aaaa…b"


def test_a_backtracking_id_pattern_is_refused_in_queries_and_subscriptions(app: App) -> None:
    client = TestClient(create_api(app))
    answer = client.get("/ngsi-ld/v1/entities", params={"type": "T", "idPattern": BACKTRACKING})
    assert answer.status_code == 400
    assert "catastrophic backtracking" in answer.json()["detail"]
    subscription = {
        "id": "urn:ngsi-ld:Subscription:s1",
        "type": "Subscription",
        "entities": [{"type": "T", "idPattern": BACKTRACKING}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}},
    }
    refused = client.post("/ngsi-ld/v1/subscriptions", json=subscription)
    assert refused.status_code == 400 and "catastrophic backtracking" in refused.json()["detail"]
    fine = client.get("/ngsi-ld/v1/entities", params={"type": "T", "idPattern": "^urn:ngsi-ld:T:.*"})
    assert fine.status_code == 200
