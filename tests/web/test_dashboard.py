"""The dashboard in a real browser (Debian's Chromium, headless, through Playwright) against a running demo.

The demo runs as a user starts it (``futago demo``), with the flood scenario on a fast clock so that a storm,
its alert and the floodgate proposal come within the test's time. Screenshots of every view are written to
``build/screenshots/`` for a person to look at; the assertions read the page and the API.
"""

from __future__ import annotations

import io
import itertools
import json
import re
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


README_TWINS = ("river-1", "river-2", "rain-1", "pump-1", "kano-station")  # the demo's and the live flood's
COLOCATED = ("kano-station", "kano-rain", "kano-gate")  # three sensors at one point


def _inside(point: dict[str, float] | None, box: dict[str, float]) -> bool:
    if point is None:
        return False
    return box["x"] <= point["x"] <= box["x"] + box["width"] and box["y"] <= point["y"] <= box["y"] + box["height"]


def _spread(page: Any) -> float:
    points = [page.evaluate(f"window.futago.screenPoint('{twin}')") for twin in COLOCATED]
    return min(
        ((a["x"] - b["x"]) ** 2 + (a["y"] - b["y"]) ** 2) ** 0.5 for i, a in enumerate(points) for b in points[i + 1 :]
    )


def test_the_first_view_fits_every_twin_and_spreads_colocated_sensors(loaded: tuple[Any, list[str]]) -> None:
    page, _ = loaded
    _view(page, "city")
    page.wait_for_function("() => document.getElementById('map-state').textContent === ''", timeout=30_000)
    box = page.locator("#map").bounding_box()
    outside = [t for t in README_TWINS if not _inside(page.evaluate(f"window.futago.screenPoint('{t}')"), box)]
    assert outside == [], f"{outside} are outside the first view"
    assert _spread(page) >= 12  # drawn apart on the screen, not as one dot
    page.evaluate("window.futago.flyTo('kano-station')")
    page.wait_for_timeout(1200)
    assert _spread(page) >= 12  # still apart, at another zoom


def test_clicking_a_building_opens_the_inspector_with_its_true_height(loaded: tuple[Any, list[str]]) -> None:
    page, _ = loaded
    _view(page, "city")
    true_height = dict(_twins())["bldg-005"]["height"]
    page.evaluate("window.futago.flyTo('bldg-005')")
    page.wait_for_timeout(1200)
    point = page.evaluate("window.futago.screenPoint('bldg-005')")
    page.mouse.click(point["x"], point["y"])
    name = dict(_twins())["bldg-005"]["name"]  # the title is the twin's name; its id follows in small print
    page.wait_for_function(f"() => document.getElementById('inspector-title').textContent === '{name}'", timeout=5000)
    assert "bldg-005" in page.inner_text("#inspector-id")
    page.wait_for_selector("#inspector-props td[data-prop=height]")
    assert float(page.get_attribute("#inspector-props td[data-prop=height]", "data-value") or "") == true_height
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
    page.wait_for_selector("#graph svg [data-node], #graph svg [data-group]", timeout=20_000)
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


# --- A dashboard that reads well, in both languages (issue 18) ---------------------------------------------------

DATE_FORMATS = {  # one format per language, in lists, tables and charts alike
    "ja": r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}$",
    "en": r"^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}:\d{2}$",
}
DAY_TICK = {"ja": r"\d{2}/\d{2}\n", "en": r"\d{1,2} [A-Z][a-z]{2}\n"}
GENERIC = [  # CityGML gen:* attributes as the city import keeps them
    {"name": "総建物階数", "type": "string", "value": "3", "set": "attributes"},
    {"name": "延床面積", "type": "measure", "value": "120.5", "number": 120.5, "unit": "m2", "set": "建物詳細"},
]
LABEL_OVERFLOW = """() => {
  const panel = document.getElementById('inspector');
  const broken = [];
  for (const th of panel.querySelectorAll('th')) {
    const probe = document.createElement('span');
    probe.style.cssText = 'position: absolute; white-space: nowrap; visibility: hidden';
    probe.style.font = getComputedStyle(th).font;
    document.body.append(probe);
    // Latin words must fit whole; Japanese text may wrap between any two characters, as Japanese does.
    for (const word of th.textContent.trim().split(/\\s+/).filter((w) => /[A-Za-z]/.test(w))) {
      probe.textContent = word;
      if (probe.getBoundingClientRect().width > th.clientWidth + 0.5) broken.push(word);
    }
    probe.remove();
  }
  return {broken, overflow: panel.scrollWidth - panel.clientWidth};
}"""


