"""List routes apply the visibility rule before the page is cut: with a policy that hides four items in five, a
page of N holds N items the caller may see, and its cursor continues with the next visible one (twins, alerts,
notification deliveries by cursor; commands, the newest N)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.act.commands import CommandRecord
from futago.act.model import Alert
from futago.api import paging
from futago.api.server import create_api
from futago.app import App
from futago.core.alerts import AlertHistoryEntry
from futago.core.notifications import Delivery
from futago.core.twins import now_iso
from tests.security.test_access import key_for

BUILDING = "dtmi:futago:demo:Building;1"
IDS = [f"b-{i:03d}" for i in range(60)]
VISIBLE = [twin for twin in IDS if twin[-1] in "05"]  # 12 of 60
N = 4


@pytest.fixture
def world(app: App) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app.settings = app.settings.with_overrides(require_auth=True)
    for twin in IDS:
        app.twins.put(twin, {"$metadata": {"$model": BUILDING}, "name": twin})
        raised = now_iso()
        alert = Alert(id=f"alert-{twin}", rule="high-water", twin_id=twin, severity="warning", state="raised",
                      raised_at=raised, message={"en": twin},
                      history=[AlertHistoryEntry(raised, "raised")])  # fmt: skip
        app.store.put_alert(alert, alert.history)
        app.store.add_command(CommandRecord(id=f"command-{twin}", twin_id=twin, command="closeShutters", payload=None,
                                            mode="recommend", state="proposed", proposed_by="rule:high-water",
                                            proposed_at=raised))  # fmt: skip
        delivery = Delivery(id=f"delivery-{twin}", alert_id=alert.id, twin_id=twin, event="alert.raised",
                            subscriber_id="resident-1", channel="hook", channel_type="webhook", outcome="sent",
                            subject=twin, text=twin, zone=None, queued_at=raised)  # fmt: skip
        app.store.save_deliveries([delivery], [])
    grants = [(r, ["READ"], "grant") for r in ("query", "alerts", "commands", "notifications", "twins/b-??[05]")]
    headers = key_for(app, "user:some", *grants)
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        yield client, headers


def _walk(
    client: TestClient, headers: dict[str, str], path: str, cursor: tuple[str, str], item_twin: Callable[[Any], str]
) -> list[list[str]]:
    """The twins of each page of ``path``, following the cursor (response field, query parameter) to the end."""
    pages: list[list[str]] = []
    params: dict[str, Any] = {"limit": N}
    while len(pages) <= len(IDS):  # bounded: a cursor that never ends fails the test, not the machine
        body = client.get(path, params=params, headers=headers).json()
        pages.append([item_twin(item) for item in body["value"]])
        if body.get(cursor[0]) is None:
            return pages
        params[cursor[1]] = body[cursor[0]]
    raise AssertionError(f"{path} never ended")


def test_twin_pages_are_full_of_readable_twins_and_continue_in_order(world: tuple[TestClient, dict[str, str]]) -> None:
    pages = _walk(*world, "/twins", ("next", "after"), lambda row: row["$dtId"])
    assert pages[0] == VISIBLE[:N]
    assert [twin for page in pages for twin in page] == VISIBLE
    assert all(len(page) == N for page in pages[:3])  # 12 visible in pages of 4, then at most an empty one


def test_alert_pages_are_full_of_visible_alerts_newest_first(world: tuple[TestClient, dict[str, str]]) -> None:
    pages = _walk(*world, "/alerts", ("continuationToken", "continuationToken"), lambda alert: alert["twinId"])
    assert pages == [VISIBLE[::-1][i : i + N] for i in range(0, len(VISIBLE), N)]


def test_delivery_pages_are_full_of_visible_deliveries(world: tuple[TestClient, dict[str, str]]) -> None:
    pages = _walk(*world, "/notifications", ("next", "after"), lambda record: record["twinId"])
    assert pages[0] == VISIBLE[:N] and len(pages[1]) == len(pages[2]) == N
    assert [twin for page in pages for twin in page] == VISIBLE


def test_the_newest_commands_are_the_newest_the_caller_may_see(world: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = world
    seen = client.get("/commands", params={"limit": N}, headers=headers).json()["value"]
    assert [record["twinId"] for record in seen] == VISIBLE[::-1][:N]


def test_a_page_reads_at_most_scan_max_items_and_its_cursor_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "SCAN_MAX", 250)
    source = list(range(1000))  # only 700 and 900 are visible
    read = paging.keyset(lambda after, n: [i for i in source if after is None or i > after][:n], lambda i: i)
    shown = {700: "a", 900: "b"}.get
    page, cursor = paging.visible_page(read, shown, 2, None, lambda i: i)
    assert page == [] and cursor is not None and 250 <= cursor < 700  # short, yet not the end
    while len(page) < 2 and cursor is not None:
        more, cursor = paging.visible_page(read, shown, 2 - len(page), cursor, lambda i: i)
        page += more
    assert page == ["a", "b"]
