"""The dashboard in a real browser (Debian's Chromium, headless, through Playwright) against a running demo.

The demo runs as a user starts it (``futago demo``), with the flood scenario on a fast clock so that a storm,
its alert and the floodgate proposal come within the test's time. Screenshots of every view are written to
``build/screenshots/`` for a person to look at; the assertions read the page and the API.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from benchmarks.browser import CHROMIUM, chromium, open_dashboard

from futago.api.dashboard import dist_folder
from futago.demo import _twins
from tests.conftest import REPO, free_port

SHOTS = REPO / "build" / "screenshots"
BACKGROUND_RGB = (0xEC, 0xEF, 0xF1)  # the map's neutral background


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: run scripts/install-system-deps.sh (Debian package 'chromium')")
    if not (dist_folder() / "index.html").is_file():
        pytest.fail("the dashboard is not built: run `make web` (make test does it)")
    folder = tmp_path_factory.mktemp("demo")
    port = free_port()
    command = [sys.executable, "-m", "futago.cli", "demo", "--port", str(port), "--db", str(folder / "demo.db"),
               "--flood-step", "0.25"]  # fmt: skip
    process = subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                # Ready once the live flood has imported its district (its station is a twin).
                if httpx.get(f"{base}/twins/kano-station", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                pytest.fail(f"futago demo exited: {process.stdout.read() if process.stdout else ''}")
            time.sleep(0.5)
        else:
            pytest.fail("futago demo did not come up within 90 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def context() -> Iterator[Any]:
    pytest.importorskip("playwright.sync_api", reason="install futago[test] for Playwright")
    with chromium() as browser_context:
        yield browser_context


@pytest.fixture(scope="module")
def loaded(demo: str, context: Any) -> tuple[Any, list[str]]:
    errors: list[str] = []
    page = open_dashboard(context, demo, errors)
    page.evaluate("localStorage.setItem('futago.lang', 'ja')")
    return page, errors


def _shot(page: Any, name: str) -> np.ndarray:
    """Save a screenshot under build/screenshots and return its pixels (RGB, 0-255)."""
    import matplotlib.image as mpimg

    SHOTS.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(path=str(SHOTS / f"{name}.png"))
    pixels = mpimg.imread(io.BytesIO(png), format="png")
    return np.asarray(pixels[..., :3] * 255, dtype=np.int16)


def _map_pixels(page: Any, name: str) -> np.ndarray:
    box = page.locator("#map").bounding_box()
    pixels = _shot(page, name)
    x, y, w, h = (int(box[k]) for k in ("x", "y", "width", "height"))
    return pixels[y : y + h, x : x + w]


def _near(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 18) -> np.ndarray:
    return np.all(np.abs(pixels - np.array(rgb)) <= tolerance, axis=-1)


def _alert_red(pixels: np.ndarray) -> np.ndarray:
    """Pixels of the alert colour as the map lights it (roofs brighter, walls darker): strongly red-pink."""
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return (r > 120) & (r > 1.6 * g) & (r > 1.25 * b)


def _building_blue(pixels: np.ndarray) -> np.ndarray:
    """Pixels of the height ramp's blues, lit or shaded."""
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return (b > r + 40) & (b >= g)


def _view(page: Any, name: str) -> None:
    page.click(f"[role=tab][data-view={name}]")
    page.wait_for_selector(f"[role=tab][data-view={name}][aria-selected=true]")


def test_the_page_loads_with_no_console_errors(loaded: tuple[Any, list[str]]) -> None:
    page, errors = loaded
    page.wait_for_timeout(1500)  # let the live stream deliver a few events
    assert errors == []
    assert page.evaluate("window.futago.probe.buildingCount") >= 400  # the demo's and the flood district's