def _language(page: Any, lang: str) -> None:
    if page.evaluate("document.documentElement.lang") != lang:
        page.click("#lang")
    assert page.evaluate("document.documentElement.lang") == lang


def _open(page: Any, twin: str) -> None:
    page.evaluate(f"window.futago.openTwin('{twin}')")
    shown = f"() => document.getElementById('inspector-id').textContent.endsWith('{twin}')"
    page.wait_for_function(shown, timeout=10_000)


def _plateau_building(demo: str) -> dict[str, Any]:
    query = (
        "SELECT T FROM DIGITALTWINS T WHERE IS_DEFINED(T.risks) AND IS_DEFINED(T.attributes) AND T.usage = '共同住宅'"
    )
    rows = httpx.post(f"{demo}/query", json={"query": query}, timeout=10).json()["value"]
    assert rows, "the live flood district has no building with risks"
    return dict(rows[0]["T"])


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_inspector_names_a_building_and_shows_its_records_as_tables(
    loaded: tuple[Any, list[str]], demo: str, lang: str
) -> None:
    page, _ = loaded
    _view(page, "city")
    _language(page, lang)
    building = _plateau_building(demo)
    twin = {**building, "genericAttributes": GENERIC}
    twin = {k: v for k, v in twin.items() if not k.startswith("$") or k == "$metadata"}
    twin["$metadata"] = {"$model": building["$metadata"]["$model"]}
    assert httpx.put(f"{demo}/twins/{building['$dtId']}", json=twin, timeout=10).status_code in (200, 201)
    _open(page, building["$dtId"])
    assert page.inner_text("#inspector-title") == building["usage"]  # its use, not a gml UUID
    labels = page.locator("#inspector-props > tbody > tr > th").all_inner_texts()
    assert ("計測高さ" if lang == "ja" else "Measured height") in labels
    assert not [t for t in labels if re.search(r"[a-z][A-Z]", t)], labels  # no raw camelCase names
    attributes = page.inner_text("table[data-table=attributes]")
    assert building["attributes"]["prefecture"] in attributes
    assert ("都道府県" if lang == "ja" else "Prefecture") in attributes
    risks = page.locator("table[data-table=risks]")
    assert risks.count() == len(building["risks"])
    assert ("洪水浸水想定" if lang == "ja" else "River flooding") in risks.first.inner_text()
    generic = page.inner_text("table[data-table=genericAttributes]")
    assert "延床面積" in generic and "120.5 m²" in generic and "建物詳細" in generic
    assert "{" not in page.inner_text("#inspector-props")  # no raw JSON left
    measured = page.evaluate(LABEL_OVERFLOW)
    assert measured["broken"] == [] and measured["overflow"] <= 0, measured
    tools, panel = page.locator(".map-tools").bounding_box(), page.locator("#inspector").bounding_box()
    assert tools["x"] + tools["width"] <= panel["x"], "the inspector covers the Colour-by menu"
    _shot(page, f"inspector-building-{lang}")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_charts_name_their_quantity_unit_and_warning_levels(loaded: tuple[Any, list[str]], lang: str) -> None:
    page, _ = loaded
    _view(page, "city")
    _language(page, lang)
    _open(page, "kano-station")
    page.wait_for_selector("#inspector-chart .uplot", timeout=10_000)
    chart = page.locator("#inspector-chart")
    assert chart.get_attribute("data-axis") == ("水位 (m)" if lang == "ja" else "Water level (m)")
    levels = (chart.get_attribute("data-levels") or "").split("|")
    assert ("氾濫危険水位" if lang == "ja" else "Flood danger level") in levels and len(levels) == 4
    ticks = (chart.get_attribute("data-ticks") or "").split("|")
    assert all(re.fullmatch(f"({DAY_TICK[lang]})?\\d{{2}}:\\d{{2}}", t) for t in ticks), ticks
    assert any(re.match(DAY_TICK[lang], t) for t in ticks), ticks  # a 24 h chart names its days
    for when in page.locator("#inspector-telemetry td.when").all_inner_texts():
        assert re.fullmatch(DATE_FORMATS[lang], when), when
    relationships = page.locator("#inspector-body [data-rel=floodZones]")
    assert relationships.count() == 1 and int(relationships.get_attribute("data-count") or 0) > 3
    page.locator("#inspector-chart").scroll_into_view_if_needed()
    _shot(page, f"inspector-chart-{lang}")
    page.click("#inspector-close")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_alert_dates_badges_and_colour_by(loaded: tuple[Any, list[str]], lang: str) -> None:
    page, _ = loaded
    _view(page, "city")
    _language(page, lang)
    page.check("#show-resolved")
    page.wait_for_selector("#alert-list [data-alert]", timeout=20_000)
    for when in page.locator("#alert-list time").all_inner_texts()[:20]:
        assert re.fullmatch(DATE_FORMATS[lang], when), when
    wrapped = page.evaluate(
        "[...document.querySelectorAll('#alert-list .state, #alert-list .badge')]"
        ".filter((el) => el.getClientRects().length > 1).map((el) => el.textContent)"
    )
    assert wrapped == []  # "承認待ち" on one line
    page.select_option("#metric", "floodDepth")
    colour = json.dumps(page.evaluate("window.futago.paintOf('buildings', 'fill-extrusion-color')"))
    assert "floodDepth" in colour and "alert" not in colour  # an alert never repaints the chosen metric
    assert "alert" in json.dumps(page.evaluate("window.futago.paintOf('buildings-alert', 'fill-extrusion-height')"))
    _shot(page, f"colour-by-depth-{lang}")
    page.select_option("#metric", "height")
    page.uncheck("#show-resolved")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_plant_plots_one_quantity_per_axis_and_the_graph_groups_relationships(
    loaded: tuple[Any, list[str]], demo: str, lang: str
) -> None:
    page, _ = loaded
    _language(page, lang)
    _view(page, "plant")
    page.wait_for_selector("[data-unit=pump-1] [data-trend=bearingTemperature] .uplot", timeout=30_000)
    # a language switch redraws the cards: wait until every chart of the redraw has its axis
    page.wait_for_function(
        "() => { const els = [...document.querySelectorAll('[data-unit=pump-1] [data-trend]')];"
        " return els.length > 0 && els.every((e) => e.dataset.axis); }",
        timeout=30_000,
    )
    axes = page.eval_on_selector_all(
        "[data-unit=pump-1] [data-trend]", "els => els.map((e) => [e.dataset.axis, e.dataset.series])"
    )
    assert all(series == "1" for _, series in axes), axes  # one line, one axis per chart
    assert ("軸受温度 (°C)" if lang == "ja" else "Bearing temperature (°C)") in [axis for axis, _ in axes]
    reactor = page.inner_text("[data-unit=reactor-1] [data-tele=temperature]")
    assert reactor.endswith(" K")  # the value with its unit
    _shot(page, f"plant-{lang}")
    _view(page, "models")
    page.fill("#graph-twin", "kano-station")  # a language switch keeps the graph's twin: ask for this one
    page.press("#graph-twin", "Enter")
    page.wait_for_selector("#graph svg [data-group=floodZones]", timeout=20_000)
    total = len(httpx.get(f"{demo}/twins/kano-station/relationships", timeout=10).json()["value"])
    group = page.locator("#graph svg [data-group=floodZones]")
    assert int(group.get_attribute("data-count") or 0) == total > 3
    assert page.locator("#graph svg line").count() < 24  # one spoke for the group, not one per zone
    # The group and its spoke read the relationship's displayName in the chosen language, the raw name as tooltip.
    labels = _graph_labels(page)
    zones = labels["groups"]["out|floodZones"]
    assert " ".join(zones["lines"]) == f"{ZONES_HEADING[lang]} ×{total:,}" and zones["tip"] == "floodZones"
    assert {"raw": "floodZones", "text": ZONES_HEADING[lang], "tip": "floodZones"} in labels["edges"]
    _shot(page, f"graph-{lang}")
    # Incoming relationships (declared by their sources' models, which name none) read the dictionary's words.
    page.fill("#graph-twin", "district-kano")
    page.press("#graph-twin", "Enter")
    page.wait_for_selector("#graph svg [data-group=locatedIn][data-dir=in]", timeout=20_000)
    incoming = httpx.get(f"{demo}/twins/district-kano/incomingrelationships", timeout=10).json()["value"]
    located = sum(r["$relationshipName"] == "locatedIn" for r in incoming)
    labels = _graph_labels(page)
    assert " ".join(labels["groups"]["in|locatedIn"]["lines"]) == f"{INCOMING_NAMES[lang]['locatedIn']} ×{located:,}"
    assert {e["raw"]: e["text"] for e in labels["edges"]} == INCOMING_NAMES[lang]
    assert all(e["tip"] == e["raw"] for e in labels["edges"])
    _view(page, "city")
    _language(page, "ja")


