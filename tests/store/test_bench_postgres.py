"""``futago bench core --db postgresql://...`` at a small scale: every part runs in a fresh database of the server,
the figures have the same keys as on SQLite, and no database is left behind."""

from __future__ import annotations

from typing import Any

import benchmarks.core as core
import benchmarks.telemetry as telemetry
import psycopg
import pytest

from futago.testing.postgres import LocalPostgres


def _databases(server: str) -> set[str]:
    with psycopg.connect(server.rsplit("/", 1)[0] + "/postgres") as conn:
        return {name for (name,) in conn.execute("SELECT datname FROM pg_database").fetchall()}


def test_the_core_bench_runs_on_postgresql(postgres_cluster: LocalPostgres, monkeypatch: pytest.MonkeyPatch) -> None:
    # 50 series x 100 timestamps instead of 1,000 x 5,000, and the other parts as small.
    monkeypatch.setattr(telemetry, "SERIES", 50)
    monkeypatch.setattr(telemetry, "TIMESTAMPS", 100)
    monkeypatch.setattr(telemetry._batches, "__defaults__", (50, 100, 1_000))
    made: list[str] = []
    fresh_databases = core.fresh_databases

    def watched(server: str) -> Any:
        return _Watching(fresh_databases(server), made)

    graph, history, http = core.graph_query, core.history_query, core.http_ingest
    monkeypatch.setattr(core, "fresh_databases", watched)
    monkeypatch.setattr(core, "graph_query", lambda db: graph(db, twins=300, runs=2))
    monkeypatch.setattr(core, "history_query", lambda db: history(db, days=1, queries=2))
    monkeypatch.setattr(core, "http_ingest", lambda db: http(series=20, timestamps=10, db=db))
    before = _databases(postgres_cluster.url)

    figures = core.run(db=postgres_cluster.url, progress=False)

    assert tuple(figures) == core.KEYS
    assert all(isinstance(value, int | float) and value > 0 for value in figures.values()), figures
    assert figures["ratio_api_to_floor"] == pytest.approx(
        figures["ingest_api_rows_per_s"] / figures["floor_rows_per_s"], rel=0.01
    )
    assert sorted(name.split("_")[2] for name in made) == ["floor", "graph", "history", "http", "ingest"]
    assert _databases(postgres_cluster.url) == before  # every one dropped again


class _Watching:
    """``fresh_databases`` as it is, noting the names of the databases it makes."""

    def __init__(self, manager: Any, made: list[str]) -> None:
        self.manager, self.made = manager, made

    def __enter__(self) -> Any:
        fresh = self.manager.__enter__()

        def noted(part: str) -> str:
            url: str = fresh(part)
            self.made.append(url.rsplit("/", 1)[1])
            return url

        return noted

    def __exit__(self, *exc: Any) -> Any:
        return self.manager.__exit__(*exc)