def test_the_map_canvas_is_drawn(loaded: tuple[Any, list[str]]) -> None:
    page, _ = loaded
    _view(page, "city")
    page.wait_for_timeout(500)
    pixels = _map_pixels(page, "city")
    drawn = ~_near(pixels, BACKGROUND_RGB, tolerance=4)
    assert drawn.mean() > 0.05, f"only {drawn.mean():.1%} of the map differs from its background"
    colours = {tuple(p) for p in pixels[drawn][:: max(1, int(drawn.sum()) // 20000)].tolist()}
    assert len(colours) > 30  # buildings in several shades, zones, markers: not one flat fill
    # The buildings themselves are drawn, in the height ramp's blues (city.js RAMP).
    assert _building_blue(pixels).sum() > 500, "no building in the height colours"
    assert page.inner_text("#legend").count("m") >= 5  # the legend explains the colours


def test_clicking_a_building_opens_the_inspector_with_its_true_height(loaded: tuple[Any, list[str]]) -> None:
    page, _ = loaded
    _view(page, "city")
    true_height = dict(_twins())["bldg-005"]["height"]
    page.evaluate("window.futago.flyTo('bldg-005')")
    page.wait_for_timeout(1200)
    point = page.evaluate("window.futago.screenPoint('bldg-005')")
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("() => document.getElementById('inspector-title').textContent === 'bldg-005'", timeout=5000)
    page.wait_for_selector("#inspector-props td[data-prop=height]")
    assert float(page.inner_text("#inspector-props td[data-prop=height]")) == true_height
    page.wait_for_selector("#inspector-chart .uplot", timeout=10_000)  # the history chart drew
    _shot(page, "inspector")
    page.click("#inspector-close")


def test_a_reading_over_the_threshold_raises_an_alert_and_colours_its_buildings(
    loaded: tuple[Any, list[str]], demo: str
) -> None:
    page, _ = loaded
    _view(page, "city")
    lon, lat = 138.8640, 35.1010
    station = {"$metadata": {"$model": "dtmi:futago:demo:RiverStation;1"}, "serialNumber": "RS-T1",
               "geometry": {"type": "Point", "coordinates": [lon - 0.002, lat - 0.002]}}  # fmt: skip
    assert httpx.put(f"{demo}/twins/test-station", json=station).status_code in (200, 201)
    area = ["bldg-001", "bldg-002", "bldg-003"]
    rule = {"severity": "critical", "twins": ["test-station"],
            "when": {"threshold": {"telemetry": "waterLevel", "above": 5.0}},
            "message": {"ja": "{twin}: 水位 {value:.1f} m", "en": "{twin}: level {value:.1f} m"},
            "area": {"twins": area}}  # fmt: skip
    assert httpx.put(f"{demo}/rules/dashboard-test", json=rule).status_code in (200, 201)
    reading = {"name": "waterLevel", "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "value": 6.5}
    began = time.monotonic()
    assert httpx.post(f"{demo}/twins/test-station/telemetry", json=reading).status_code in (200, 202)
    page.wait_for_selector("[data-rule=dashboard-test]", timeout=5000)
    shown_after_s = time.monotonic() - began
    assert shown_after_s <= 2.0, f"the alert took {shown_after_s:.2f} s to appear"
    page.wait_for_function(
        "() => ['bldg-001', 'bldg-002', 'bldg-003'].every((id) => window.futago.buildingState(id)?.alert === true)",
        timeout=2000,
    )
    assert page.evaluate("window.futago.buildingState('bldg-004')?.alert") in (None, False)
    page.evaluate("window.futago.openTwin('bldg-002')")  # brings the coloured buildings into view
    page.wait_for_timeout(1200)
    page.click("#inspector-close")
    page.wait_for_timeout(300)
    assert _alert_red(_map_pixels(page, "alerts")).sum() > 2000  # the alert colour is on the screen
    assert httpx.delete(f"{demo}/rules/dashboard-test").status_code == 204  # its alert resolves
    page.wait_for_function("() => window.futago.buildingState('bldg-001')?.alert === false", timeout=5000)


def test_approving_a_recommended_command_changes_its_state_and_the_audit_shows_it(
    loaded: tuple[Any, list[str]], demo: str
) -> None:
    page, _ = loaded
    _view(page, "alerts")
    # The live flood's storm raises flood-danger and proposes closeGate on the gate (a real MQTT device).
    page.wait_for_selector("[data-command][data-state=proposed] button.approve", timeout=120_000)
    command_id = page.get_attribute("[data-command][data-state=proposed]", "data-command")
    page.locator(f"[data-command='{command_id}'] button.approve").click()  # the list re-renders live
    page.wait_for_selector(f"[data-command='{command_id}'][data-state=completed]", timeout=60_000)
    audit = page.inner_text(f"[data-command='{command_id}'] details.audit")
    assert "承認済み" in audit and "完了" in audit  # approved, then completed, in the page's language
    record = httpx.get(f"{demo}/commands/{command_id}").json()
    assert record["state"] == "completed" and record["approvedBy"]
    assert [h["state"] for h in record["history"]][:2] == ["proposed", "approved"]
    assert record["response"] is not None  # the gate answered


def test_the_language_toggle_switches_the_texts_and_is_remembered(loaded: tuple[Any, list[str]]) -> None:
    page, _ = loaded
    assert page.inner_text("#tab-city") == "都市"
    page.click("#lang")
    assert page.inner_text("#tab-city") == "City"
    assert page.inner_text("#alerts-title") == "Alerts"
    assert page.evaluate("document.documentElement.lang") == "en"
    page.reload()
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=60_000)
    assert page.inner_text("#tab-city") == "City"  # remembered
    page.click("#lang")
    assert page.inner_text("#tab-city") == "都市"


def test_every_view_works_and_is_captured(loaded: tuple[Any, list[str]]) -> None:
    page, errors = loaded
    _view(page, "scenarios")
    page.select_option("#scenario-target", "flood-forecast|kano-station")
    page.fill("#scenario-scale", "1.5")
    page.click("#scenario-run")
    page.wait_for_selector("#scenario-table", timeout=30_000)
    rows = page.locator("#scenario-table tbody tr")
    assert rows.count() == 2  # the baseline and the scenario, side by side
    buildings = [rows.nth(i).locator("[data-col=buildings]").inner_text() for i in range(2)]
    assert all(b.isdigit() for b in buildings)
    assert int(buildings[1]) >= int(buildings[0])  # more rain floods no fewer buildings
    _shot(page, "scenarios")
    _view(page, "plant")
    page.wait_for_selector("[data-unit=reactor-1] .uplot", timeout=30_000)  # the CSTR's trends
    assert page.locator("[data-unit=reactor-1] [data-tele=temperature]").count() == 1
    _shot(page, "plant")
    _view(page, "models")
    page.wait_for_selector("#graph svg [data-node]", timeout=20_000)
    page.wait_for_selector("#catalog-table tbody tr", timeout=20_000)
    page.click("#query-run")
    page.wait_for_selector("#query-result table", timeout=10_000)
    assert page.locator("#query-result tbody tr").count() >= 3  # the demo's serial-numbered sensors
    page.wait_for_selector("#quality-result svg.flags", timeout=10_000)
    _shot(page, "models")
    _view(page, "city")
    assert errors == []


def test_keyboard_and_accessible_names(loaded: tuple[Any, list[str]]) -> None:
    page, _ = loaded
    page.focus("#tab-city")
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#tab-alerts", "aria-selected") == "true"
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#tab-scenarios", "aria-selected") == "true"
    unnamed = page.evaluate(
        "[...document.querySelectorAll('button, select, input, textarea')]"
        ".filter((el) => el.offsetParent !== null)"
        ".filter((el) => !(el.textContent.trim() || el.getAttribute('aria-label') || el.labels?.length))"
        ".map((el) => el.outerHTML.slice(0, 80))"
    )
    assert unnamed == []
    _view(page, "city")


def test_readable_on_a_tablet(demo: str, context: Any) -> None:
    errors: list[str] = []
    page = open_dashboard(context, demo, errors)
    page.set_viewport_size({"width": 768, "height": 1024})
    page.wait_for_timeout(500)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("#alerts-panel").is_visible() and page.locator("#map canvas").is_visible()
    _shot(page, "tablet")
    page.close()
    assert errors == []


def test_screenshots_exist_for_every_view() -> None:
    names = {p.stem for p in Path(SHOTS).glob("*.png")} if SHOTS.exists() else set()
    missing = {"city", "inspector", "alerts", "scenarios", "plant", "models", "tablet"} - names
    assert not missing, f"no screenshot of {sorted(missing)}"