ZONES_HEADING = {"ja": "警戒する浸水想定区域", "en": "Flood zones it warns for"}  # the station model's displayName
INCOMING_NAMES = {
    "ja": {"locatedIn": "所在地区", "monitors": "監視対象", "drains": "排水先"},
    "en": {"locatedIn": "Located in", "monitors": "Monitors", "drains": "Drains"},
}
GRAPH_LABELS = """() => {
  const svg = document.querySelector('#graph svg');
  const box = svg.getBoundingClientRect();
  const lines = (e) => [...e.querySelectorAll('tspan')].map((s) => s.textContent);
  const outside = (r) => r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5
    || r.bottom > box.bottom + 0.5;
  return {
    groups: Object.fromEntries([...svg.querySelectorAll('[data-group]')].map((g) => [
      `${g.dataset.dir}|${g.dataset.group}`, {lines: lines(g), tip: g.querySelector(':scope > title').textContent}])),
    edges: [...svg.querySelectorAll('.edge-label')].map((e) => ({raw: e.dataset.raw, text: lines(e).join(' '),
      tip: e.querySelector('title').textContent})),
    outside: [...svg.querySelectorAll('text')].filter((e) => outside(e.getBoundingClientRect()))
      .map((e) => e.textContent),
  };
}"""


def _graph_labels(page: Any) -> dict[str, Any]:
    """The graph's relationship labels (their lines, tooltips), having checked that every label fits the graph and
    that no line breaks inside a word (the lines, joined by spaces, are the label: breaks fall only on spaces)."""
    labels: dict[str, Any] = page.evaluate(GRAPH_LABELS)
    assert labels["outside"] == [], labels["outside"]
    assert all(line.strip() == line and line for g in labels["groups"].values() for line in g["lines"])
    return labels


