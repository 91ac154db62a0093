"""A server that requires authentication: the dashboard asks for an API key, starts a session (an HttpOnly cookie)
and then works as before; signing out ends it."""

from __future__ import annotations

import pytest
from benchmarks.browser import CHROMIUM, BackgroundServer, chromium

from futago.app import App
from futago.security.policy import PolicyEntry


def test_the_dashboard_signs_in_with_an_api_key_and_out_again(app: App) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: run scripts/install-system-deps.sh (Debian package 'chromium')")
    app.settings = app.settings.with_overrides(require_auth=True)
    app.security.grant(PolicyEntry("group:operators", "*", frozenset({"READ"})))
    _, key = app.security.create_key("operator", "user:sato", groups=["group:operators"], scopes=["READ"])
    errors: list[str] = []
    with BackgroundServer(app) as server, chromium() as context:
        page = context.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(server.url + "/")
        page.wait_for_selector("#login:not([hidden])")
        page.fill("#login-key", "fk_wrong_key")
        page.click("#login-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('login-error').textContent.length > 0")
        page.fill("#login-key", key)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("body[data-ready=true]", state="attached", timeout=60_000)
        page.wait_for_function("() => window.futago.probe.firstRenderMs !== null", timeout=60_000)
        cookie = next(c for c in context.cookies() if c["name"] == "futago_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.is_visible("#signout")
        page.click("#signout")
        page.wait_for_selector("#login:not([hidden])")
    # Only the refusals before signing in (the session check, the wrong key) may show as failed loads.
    assert [e for e in errors if "401" not in e] == []
    app.audit.flush()
    actions = [(e.actor, e.action) for e in app.audit.entries()]
    assert (f"key:{key.split('_')[1]}", "auth.login") in actions and (
        f"key:{key.split('_')[1]}",
        "auth.logout",
    ) in actions
