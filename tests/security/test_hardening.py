"""Hardening: security headers (and the dashboard's content security policy), rate limits per key, CORS only
for configured origins, and a body size limit."""

from __future__ import annotations

from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, build
from futago.config import Settings
from futago.security.policy import PolicyEntry


def test_every_answer_carries_security_headers_and_the_dashboard_a_strict_policy(app: App) -> None:
    with TestClient(create_api(app)) as client:
        api = client.get("/twins")
        page = client.get("/")
    for response in (api, page):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY" and response.headers["referrer-policy"] == "no-referrer"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    assert "content-security-policy" not in api.headers  # /docs and clients of the API are not constrained


def test_the_policy_lets_a_configured_base_map_in(app: App) -> None:
    app.settings = app.settings.with_overrides(base_tiles="https://tiles.example.jp/{z}/{x}/{y}.png")
    with TestClient(create_api(app)) as client:
        policy = client.get("/").headers["content-security-policy"]
    assert "img-src 'self' data: blob: https://tiles.example.jp;" in policy


def test_a_key_over_its_rate_is_answered_429_and_the_local_admin_is_not_throttled(tmp_path: object) -> None:
    app = build(Settings(db=str(tmp_path) + "/rate.db", rate_limit_per_minute=60, require_auth=True))  # burst 12
    app.security.grant(PolicyEntry("user:busy", "query", frozenset({"READ"})))
    _, key = app.security.create_key("busy", "user:busy")
    try:
        with TestClient(create_api(app)) as client:
            codes = [client.get("/twins", headers={"Authorization": f"Bearer {key}"}).status_code for _ in range(14)]
            refused = client.get("/twins", headers={"Authorization": f"Bearer {key}"})
        assert codes[:12] == [200] * 12 and 429 in codes[12:]
        assert refused.status_code == 429 and refused.headers["content-type"].startswith("application/problem+json")
        assert "rate limit" in refused.json()["detail"]
        app.settings = app.settings.with_overrides(require_auth=False)
        with TestClient(create_api(app)) as client:
            assert all(client.get("/twins").status_code == 200 for _ in range(30))
    finally:
        app.close()


def test_cors_answers_only_configured_origins(app: App) -> None:
    preflight = {"Origin": "https://city.example.jp", "Access-Control-Request-Method": "GET"}
    with TestClient(create_api(app)) as client:
        assert "access-control-allow-origin" not in client.options("/twins", headers=preflight).headers
    app.settings = app.settings.with_overrides(cors_origins="https://city.example.jp")
    with TestClient(create_api(app)) as client:
        allowed = client.options("/twins", headers=preflight)
        other = client.options("/twins", headers={**preflight, "Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://city.example.jp"
    assert "access-control-allow-origin" not in other.headers


def test_a_body_over_the_limit_is_refused(app: App) -> None:
    app.settings = app.settings.with_overrides(max_body_bytes=1000)
    with TestClient(create_api(app)) as client:
        response = client.post("/query", content=b"x" * 5000, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.headers["content-type"].startswith("application/problem+json")


def test_an_oversized_field_or_too_deep_a_body_is_a_422_naming_it(app: App) -> None:
    with TestClient(create_api(app)) as client:
        long = client.put(
            "/twins/t1", json={"$metadata": {"$model": "dtmi:futago:demo:Building;1"}, "name": "x" * 1_000_001}
        )
        deep: object = 1
        for _ in range(70):
            deep = [deep]
        nested = client.post("/query", json={"query": "SELECT * FROM DIGITALTWINS", "extra": deep})
    assert long.status_code == 422 and long.json()["pointer"] == "/name"
    assert nested.status_code == 422 and "deeper" in nested.text


def test_a_rate_limit_of_zero_means_no_limit(tmp_path: object) -> None:
    from futago.security.service import RateLimiter

    limiter = RateLimiter(0)
    for _ in range(1000):
        limiter.take("anyone")