GROUP_OVERFLOW = """() => {
  const panel = document.getElementById('inspector');
  const right = panel.getBoundingClientRect().right;
  const wide = [...panel.querySelectorAll('#group-list li')]
    .filter((li) => li.getBoundingClientRect().right > right + 0.5);
  return {panel: panel.scrollWidth - panel.clientWidth, page: document.documentElement.scrollWidth - window.innerWidth,
          wide: wide.length};
}"""
GROUP_ENTRIES = """els => els.map((e) => [e.dataset.twin, e.querySelector('.twin-name').textContent,
  e.querySelector('.twin-ref')?.textContent || ''])"""


def _assert_fits(page: Any) -> None:
    measured = page.evaluate(GROUP_OVERFLOW)
    assert measured == {"panel": 0, "page": 0, "wide": 0}, measured


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_graph_group_node_lists_its_twins_by_name_and_each_opens(
    loaded: tuple[Any, list[str]], demo: str, lang: str
) -> None:
    page, errors = loaded
    _language(page, lang)
    _view(page, "models")
    page.fill("#graph-twin", "kano-station")
    page.press("#graph-twin", "Enter")
    page.wait_for_selector("#graph svg [data-group=floodZones][data-dir=out]", timeout=20_000)
    ids = [r["$targetId"] for r in httpx.get(f"{demo}/twins/kano-station/relationships", timeout=10).json()["value"]]
    zones = {i: httpx.get(f"{demo}/twins/{i}", timeout=10).json() for i in ids}
    assert len(ids) > 3 and all(z.get("name") for z in zones.values())  # the generated district names its zones
    page.click("#graph svg [data-group=floodZones] circle")
    page.wait_for_selector("#group-list [data-twin]", timeout=20_000)
    heading = "警戒する浸水想定区域" if lang == "ja" else "Flood zones it warns for"  # the model's displayName
    assert page.inner_text("#inspector-title") == f"{heading} ({len(ids)})"
    assert page.inner_text("#inspector-id") == "kano-station"  # a station with no name: its id, once
    assert page.get_attribute("#group-list", "data-count") == str(len(ids))
    entries = page.eval_on_selector_all("#group-list [data-twin]", GROUP_ENTRIES)
    # Every zone once, its name first and its depth rank and id under it; sorted by name, then rank.
    assert sorted(e[0] for e in entries) == sorted(ids)
    assert all(name == zones[i]["name"] and ref == f"{zones[i]['rank']} · {i}" for i, name, ref in entries)
    assert [e[1] for e in entries] == sorted(e[1] for e in entries)
    ranks = [zones[e[0]]["rank"] for e in entries]
    runs = [r for k, r in enumerate(ranks) if k == 0 or ranks[k - 1] != r]
    assert len(runs) == len(set(ranks)) > 1  # the zones of one depth rank stand together
    keys = [(name, zones[i]["rank"], i) for i, name, _ in entries]
    same = [(a[2], b[2]) for a, b in itertools.pairwise(keys) if a[:2] == b[:2]]
    assert same and all(a < b for a, b in same)  # then by id, as text
    _assert_fits(page)
    _shot(page, f"graph-group-{lang}")
    page.set_viewport_size({"width": 768, "height": 1024})
    try:
        page.wait_for_timeout(300)
        _assert_fits(page)
        _shot(page, f"graph-group-tablet-{lang}")
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})
    first, name, _ = entries[0]
    page.click(f"#group-list [data-twin='{first}']")
    page.wait_for_function(f"() => document.getElementById('inspector-id').textContent.endsWith('{first}')")
    assert page.inner_text("#inspector-title") == name
    page.click("#inspector-close")
    _view(page, "city")
    _language(page, "ja")
    assert errors == []


