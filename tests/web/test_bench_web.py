"""``futago bench web`` prints its figures, measured in Chromium on a small district (the bench itself uses 10,000)."""

from __future__ import annotations

import pytest
from benchmarks import web
from benchmarks.browser import CHROMIUM

KEYS = {"first_render_ms", "sse_update_p95_ms", "first_render_ratio", "sse_update_ratio", "buildings"}


def test_the_web_bench_measures_in_the_browser() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: run scripts/install-system-deps.sh (Debian package 'chromium')")
    figures = web.run(progress=False, buildings=300)
    assert set(figures) >= KEYS
    assert figures["buildings"] == 300  # the page drew every generated building
    assert figures["readings"] == web.READINGS and figures["console_errors"] == 0
    assert 0 < figures["sse_update_p50_ms"] <= figures["sse_update_p95_ms"]  # measured, not asserted against a target
    assert len(figures["first_render_loads_ms"]) == web.LOADS and figures["first_render_ms"] > 0
