"""``futago serve`` and ``futago demo``: the API server, over the user's store or the sample district and plant."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from futago import __version__
from futago.cli.context import command_settings, opened_app
from futago.cli.options import db_option, nats_option
from futago.cli.output import Steps, console, reported_errors
from futago.cli.serve_lock import check_port_free, hold_store
from futago.config import Settings
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.store.url import StoreUrl

if TYPE_CHECKING:
    from futago.app import App


@click.command()
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
    settings = command_settings(ctx, host=host, port=port, db=db, nats=nats)
    with ExitStack() as opened:
        termination = opened.enter_context(_terminated_cleanly())
        with reported_errors():  # a bad setting or store is a sentence; a crash while serving keeps its traceback
            settings.check_safe_to_serve()
            if workers > 1:
                _serve_processes(ctx, settings, workers)
                return
            _claim(opened, settings, "serve")
            app = opened.enter_context(opened_app(settings))
        _run_server(app, termination)


def _claim(opened: ExitStack, settings: Settings, command: str) -> None:
    """Before the store is opened or anything written: the store is this server's alone (a SQLite file; a
    PostgreSQL store is shared by design, except by the demo), and the port is free. Either refusal names why."""
    from futago.app import server_store_files

    hold = hold_store(
        settings.db,
        command,
        settings.host,
        settings.port,
        server_store_files(settings),
        exclusive_on_server=command == "demo",
    )
    if hold is not None:
        opened.callback(hold.release)  # last out: after the store is closed
    check_port_free(settings.host, settings.port)


def _serve_processes(ctx: click.Context, settings: Settings, workers: int) -> None:
    """uvicorn's own process manager; each process builds its App from the environment set here."""
    import uvicorn

    from futago.api.serving import uvicorn_options

    problems = []
    if not StoreUrl.parse(settings.db).is_postgres:
        problems.append(Problem("/store/db", "several API processes share a PostgreSQL store, not a SQLite file"))
    if not settings.nats:
        problems.append(Problem("/scale/nats", "several API processes need NATS to see each other's changes"))
    if problems:
        raise InvalidInput(problems)
    check_port_free(settings.host, settings.port)
    os.environ.update({"FUTAGO_DB": settings.db, "FUTAGO_NATS": str(settings.nats), "FUTAGO_HOST": settings.host,
                       "FUTAGO_PORT": str(settings.port)})  # fmt: skip
    if ctx.obj.get("config"):
        os.environ["FUTAGO_CONFIG"] = str(Path(ctx.obj["config"]).resolve())
    console.print(f"futago {__version__}: {workers} processes at http://{settings.host}:{settings.port}/docs")
    uvicorn.run("futago.app:api_from_environment", factory=True, workers=workers, host=settings.host,
                port=settings.port, log_level="warning", **uvicorn_options(settings))  # fmt: skip


def _run_server(app: App, termination: Termination) -> None:
    """Start the App's background work and serve until interrupted."""
    import uvicorn

    from futago.api.server import create_api
    from futago.api.serving import uvicorn_options

    settings: Settings = app.settings
    console.print(f"futago {__version__} serving {app.store.url} at http://{settings.host}:{settings.port}/docs")
    with termination.held_off():  # a SIGTERM while the App starts its threads stops it once they all run
        app.start()
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again for the handler it found, the caller's
    # Termination: the exit unwinds the caller's stack, which stops the background jobs and closes the App.
    uvicorn.run(create_api(app), host=settings.host, port=settings.port, log_level="warning",
                **uvicorn_options(settings))  # fmt: skip


class Termination:
    """The SIGTERM handler of ``serve`` and ``demo`` (systemd, docker, a terminal closing): at any moment, from the
    first line of start-up to serving, it ends the command as a finished one (exit 0). The exit is raised in the
    main thread wherever it stands, and unwinds what is open (a store transaction rolls back, background jobs stop,
    the store closes) instead of the default action, which kills the process on the spot (exit 143). A second
    SIGTERM while it unwinds is ignored, so that the clean-up is not itself cut short.

    Except inside ``held_off``: there the main thread starts threads and records how to stop them, and an exit
    raised in the middle would leave that half done (a thread started but not recorded, so never stopped, or
    recorded but never started, so ``join`` fails; a lock of ``threading``'s own taken and never given back, so
    the clean-up hangs). A SIGTERM there is kept, and the exit raised as the section ends, whole."""

    def __init__(self) -> None:
        self.held = 0  # how many held_off sections the main thread is in
        self.requested = False

    def __call__(self, *_: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if self.held:
            self.requested = True
            return
        raise SystemExit(0)

    @contextmanager
    def held_off(self) -> Iterator[None]:
        """Starting the background threads: a SIGTERM meanwhile ends the command once they are all started."""
        self.held += 1
        try:
            yield
        finally:
            self.held -= 1
        if self.requested and not self.held:
            raise SystemExit(0)


@contextmanager
def _terminated_cleanly() -> Iterator[Termination]:
    """``Termination`` handles SIGTERM until the command ends; the handler found before it is put back then."""
    termination = Termination()
    previous = signal.signal(signal.SIGTERM, termination)
    try:
        yield termination
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command()
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
    settings = command_settings(ctx, host=host, port=port, db=db)
    step = Steps("demo")  # the demo has no --json: its start-up is for people, stage by stage
    with ExitStack() as opened:
        termination = opened.enter_context(_terminated_cleanly())
        with reported_errors():
            settings.check_safe_to_serve()
            from futago.demo import Simulator, announce_when_ready, live_flood, live_plant, seed

            _claim(opened, settings, "demo")  # at once: a second demo must not seed the first one's store
            step(f"opening the store {settings.db}")
            app = opened.enter_context(opened_app(settings))
            summary = seed(app, step)
        # The counts are the store's, as GET /health gives them, not only what the sample district added.
        console.print(
            f"demo: sample district seeded ({summary['twins']} twins, {summary['readings']:,} readings of history, "
            f"{summary['quality']} QARTOD tests); the store holds {app.health.summary()}",
            soft_wrap=True,  # one line, to read beside GET /health
        )
        # Each background job is stopped before the store closes (the stack unwinds last in, first out), whenever
        # start-up ends, a SIGTERM included; one meanwhile waits until each job started is on the stack.
        with termination.held_off():
            simulator = Simulator(app, interval)
            simulator.start()
            opened.callback(simulator.stop)
            live: list[str] = []
            if flood_step > 0:
                opened.callback(live_flood(app, Path(db).parent / "flood", flood_step).stop)
                live.append("flood")
            if plant:
                opened.callback(live_plant(app).stop)
                live.append("plant")
            if live:
                # The scenarios set up in the background while the server starts; announce_when_ready says when.
                step(f"setting up the live {' and '.join(live)} scenarios in the background; a line follows when ready")
                announce_when_ready(app, live, console.print)
        _run_server(app, termination)
