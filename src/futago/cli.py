"""The ``futago`` command."""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from futago import __version__
from futago.config import Settings, load_settings
from futago.core.errors import FutagoError, InvalidInput
from futago.core.problems import Problem
from futago.core.secrets import json_default

if TYPE_CHECKING:
    from futago.app import App

console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def db_option(func: F) -> F:
    return click.option(
        "--db",
        envvar="FUTAGO_DB",
        help="Store: a SQLite file path (the default, futago.db) or sqlite:///path. Env FUTAGO_DB; TOML [store] db.",
    )(func)


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    settings: Settings = ctx.obj["settings"]
    return settings.with_overrides(**overrides)


@contextmanager
def _errors() -> Iterator[None]:
    """Show futago's own errors as a sentence per problem and exit 1, never as a traceback."""
    try:
        yield
    except FutagoError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        for problem in exc.problems[:20]:
            console.print(f"  [yellow]{problem.pointer or '/'}[/yellow] {problem.message}")
        sys.exit(1)


def _print_figures(figures: dict[str, Any], as_json: bool) -> None:
    """Benchmarks and evaluations: one JSON object for scripts, or a table for people."""
    if as_json:
        _print_json(figures)
        return
    table = Table("figure", "value")
    for key, value in figures.items():
        table.add_row(key, f"{value:,.3f}" if isinstance(value, float) else str(value))
    Console().print(table)


def _print_json(value: Any) -> None:
    """JSON for scripts: orjson writes NaN as null, so the output always parses."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY
    click.echo(orjson.dumps(value, default=json_default, option=options).decode())  # secrets as their mask


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="futago")
@click.option("--config", type=click.Path(dir_okay=False), help="A TOML settings file (default ./futago.toml).")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """futago (双子): an open digital-twin platform.

    \b
    Start here:
      futago demo                      sample twins with live telemetry, API at http://127.0.0.1:8000/docs
      futago models validate m.json    check DTDL v3 models
      futago serve --db plant.db       serve your own store
    Settings come from flags, then FUTAGO_* environment variables, then futago.toml.
    """
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    with _errors():
        ctx.obj["settings"] = load_settings(config)


# serve / demo ---------------------------------------------------------------------------------
def nats_option(func: F) -> F:
    return click.option(
        "--nats",
        metavar="URL",
        help="NATS with JetStream (nats://host:port): connectors log their messages there for `futago worker`s, "
        "and every process sees every change. Env FUTAGO_NATS; TOML [scale] nats.",
    )(func)


@main.command()
@click.option("--host", help="Address to bind (default 127.0.0.1). Beyond loopback an API token is required.")
@click.option("--port", type=int, help="Port (default 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="API processes sharing the port (needs a PostgreSQL store and --nats).")  # fmt: skip
@nats_option
@db_option
@click.pass_context
def serve(
    ctx: click.Context, host: str | None, port: int | None, workers: int, nats: str | None, db: str | None
) -> None:
    """Serve the REST API (OpenAPI at /docs) and the event stream (/events).

    With --workers N, N processes serve the same port behind the kernel's load balancing (or put any load
    balancer in front of several `futago serve`s). They share a PostgreSQL store; NATS carries every change to
    every process, so an SSE client on any of them sees all. One process leads and runs the connectors, behaviours,
    alert rules and notifications; if it dies another takes over within seconds.

    \b
    Example:
      futago serve --db postgresql://futago@127.0.0.1:5432/futago --nats nats://127.0.0.1:4222 --workers 2
    """
    settings = _settings(ctx, host=host, port=port, db=db, nats=nats)
    with _errors():
        settings.check_safe_to_serve()
        if workers > 1:
            _serve_processes(ctx, settings, workers)
            return
        from futago.app import build

        app = build(settings)
    _run_server(app)


def _serve_processes(ctx: click.Context, settings: Settings, workers: int) -> None:
    """uvicorn's own process manager; each process builds its App from the environment set here."""
    import uvicorn

    from futago.api.serving import uvicorn_options

    problems = []
    if not settings.db.startswith(("postgresql://", "postgres://")):
        problems.append(Problem("/store/db", "several API processes share a PostgreSQL store, not a SQLite file"))
    if not settings.nats:
        problems.append(Problem("/scale/nats", "several API processes need NATS to see each other's changes"))
    if problems:
        raise InvalidInput(problems)
    os.environ.update({"FUTAGO_DB": settings.db, "FUTAGO_NATS": str(settings.nats), "FUTAGO_HOST": settings.host,
                       "FUTAGO_PORT": str(settings.port)})  # fmt: skip
    if ctx.obj.get("config"):
        os.environ["FUTAGO_CONFIG"] = str(Path(ctx.obj["config"]).resolve())
    console.print(f"futago {__version__}: {workers} processes at http://{settings.host}:{settings.port}/docs")
    uvicorn.run("futago.api.server:app_from_environment", factory=True, workers=workers, host=settings.host,
                port=settings.port, log_level="warning", **uvicorn_options(settings))  # fmt: skip


def _run_server(app: Any, stop_first: Sequence[Callable[[], object]] = ()) -> None:
    """Serve until interrupted; ``stop_first`` are background jobs (the demo's) stopped before the store closes."""
    import uvicorn

    from futago.api.server import create_api
    from futago.api.serving import uvicorn_options

    settings: Settings = app.settings
    console.print(f"futago {__version__} serving {app.store.url} at http://{settings.host}:{settings.port}/docs")
    # uvicorn shuts down gracefully on SIGTERM and then raises the signal again for its previous handler; by
    # default that ends the process at once, before the store is closed and the background jobs (the demo's
    # plant and broker processes) are stopped. An exit instead lets the ``finally`` below run.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        app.start()
        uvicorn.run(create_api(app), host=settings.host, port=settings.port, log_level="warning",
                    **uvicorn_options(settings))  # fmt: skip
    finally:
        for stop in stop_first:
            stop()
        app.close()
        signal.signal(signal.SIGTERM, previous)