#: Every screenshot the tests above write, with the viewport it shows: the first dashboard's views, and those
#: issue 18 asked for, once per language.
SHOT_LANGUAGES = ("ja", "en")
SCREENSHOTS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(("city", "inspector", "alerts", "scenarios", "plant", "models"), (1280, 800)),
    "tablet": (768, 1024),
    **{
        f"{view}-{lang}": (1280, 800)
        for view in ("inspector-building", "inspector-chart", "colour-by-depth", "plant", "graph", "graph-group")
        for lang in SHOT_LANGUAGES
    },
    **{f"graph-group-tablet-{lang}": (768, 1024) for lang in SHOT_LANGUAGES},
}


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header (IHDR), or (0, 0) for a file that is not a PNG."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return (0, 0)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_screenshots_exist_for_every_view() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed, so no view was captured: run scripts/install-system-deps.sh")
    # The names this module's tests pass to _shot and _map_pixels, each f-string once per language: a new
    # screenshot that is not listed above fails here, so the list cannot fall behind the tests.
    source = Path(__file__).read_text(encoding="utf-8")
    written = {
        name.replace("{lang}", lang)
        for name in re.findall(r'_(?:shot|map_pixels)\(page, f?"([^"]+)"\)', source)
        for lang in SHOT_LANGUAGES
    }
    unlisted, unwritten = sorted(written - set(SCREENSHOTS)), sorted(set(SCREENSHOTS) - written)
    assert not unlisted and not unwritten, f"written but not listed: {unlisted}; listed, never written: {unwritten}"
    missing = sorted(name for name in SCREENSHOTS if not (SHOTS / f"{name}.png").is_file())
    assert not missing, f"no screenshot of {missing} in {SHOTS}"
    sizes = {name: _png_size(SHOTS / f"{name}.png") for name in SCREENSHOTS}
    assert sizes == SCREENSHOTS, {n: size for n, size in sizes.items() if size != SCREENSHOTS[n]}
