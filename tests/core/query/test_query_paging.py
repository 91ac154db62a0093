"""Continuation tokens, TOP across pages, and the 100k-twin timing (printed, never asserted)."""

from __future__ import annotations

import random
import statistics
import time

import pytest

from futago.core.errors import InvalidInput
from futago.core.query import execute, parse
from futago.core.twins import Twin

from .memory_source import Catalog, MemorySource

MODEL = "dtmi:x:Thing;1"
SOURCE = MemorySource(Twin(f"t{i:05d}", MODEL, {"n": i}) for i in range(2500))
CATALOG = Catalog()


def test_pages_through_2500_twins_once_each() -> None:
    q = "SELECT T.$dtId FROM DIGITALTWINS T"
    seen: list[str] = []
    sizes: list[int] = []
    token: str | None = None
    SOURCE.scans.clear()
    while True:
        page = execute(q, SOURCE, CATALOG, page_size=1000, continuation=token)
        sizes.append(len(page.items))
        seen.extend(row["$dtId"] for row in page.items)
        token = page.continuation
        if token is None:
            break
    assert sizes == [1000, 1000, 500]
    assert seen == [f"t{i:05d}" for i in range(2500)]
    assert all(scan.limit is not None and scan.limit <= 5000 for scan in SOURCE.scans)


def test_top_spans_pages_and_filters_apply() -> None:
    q = "SELECT TOP(25) T.n FROM DIGITALTWINS T WHERE T.n >= 100 AND T.n < 2000 AND T.n NIN [105]"
    first = execute(q, SOURCE, CATALOG, page_size=10)
    second = execute(q, SOURCE, CATALOG, page_size=10, continuation=first.continuation)
    third = execute(q, SOURCE, CATALOG, page_size=10, continuation=second.continuation)
    got = [r["n"] for r in first.items + second.items + third.items]
    assert got == [n for n in range(100, 126) if n != 105]
    assert third.continuation is None and len(third.items) == 5


def test_exact_page_boundary_gives_no_empty_last_page() -> None:
    page = execute("SELECT T.n FROM DIGITALTWINS T WHERE T.n < 10", SOURCE, CATALOG, page_size=10)
    assert len(page.items) == 10 and page.continuation is None


def test_token_for_another_query_is_rejected() -> None:
    page = execute("SELECT T FROM DIGITALTWINS T", SOURCE, CATALOG, page_size=5)
    assert page.continuation is not None
    with pytest.raises(InvalidInput) as info:
        execute("SELECT T.n FROM DIGITALTWINS T", SOURCE, CATALOG, continuation=page.continuation)
    problem = info.value.problems[0]
    assert problem.pointer == "/continuationToken" and "different query" in problem.message
    for junk in ["garbage!", "e30", "", "eyJ2IjoxfQ"]:
        if not junk:
            continue
        with pytest.raises(InvalidInput) as info:
            execute("SELECT T FROM DIGITALTWINS T", SOURCE, CATALOG, continuation=junk)
        assert info.value.problems[0].pointer == "/continuationToken"


def test_parsed_query_objects_page_like_text() -> None:
    q = parse("SELECT T.n FROM DIGITALTWINS T")
    first = execute(q, SOURCE, CATALOG, page_size=2)
    second = execute(q.text, SOURCE, CATALOG, page_size=2, continuation=first.continuation)
    assert [r["n"] for r in first.items + second.items] == [0, 1, 2, 3]


def test_bad_page_size() -> None:
    with pytest.raises(InvalidInput) as info:
        execute("SELECT * FROM DIGITALTWINS", SOURCE, CATALOG, page_size=0)
    assert info.value.problems[0].pointer == "/pageSize"


def test_timing_100k_twins_model_pushdown(capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(7)
    models = [f"dtmi:x:M{m};1" for m in range(9)] + ["dtmi:x:Sensor;1"]
    twins = [
        Twin(f"twin-{i:06d}", models[i % 10], {"temperature": rng.uniform(0, 40), "name": f"n{i}"})
        for i in range(100_000)
    ]
    source = MemorySource(twins)
    q = "SELECT T FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:x:Sensor;1') AND T.temperature > 20"
    first_page: list[float] = []
    for _ in range(15):
        start = time.perf_counter()
        page = execute(q, source, CATALOG)
        first_page.append((time.perf_counter() - start) * 1000)
    assert len(page.items) == 1000 and page.continuation is not None
    assert all(row["T"]["temperature"] > 20 and row["T"]["$metadata"]["$model"] == models[-1] for row in page.items)
    start = time.perf_counter()
    total, token = 0, None
    while True:
        page = execute(q, source, CATALOG, continuation=token)
        total += len(page.items)
        token = page.continuation
        if token is None:
            break
    all_pages = (time.perf_counter() - start) * 1000
    expected = sum(1 for t in twins if t.model == models[-1] and t.properties["temperature"] > 20)
    assert total == expected
    with capsys.disabled():
        print(
            f"\n[query 100k] first page of 1000 rows: p50 {statistics.median(first_page):.2f} ms "
            f"(min {min(first_page):.2f}); all {total} rows, {total // 1000 + 1} pages: {all_pages:.1f} ms"
        )