@main.command()
@click.option("--host", help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8000).")
@click.option("--db", envvar="FUTAGO_DB", default="futago-data/demo.db", show_default=True, help="Demo store.")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between simulated readings.")
@click.option(
    "--flood-step",
    type=float,
    default=2.0,
    show_default=True,
    help="Seconds per 10-minute step of the live flood scenario (0 turns it off).",
)
@click.option(
    "--plant/--no-plant",
    default=True,
    show_default=True,
    help="Run the OPC UA reactor of the plant scenario live (a jacket fault every few minutes).",
)
@click.pass_context
def demo(
    ctx: click.Context, host: str | None, port: int | None, db: str, interval: float, flood_step: float, plant: bool
) -> None:
    """Serve a sample district and plant with simulated live telemetry, and the flood scenario running live.

    The sample models, twins and readings go through the same services and API a user's data does. Beside
    them, the flood scenario (as in `futago scenario flood`) runs on a fast clock: storms over a generated
    riverside district, forecasts, alerts, notified residents, and a floodgate proposal that waits for
    your approval in the dashboard at http://127.0.0.1:8000/ (or POST /commands/{id}/approve). The
    plant scenario's OPC UA reactor runs too: its cooling jacket fouls every few minutes, and a cooler
    setpoint is recommended for your approval.
    """
    settings = _settings(ctx, host=host, port=port, db=db)
    with _errors():
        settings.check_safe_to_serve()
        from futago.app import build
        from futago.demo import Simulator, live_flood, live_plant, seed

        app = build(settings)
        summary = seed(app)
    console.print(
        f"demo: {summary['models']} models, {summary['twins']} twins, {summary['readings']} readings of history"
    )
    simulator = Simulator(app, interval)
    simulator.start()
    jobs: list[Any] = [simulator]
    if flood_step > 0:
        jobs.append(live_flood(app, Path(db).parent / "flood", flood_step))
    if plant:
        jobs.append(live_plant(app))
    _run_server(app, [job.stop for job in jobs])


# models ---------------------------------------------------------------------------------------
@main.group()
def models() -> None:
    """DTDL v3 models: validate, load, list."""


@models.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help='Print {"interfaces": N, "problems": [...]}.')
def models_validate(paths: tuple[str, ...], as_json: bool) -> None:
    """Validate DTDL files or folders as one model set; exit 1 on any problem."""
    from futago.core.dtdl import read_documents, validate

    with _errors():
        documents, problems = read_documents(*paths)
        problems = problems or validate(documents)
    interfaces = sum(1 for d in documents if isinstance(d, dict) and d.get("@type") == "Interface")
    if as_json:
        _print_json({"interfaces": interfaces, "problems": [p.to_json() for p in problems]})
    else:
        for problem in problems:
            click.echo(str(problem))
        click.echo(f"{interfaces} interfaces, {len(problems)} problems")
    sys.exit(1 if problems else 0)


@models.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@db_option
@click.pass_context
def models_load(ctx: click.Context, paths: tuple[str, ...], db: str | None) -> None:
    """Validate and store DTDL models in the store."""
    from futago.app import build
    from futago.core.dtdl import read_documents

    with _errors():
        documents, problems = read_documents(*paths)
        if problems:
            from futago.core.errors import InvalidInput

            raise InvalidInput(problems)
        app = build(_settings(ctx, db=db))
        try:
            ids = app.models.add(documents)
        finally:
            app.close()
    console.print(f"loaded {len(ids)} models")


@models.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def models_list(ctx: click.Context, db: str | None, as_json: bool) -> None:
    """List the stored models."""
    from futago.app import build

    with _errors():
        app = build(_settings(ctx, db=db))
        records = app.models.list_models()
        app.close()
    if as_json:
        _print_json([{"id": r.id, "uploadTime": r.uploaded, "decommissioned": r.decommissioned} for r in records])
        return
    table = Table("model", "uploaded", "decommissioned")
    for r in records:
        table.add_row(r.id, r.uploaded, "yes" if r.decommissioned else "")
    Console().print(table)


# twins ----------------------------------------------------------------------------------------
@main.group()
def twins() -> None:
    """Read twins."""


@twins.command("get")
@click.argument("twin_id")
@db_option
@click.pass_context
def twins_get(ctx: click.Context, twin_id: str, db: str | None) -> None:
    """Print a twin as JSON, with the latest value of each telemetry."""
    from futago.app import build

    with _errors():
        app = build(_settings(ctx, db=db))
        try:
            _print_json(app.twins.get_json(twin_id))
        finally:
            app.close()


@twins.command("list")
@click.option("--model", help="Only twins of this model (sub-models included).")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@db_option
@click.pass_context
def twins_list(ctx: click.Context, model: str | None, limit: int, as_json: bool, db: str | None) -> None:
    """List twins in id order."""
    from futago.app import build

    with _errors():
        app = build(_settings(ctx, db=db))
        try:
            found = app.twins.list_twins(model=model, limit=limit)
        finally:
            app.close()
    if as_json:
        _print_json([t.to_json() for t in found])
        return
    table = Table("twin", "model", "properties")
    for t in found:
        table.add_row(t.id, t.model, json.dumps(t.properties, ensure_ascii=False)[:80])
    Console().print(table)


# query ----------------------------------------------------------------------------------------
@main.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as one JSON array.")
@db_option
@click.pass_context
def query(ctx: click.Context, text: str, as_json: bool, db: str | None) -> None:
    """Run a twin query, e.g. futago query "SELECT T FROM DIGITALTWINS T WHERE T.height > 30"."""
    from futago.app import build

    with _errors():
        app = build(_settings(ctx, db=db))
        try:
            rows: list[dict[str, Any]] = []
            token = None
            while True:
                result = app.twins.query(text, continuation=token)
                rows += result.items
                token = result.continuation
                if not token:
                    break
        finally:
            app.close()
    if as_json:
        _print_json(rows)
    else:
        for row in rows:
            click.echo(orjson.dumps(row).decode())
        console.print(f"{len(rows)} rows")


# ingest ---------------------------------------------------------------------------------------
@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "ndjson"]), default="auto", show_default=True)
@click.option("--batch", type=int, default=20_000, show_default=True, help="Readings per store write.")
@db_option
@click.pass_context
def ingest(ctx: click.Context, file: str, fmt: str, batch: int, db: str | None) -> None:
    """Append readings from a CSV (twinId,name,ts,value[,quality]) or NDJSON file, with a progress bar."""
    from futago.app import build
    from futago.ingest.files import iter_record_batches

    path = Path(file)
    kind = fmt if fmt != "auto" else ("csv" if path.suffix.lower() == ".csv" else "ndjson")
    total = 0
    with _errors():
        app = build(_settings(ctx, db=db))
        try:
            with Progress(
                TextColumn("[bold]ingest[/bold] {task.description}"),
                BarColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as progress:
                task = progress.add_task(path.name, total=path.stat().st_size)
                for readings, position in iter_record_batches(path, kind, batch):
                    total += app.telemetry.append(readings)
                    progress.update(task, completed=position)
        finally:
            app.close()
    console.print(f"ingested {total} readings")


# city -----------------------------------------------------------------------------------------
@main.group()
def city() -> None:
    """3D city models: import CityGML/PLATEAU, generate a synthetic district."""


@city.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the import summary as one JSON object.")
@db_option
@click.pass_context
def city_import(ctx: click.Context, paths: tuple[str, ...], as_json: bool, db: str | None) -> None:
    """Import CityGML files, PLATEAU zips or folders (udx/bldg, udx/fld, udx/dem, codelists/).

    Buildings become twins of dtmi:futago:city:Building;1 with their footprint as geometry,
    linked to their parts and district; flood zones become FloodZone twins, and buildings
    inside them get an inFloodZone relationship with the planned depth. All or nothing: a bad
    file stops the import and nothing is stored.
    """
    from futago.app import build
    from futago.services.city_import import CityImporter

    with _errors():
        app = build(_settings(ctx, db=db))
        try:
            importer = CityImporter(app.store, app.models, app.twins, app.bus)
            with Progress(
                TextColumn("[bold]city import[/bold]"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeRemainingColumn(),
                console=console,
                disable=as_json,
            ) as progress:
                task = progress.add_task("", total=1.0)
                summary = importer.run(list(paths), progress=lambda done: progress.update(task, completed=done))
        finally:
            app.close()
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        table = Table("figure", "value")
        for key, value in summary.to_json().items():
            table.add_row(key, str(value))
        Console().print(table)
        console.print(f"imported in {summary.seconds:.1f} s")


@city.command("generate")
@click.option("--buildings", type=int, default=1000, show_default=True, help="How many buildings.")
@click.option(
    "--out",
    type=click.Path(),
    default="futago-data/district.zip",
    show_default=True,
    help="A .zip (PLATEAU layout) or a folder.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--river/--no-river", default=True, show_default=True, help="A river with flood zones.")
@click.option("--lod2-share", type=float, default=0.0, help="Fraction of buildings with LOD2 surfaces.")
@click.option("--parts-share", type=float, default=0.0, help="Fraction of buildings with building parts.")
@click.option("--json", "as_json", is_flag=True, help="Print the true counts of what was generated.")
def city_generate(
    buildings: int, out: str, seed: int, river: bool, lod2_share: float, parts_share: float, as_json: bool
) -> None:
    """Write a synthetic district as PLATEAU-shaped CityGML that `futago city import` reads.

    Buildings with heights and usage, a river, flood zones with planned depths, and a DEM.
    """
    from futago.city.generate import DistrictSpec, generate_district

    target = Path(out)
    spec = DistrictSpec(
        buildings=buildings, seed=seed, river=river, flood_zones=river, lod2_share=lod2_share, parts_share=parts_share
    )
    with _errors():
        target.parent.mkdir(parents=True, exist_ok=True)
        generated = generate_district(spec, target, layout="zip" if target.suffix == ".zip" else "dir")
    facts = {
        "path": str(generated.path),
        "buildings": generated.building_count,
        "building_parts": generated.building_part_count,
        "measured_heights": generated.measured_heights,
        "height_sum": generated.height_sum,
        "height_max": generated.height_max,
        "flood_risk_buildings": generated.flood_risk_buildings,
        "bbox_wgs84": generated.bbox_wgs84,
    }
    if as_json:
        click.echo(json.dumps(facts))
    else:
        console.print(f"wrote {generated.building_count} buildings to {generated.path}")


# worker ---------------------------------------------------------------------------------------
@main.command()
@click.option("--index", type=int, default=0, show_default=True, help="This worker's number, 0 to --of minus 1.")
@click.option("--of", "of", type=click.IntRange(1, 1024), default=1, show_default=True, help="How many workers.")
@click.option("--batch", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="Messages fetched and stored per transaction.")  # fmt: skip
@click.option("--ack-wait", type=click.FloatRange(1, 3600), default=30.0, show_default=True,
              help="Seconds before a batch taken but not acknowledged (its worker died) comes again.")  # fmt: skip
@nats_option
@db_option
@click.pass_context
def worker(
    ctx: click.Context, index: int, of: int, batch: int, ack_wait: float, nats: str | None, db: str | None
) -> None:
    """An ingestion worker: consume the NATS ingestion log and run each message through mapping, quality, the
    store and events, exactly as a connector inside the server would.

    The log has [scale] partitions (8); a twin's messages all go to one partition, and worker i of N takes the
    partitions p with p % N == i, so each twin is ingested in order by one worker. A batch is acknowledged only once
    stored: a worker killed mid-batch loses nothing, and its partitions resume, without duplicates, when it is
    started again (appends are idempotent). Stop it with Ctrl-C or SIGTERM.

    \b
    Example (two workers):
      futago worker --db postgresql://futago@127.0.0.1:5432/futago --nats nats://127.0.0.1:4222 --index 0 --of 2
      futago worker --db postgresql://futago@127.0.0.1:5432/futago --nats nats://127.0.0.1:4222 --index 1 --of 2
    """
    from futago.app import build
    from futago.scale.worker import IngestWorker, partitions_of

    settings = _settings(ctx, db=db, nats=nats)
    with _errors():
        if not settings.nats:
            raise InvalidInput([Problem("/scale/nats", "a worker consumes the NATS ingestion log: give --nats URL")])
        try:
            partitions = partitions_of(index, of, settings.partitions)
        except ValueError as exc:
            raise InvalidInput([Problem("--index", str(exc))]) from exc
        app = build(settings, worker=True)
    assert app.scale is not None
    try:
        app.connections.load(settings.connections, start=False)
        consumer = IngestWorker(app.scale.link, app.connections, app.ingest, partitions, batch, ack_wait)
        previous = signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
        console.print(f"futago worker {index}/{of}: partitions {partitions} of {settings.partitions}, "
                      f"store {app.store.url}")  # fmt: skip
        try:
            consumer.run()
        except KeyboardInterrupt:
            consumer.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
        _print_json({"worker": index, **consumer.counters.to_json()})  # what it did, for scripts and the bench
    finally:
        app.close()


# db -------------------------------------------------------------------------------------------
@main.group("db")
def db_group() -> None:
    """The store's schema: versioned migrations (V<n>__name.sql, once each, in order) and repeatable ones
    (R__name.sql, again whenever they change), for SQLite and PostgreSQL alike."""


@db_group.command("upgrade")
@click.option("--json", "as_json", is_flag=True, help="Print {db, adapter, applied, version, migrations} as JSON.")
@db_option
@click.pass_context
def db_upgrade(ctx: click.Context, as_json: bool, db: str | None) -> None:
    """Bring the store's schema up to date and say which migrations ran (none when it already was).

    Stores also upgrade themselves when they open; run this before starting several processes on a new
    version, so that they do not wait for each other at start.

    \b
    Example:
      futago db upgrade --db postgresql://futago@127.0.0.1:5432/futago --json
    """
    from futago.app import open_store
    from futago.store.migrations import load, schema_version

    settings = _settings(ctx, db=db)
    with _errors():
        store = open_store(settings.db)
        try:
            database = store.db  # type: ignore[attr-defined]
            migrations = load(database.migrations_package)
            report = {
                "db": store.url,
                "adapter": database.engine,
                "applied": database.applied_migrations,
                "version": schema_version(migrations),
                "migrations": [m.key for m in migrations],
            }
        finally:
            store.close()
    if as_json:
        _print_json(report)
        return
    applied = report["applied"]
    console.print(f"{report['db']}: schema version {report['version']}; "
                  + (f"applied {', '.join(applied)}" if applied else "already up to date"))  # fmt: skip


# bench ----------------------------------------------------------------------------------------
@main.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of figures.")
@db_option
def bench(name: str, as_json: bool, db: str | None) -> None:
    """Run a benchmark from benchmarks/<NAME>.py (e.g. core) and print its figures."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "benchmarks" / f"{name}.py").is_file():
        raise click.ClickException(f"no benchmark '{name}' in {root / 'benchmarks'} (run from a source checkout)")
    sys.path.insert(0, str(root))
    module = importlib.import_module(f"benchmarks.{name}")
    with _errors():
        figures = module.run(db=db, progress=not as_json)
    _print_figures(figures, as_json)


# behaviours ------------------------------------------------------------------------------------
def _period(start: str, end: str) -> tuple[int, int]:
    from futago.core.telemetry import parse_timestamp

    times = []
    for option, value in (("--from", start), ("--to", end)):
        try:
            times.append(parse_timestamp(value))
        except FutagoError as exc:
            raise InvalidInput([Problem(option, f"not a time: {value!r} (ISO 8601 or epoch milliseconds)")]) from exc
    return times[0], times[1]


def dask_option(func: F) -> F:
    return click.option(
        "--dask",
        metavar="ADDRESS",
        help="Run on Dask: a scheduler's tcp://host:port, or 'local' (a cluster of 2 worker processes on "
        "127.0.0.1, no dashboard). Same results as in process. Env FUTAGO_DASK; TOML [sim] dask.",
    )(func)


@main.group()
def behaviours() -> None:
    """Models attached to twins: list them and run them on demand. Define them in futago.toml
    ([behaviours.<name>]) or with PUT /behaviours/<name>."""


@behaviours.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
@click.pass_context
def behaviours_list(ctx: click.Context, as_json: bool, db: str | None) -> None:
    from futago.app import build

    with _errors():
        app = build(_settings(ctx, db=db))
        specs = [{**spec.to_json(), "attachedTwins": app.behaviours.twins_of(spec)} for spec in app.behaviours.all()]
        app.close()
    if as_json:
        _print_json(specs)
        return
    table = Table("behaviour", "model", "version", "twins")
    for spec in specs:
        table.add_row(spec["name"], spec["model"], spec["version"], ", ".join(spec["attachedTwins"][:5]))
    Console().print(table)


@behaviours.command("run")
@click.argument("name")
@click.option("--twin", help="Only this twin (default: every twin it is attached to).")
@dask_option
@db_option
@click.pass_context
def behaviours_run(ctx: click.Context, name: str, twin: str | None, dask: str | None, db: str | None) -> None:
    """Run a behaviour now; prints each run's record (provenance) as JSON.

    With --dask, a simulator's Monte Carlo ensemble runs on the cluster in chunks of 50,000 members (each
    seeded as in process, so the forecast is identical); below that it is one task.
    """
    from futago.app import build
    from futago.sim.distributed import maybe_dask

    settings = _settings(ctx, db=db, dask=dask)
    with _errors(), maybe_dask(settings.dask) as mapper:  # an unreachable cluster fails before the store opens
        app = build(settings)
        try:
            if mapper is not None:
                app.behaviours.ensemble_mapper = mapper
            _print_json(app.behaviours.run(name, twin))
        finally:
            app.close()


@main.command()
@click.argument("behaviour")
@click.option("--twin", required=True, help="The twin whose measurements the behaviour is compared with.")
@click.option("--from", "start", required=True, help="Start of the period (ISO 8601 or epoch ms).")
@click.option("--to", "end", required=True, help="End of the period (exclusive).")
@click.option("--out", type=click.Path(file_okay=False), default="validation", show_default=True,
              help="Folder for the residual and scatter plots (PNG).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@db_option
@click.pass_context
def validate(
    ctx: click.Context, behaviour: str, twin: str, start: str, end: str, out: str, as_json: bool, db: str | None
) -> None:
    """Compare a behaviour's output with measured readings over a period (the QA view).

    Prints RMSE, MAE, MAPE, R², Pearson r, NSE and KGE, judges them against the tolerances declared with the
    behaviour, and saves residual and scatter plots. Exits with status 1 when a tolerance is not met.

    \b
    Example:
      futago validate river-forecast --twin river-1 --from 2026-07-01 --to 2026-07-08
    """
    from futago.app import build
    from futago.sim.validation import validate_behaviour

    with _errors():
        app = build(_settings(ctx, db=db))
        try:
            report = validate_behaviour(app.behaviours, behaviour, twin, *_period(start, end))
        finally:
            app.close()
    paths = report.save_plots(Path(out), f"{behaviour}_{twin}")
    if as_json:
        _print_json(report.to_json(plot_paths=paths))
    else:
        table = Table("metric", "value", "tolerance", "result")
        for metric, value in report.metrics.items():
            check = report.checks.get(metric)
            limit = "" if check is None else ("≤ " if check["bound"] == "max" else "≥ ") + f"{check['limit']:g}"
            verdict = "" if check is None else ("[green]pass[/green]" if check["ok"] else "[red]fail[/red]")
            table.add_row(metric, f"{value:.4g}", limit, verdict)
        Console().print(table)
        console.print(f"plots: {', '.join(paths.values())}")
        console.print("[green]passed[/green]" if report.passed else "[red]failed[/red]")
    if not report.passed:
        sys.exit(1)


@main.command()
@click.argument("behaviour")
@click.option("--twin", required=True, help="The twin whose history the parameters are fitted to.")
@click.option("--from", "start", required=True, help="Start of the period (ISO 8601 or epoch ms).")
@click.option("--to", "end", required=True, help="End of the period (exclusive).")
@click.option("--save", is_flag=True, help="Keep the fitted parameters in the behaviour.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
@click.pass_context
def calibrate(
    ctx: click.Context, behaviour: str, twin: str, start: str, end: str, save: bool, as_json: bool, db: str | None
) -> None:
    """Fit a physics behaviour's parameters to a twin's history, with standard errors and 95 % intervals."""
    from futago.app import build
    from futago.sim.calibration import calibrate_behaviour

    with _errors():
        app = build(_settings(ctx, db=db))
        try:
            result = calibrate_behaviour(app.behaviours, behaviour, twin, *_period(start, end), save=save)
        finally:
            app.close()
    if as_json:
        _print_json(result.to_json())
        return
    table = Table("parameter", "value", "std. error", "95 % interval")
    for name, value in result.params.items():
        low, high = result.ci95[name]
        table.add_row(name, f"{value:.5g}", f"{result.stderr[name]:.2g}", f"{low:.5g} … {high:.5g}")
    Console().print(table)
    console.print(f"RMSE {result.rmse_before:.4g} → {result.rmse:.4g} over {result.n} steps")


# scenario --------------------------------------------------------------------------------------
@main.command()
@click.argument("name", type=click.Choice(["flood", "plant"]))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of figures.")
@click.option("--db", help="Keep the scenario's store here (default: a temporary folder).")
def scenario(name: str, as_json: bool, db: str | None) -> None:
    """Run an end-to-end scenario headless, through the same code paths as live data.

    \b
      flood   a storm over a generated riverside district: readings over MQTT → ensemble forecast every
              10 minutes → rule → alert → residents of affected buildings notified → closeGate
              recommended and approved → the storm passes and the alert resolves
      plant   the OPC UA reactor's cooling jacket fouls → anomaly alert → a cooler setpoint is
              recommended, approved, checked against its envelope and written over OPC UA
    \b
    Example:
      futago scenario flood --json
    """
    module = importlib.import_module(f"futago.scenarios.{name}")
    with _errors():
        figures = module.run(db=db, progress=not as_json)
    _print_figures(figures, as_json)


# sim ------------------------------------------------------------------------------------------
@main.group()
def sim() -> None:
    """Simulation in batches: what-if scenario sweeps, in process or on a Dask cluster."""


def _scenario_file(path: str) -> list[Any]:
    """A list of scenarios from JSON (.json) or YAML, or an object holding one under "scenarios"."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    try:
        document = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidInput([Problem("--scenarios", f"{path} is not valid JSON or YAML: {exc}")]) from exc
    if isinstance(document, dict) and "scenarios" in document:
        document = document["scenarios"]
    if not isinstance(document, list) or not document:
        raise InvalidInput([Problem("--scenarios", f"{path}: a list of scenarios {{name, inputs, params, state}}")])
    return document


def _figures(summary: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """A summary's numbers, nested ones named a.b (e.g. exceedance.danger), for a table."""
    found: dict[str, float] = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            found |= _figures(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found[prefix + key] = value
    return found


@sim.command("sweep")
@click.argument("behaviour")
@click.option("--twin", required=True, help="The twin whose state and inputs every scenario starts from.")
@click.option(
    "--scenarios",
    "scenarios_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="JSON or YAML file: a list of scenarios, each {name, inputs, params, state}.",
)
@click.option("--at", help="When the scenarios start (ISO 8601 or epoch ms; default: now).")
@dask_option
@click.option("--json", "as_json", is_flag=True, help="Print the whole comparison, with the series, as JSON.")
@db_option
@click.pass_context
def sim_sweep(
    ctx: click.Context, behaviour: str, twin: str, scenarios_file: str, at: str | None, dask: str | None,
    as_json: bool, db: str | None,
) -> None:  # fmt: skip
    """Run a batch of what-if scenarios of a behaviour and compare each with the baseline; nothing is written.

    A scenario changes the horizon's inputs ({scale|add|set: x}), numeric parameters, or the start state. With
    --dask each scenario is a task on the cluster; the answers are identical to a run in process, in the file's
    order. Up to 1,024 scenarios.

    \b
    scenarios.yaml:
      - name: rain x1.5
        inputs: {rainfall: {scale: 1.5}}
      - name: faster outflow
        params: {a11: 0.2}
    \b
    Example:
      futago sim sweep river-forecast --twin river-1 --scenarios scenarios.yaml --dask local
    """
    import time

    from futago.app import build
    from futago.core.telemetry import parse_timestamp
    from futago.sim.distributed import maybe_dask
    from futago.sim.scenario import sweep

    settings = _settings(ctx, db=db, dask=dask)
    with _errors():
        scenarios = _scenario_file(scenarios_file)
        try:
            at_us = time.time_ns() // 1000 if at is None else parse_timestamp(at)
        except FutagoError as exc:
            raise InvalidInput([Problem("--at", f"not a time: {at!r} (ISO 8601 or epoch milliseconds)")]) from exc
        with maybe_dask(settings.dask) as mapper:
            app = build(settings)
            try:
                if mapper is not None:
                    app.behaviours.ensemble_mapper = mapper  # the baseline's ensemble too
                result = sweep(app.behaviours, behaviour, twin, at_us, scenarios, mapper=mapper or map)
            finally:
                app.close()
    if as_json:
        _print_json(result)
        return
    baseline = _figures(result["baseline"]["summary"])
    changes = [_figures(answer["difference"]) for answer in result["scenarios"]]
    shown = [k for k in baseline if any(change.get(k) for change in changes)]  # not the counts every run shares
    table = Table("scenario", *(k.replace("exceedance.", "P ") for k in shown))
    table.add_row("baseline", *(f"{baseline[k]:.4g}" for k in shown))
    for answer, change in zip(result["scenarios"], changes, strict=True):
        figures = _figures(answer["summary"])
        table.add_row(
            str(answer["name"]), *(f"{figures[k]:.4g}\n{change[k]:+.3g}" if k in change else "" for k in shown)
        )
    Console().print(table)


# eval -----------------------------------------------------------------------------------------
@main.command("eval")
@click.argument("benchmark", type=click.Choice(["skab", "nab", "cmapss"]))
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of figures.")
@click.option(
    "--predictions",
    type=click.Path(),
    help="Also write the predictions, so the score can be recomputed from outside "
    "(a folder for skab and nab, a CSV file for cmapss).",
)
@click.option("--detector", help="Detector or model to evaluate (default: the best one futago ships).")
@click.option(
    "--save-model",
    type=click.Path(dir_okay=False),
    help="cmapss only: also pickle a fitted RUL pipeline (sensors s1..s21 in, RUL out) for a behaviour's artifact.",
)
def eval_command(
    benchmark: str, path: str, as_json: bool, predictions: str | None, detector: str | None, save_model: str | None
) -> None:
    """Score futago's models on a public benchmark with that benchmark's own protocol.

    \b
      skab    SKAB anomaly benchmark: PATH holds valve1/, valve2/, … (first 400 rows of each file train)
      nab     NAB realKnownCause series, standard profile: PATH is the NAB data folder
      cmapss  NASA C-MAPSS FD001 remaining useful life: PATH holds train_/test_/RUL_FD001.txt
    \b
    Example:
      futago eval skab ../shared/data/skab --json --predictions out/skab
    """
    module = importlib.import_module(f"futago.analytics.evaluation.{benchmark}")
    options: dict[str, Any] = {"detector": detector} if detector else {}
    if save_model:
        if benchmark != "cmapss":
            raise click.UsageError(f"--save-model: only cmapss saves a fitted model, not {benchmark}")
        options["save_model"] = Path(save_model)
    with _errors():
        figures = module.evaluate(
            Path(path), predictions=Path(predictions) if predictions else None, progress=not as_json, **options
        )
    _print_figures(figures, as_json)


# catalog --------------------------------------------------------------------------------------
@main.group()
def catalog() -> None:
    """The data catalog: the datasets in the store, with licence and provenance."""


@catalog.command("list")
@click.option("--kind", help="Only this kind: city_import, telemetry, derived or models.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@db_option
@click.pass_context
def catalog_list(ctx: click.Context, kind: str | None, as_json: bool, db: str | None) -> None:
    """List the datasets: city imports, telemetry per twin, derived telemetry per behaviour, DTDL models."""
    from futago.app import build
    from futago.services.catalog import CatalogService

    with _errors():
        app = build(_settings(ctx, db=db))
        try:
            entries = CatalogService(app.store, app.behaviours, app.connections).entries(kind)
        finally:
            app.close()
    if as_json:
        _print_json({"value": entries})
        return
    table = Table("id", "kind", "licence", "records", "updated")
    for entry in entries:
        records = ", ".join(f"{k} {v:,}" for k, v in entry["records"].items())
        table.add_row(entry["id"], entry["kind"], entry["licence"], records, entry["updated"] or "")
    Console().print(table)


# audit ----------------------------------------------------------------------------------------
@main.group()
def audit() -> None:
    """The tamper-evident audit: every write, command, alert decision, notification and refused request,
    hash-chained (SHA-256) with Ed25519-signed checkpoints, also kept outside the store: in
    <db>.audit-checkpoints.jsonl by default ([audit] checkpoints), every 1,000 entries or 60 s and at shutdown.

    \b
    futago audit verify --db city.db --json           check the chain; names the first bad entry
    futago audit checkpoint --db city.db --out cp.json  sign the head; give cp.json to a third party
    futago audit verify --db city.db --checkpoint cp.json  later: prove nothing before it changed
    """


def _existing_store(db: str | None, ctx: click.Context) -> Settings:
    settings = _settings(ctx, db=db)
    path = settings.db.removeprefix("sqlite:///").removeprefix("sqlite://")
    if "://" not in path and path != ":memory:" and not Path(path).exists():
        raise InvalidInput([Problem("/db", f"there is no store at {path}: give --db the file to check")])
    return settings


@contextmanager
def _opened(ctx: click.Context, db: str | None, existing: bool = False) -> Iterator[App]:
    """The App over the store (--db), closed afterwards; ``existing``: the store must be there already."""
    from futago.app import build

    app = build(_existing_store(db, ctx) if existing else _settings(ctx, db=db))
    try:
        yield app
    finally:
        app.close()


@audit.command("verify")
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A checkpoint exported earlier (futago audit checkpoint --out); may be given several times.",
)
@click.option("--json", "as_json", is_flag=True, help="Print entries, ok and first_bad (and more) as JSON.")
@db_option
@click.pass_context
def audit_verify(ctx: click.Context, checkpoints: tuple[str, ...], as_json: bool, db: str | None) -> None:
    """Check that no audit entry was modified, deleted, inserted or reordered, and none removed from the end
    (truncated), against the checkpoints kept outside the store too. Exits 1 when one was.

    After every futago process has stopped cleanly, "uncovered" is 0: newer entries come from a process
    still running or one that crashed, or were written behind futago's back."""
    from futago.core.audit import Checkpoint

    with _errors():
        kept = [Checkpoint.from_json(json.loads(Path(path).read_text(encoding="utf-8"))) for path in checkpoints]
        with _opened(ctx, db, existing=True) as app:
            result = app.audit.verify(kept).to_json()
    if as_json:
        _print_json(result)
    elif result["ok"]:
        console.print(
            f"[green]ok[/green]: {result['entries']:,} entries, "
            f"{result['checkpoints_verified']} signed checkpoints verified"
        )
    else:
        console.print(f"[red]tampered[/red]: first bad entry {result['first_bad']}: {result['reason']}")
    if result["uncovered"]:  # a process still running, one that crashed, or entries written behind futago's back
        console.print(
            f"[yellow]{result['uncovered']:,} newest entries[/yellow] are not covered by an external checkpoint yet"
        )
    if not result["ok"]:
        sys.exit(1)


@audit.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Also write the checkpoint here.")
@db_option
@click.pass_context
def audit_checkpoint(ctx: click.Context, out: str | None, db: str | None) -> None:
    """Sign the chain's head with the store's Ed25519 key, and print (or write) the checkpoint to keep elsewhere."""
    with _errors():
        with _opened(ctx, db, existing=True) as app:
            checkpoint = app.audit.checkpoint()
        if checkpoint is None:
            raise InvalidInput([Problem("/db", "the audit is empty: there is nothing to sign yet")])
    if out:
        Path(out).write_text(json.dumps(checkpoint.to_json(), indent=2), encoding="utf-8")
    _print_json(checkpoint.to_json())


@audit.command("list")
@click.option("--limit", default=50, show_default=True, help="The last N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@db_option
@click.pass_context
def audit_list(ctx: click.Context, limit: int, as_json: bool, db: str | None) -> None:
    """The latest audit entries: who did what to which resource, and when."""
    from collections import deque

    with _errors(), _opened(ctx, db, existing=True) as app:
        entries = list(deque(app.audit.entries(), maxlen=limit))
    if as_json:
        _print_json({"value": [e.to_json() for e in entries]})
        return
    table = Table("seq", "time", "actor", "action", "resource")
    for e in entries:
        table.add_row(str(e.seq), e.ts, e.actor, e.action, e.resource)
    Console().print(table)


# keys and policies ----------------------------------------------------------------------------
@main.group()
def keys() -> None:
    """API keys: what callers send as 'Authorization: Bearer fk_...'. Stored only as scrypt hashes.

    \b
    futago keys create --db city.db --subject user:sato --group group:operators --scope READ
    futago policy grant --db city.db group:operators 'twins/river-*' READ
    """


@keys.command("create")
@click.option("--subject", required=True, help="Who the key acts for: user:<name> or device:<id>.")
@click.option("--group", "groups", multiple=True, help="A group the subject belongs to (group:<name>); repeatable.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["READ", "WRITE", "COMMAND", "ADMIN"]),
    help="A permission the key may use at all (default: all); repeatable.",
)
@click.option("--name", help="What the key is for (default: the subject).")
@click.option("--expires-days", type=float, default=90.0, show_default=True, help="0: never expires.")
@click.option("--json", "as_json", is_flag=True, help="Print the record and the key as JSON.")
@db_option
@click.pass_context
def keys_create(ctx: click.Context, subject: str, groups: tuple[str, ...], scopes: tuple[str, ...],
                name: str | None, expires_days: float, as_json: bool, db: str | None) -> None:  # fmt: skip
    """Create a key. It is printed once, here, and cannot be shown again."""
    from futago.security.policy import PERMISSIONS

    with _errors(), _opened(ctx, db) as app:
        record, key = app.security.create_key(name or subject, subject, groups, scopes or PERMISSIONS,
                                              expires_days or None, by="cli")  # fmt: skip
    if as_json:
        _print_json({**record, "key": key})
    else:
        console.print(f"key {record['id']} for {subject} (scopes {', '.join(record['scopes'])}, "
                      f"expires {record['expires'] or 'never'}); keep it now, it is not shown again:")  # fmt: skip
        click.echo(key)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@db_option
@click.pass_context
def keys_list(ctx: click.Context, as_json: bool, db: str | None) -> None:
    """The keys: id, subject, groups, scopes, expiry and revocation (never the keys themselves)."""
    with _errors(), _opened(ctx, db) as app:
        records = app.security.list_keys()
    if as_json:
        _print_json({"value": records})
        return
    table = Table("id", "name", "subject", "groups", "scopes", "expires", "revoked")
    for r in records:
        table.add_row(r["id"], r["name"], r["subject"], ", ".join(r["groups"]), ", ".join(r["scopes"]),
                      r["expires"] or "never", r["revoked"] or "")  # fmt: skip
    Console().print(table)


@keys.command("revoke")
@click.argument("key_id")
@db_option
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: str, db: str | None) -> None:
    """Revoke a key: servers sharing the store refuse it, and end its dashboard sessions, within a second."""
    with _errors(), _opened(ctx, db) as app:
        app.security.revoke_key(key_id, by="cli")
    console.print(f"key {key_id} revoked: refused within a second by every server on this store, sessions included")


@main.group()
def policy() -> None:
    """Policy entries: subjects x resources x permissions (READ, WRITE, COMMAND, ADMIN). What is not granted is
    refused. A revoke on a more specific resource overrides a grant above it.

    \b
    futago policy grant group:operators 'twins/river-*' READ COMMAND
    futago policy grant --revoke group:operators 'twins/*/properties/owner' READ
    """


@policy.command("grant")
@click.argument("subject")
@click.argument("resource")
@click.argument("permissions", nargs=-1, required=True, type=click.Choice(["READ", "WRITE", "COMMAND", "ADMIN"]))
@click.option("--revoke", is_flag=True, help="Revoke these permissions on the resource instead.")
@db_option
@click.pass_context
def policy_grant(ctx: click.Context, subject: str, resource: str, permissions: tuple[str, ...], revoke: bool,
                 db: str | None) -> None:  # fmt: skip
    """Grant (or --revoke) PERMISSIONS on RESOURCE (a path or glob: twins/pump-*, models/*, policies) to SUBJECT
    (user:<name>, group:<name>, key:<id>, device:<id>)."""
    from futago.security.policy import PolicyEntry

    with _errors():
        entry = PolicyEntry.parse({"subject": subject, "resource": resource, "permissions": list(permissions),
                                   "effect": "revoke" if revoke else "grant"})  # fmt: skip
        with _opened(ctx, db) as app:
            stored = app.security.grant(entry, by="cli")
    _print_json(stored.to_json())


@policy.command("list")
@db_option
@click.pass_context
def policy_list(ctx: click.Context, db: str | None) -> None:
    """The policy entries in force, as JSON."""
    with _errors(), _opened(ctx, db) as app:
        entries = app.security.list_entries()
    _print_json({"value": [e.to_json() for e in entries]})


@policy.command("remove")
@click.argument("entry_id", type=int)
@db_option
@click.pass_context
def policy_remove(ctx: click.Context, entry_id: int, db: str | None) -> None:
    """Remove the policy entry ENTRY_ID (see futago policy list)."""
    with _errors(), _opened(ctx, db) as app:
        app.security.remove(entry_id, by="cli")
    console.print(f"policy entry {entry_id} removed")


# open data --------------------------------------------------------------------------------------
@main.command("export")
@click.option(
    "--layer",
    default="buildings",
    show_default=True,
    help="buildings, flood_zones, roads, or the id of a model whose twins have a geometry.",
)
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv", "3dtiles"]), default="geojson", show_default=True)
@click.option(
    "--licence",
    type=click.Choice(["CC-BY-4.0", "ODbL-1.0", "CC0-1.0"]),
    required=True,
    help="The terms the data is published under (recorded in the catalog and metadata.json).",
)
@click.option("--attribution", help='Who to credit, e.g. "Kano City; PLATEAU (MLIT)".')
@click.option("--out", required=True, type=click.Path(file_okay=False), help="The folder to write to.")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog record as JSON.")
@db_option
@click.pass_context
def export(ctx: click.Context, layer: str, fmt: str, licence: str, attribution: str | None, out: str,
           as_json: bool, db: str | None) -> None:  # fmt: skip
    """Publish a non-personal layer as open data (GeoJSON, CSV or 3D Tiles) with its licence; the export is
    recorded in the data catalog. A layer whose model marks anything Personal is refused."""
    from futago.security.personal import personal_fields
    from futago.services.open_data import export_layer

    with _errors(), _opened(ctx, db) as app:
        catalog = app.models.models
        record = export_layer(app.store, catalog, lambda m: any(personal_fields(catalog, m)), layer, fmt,
                              licence, Path(out), attribution)  # fmt: skip
        app.audit.record("cli", "open_data.exported", f"catalog/{record['id']}",
                         {"licence": licence, "files": record["provenance"]["fileCount"]})  # fmt: skip
    if as_json:
        _print_json(record)
    else:
        console.print(f"{record['records']['features']:,} features of {layer} written to {out} "
                      f"({record['licence']}); catalog: {record['id']}")  # fmt: skip


if __name__ == "__main__":
    main()
