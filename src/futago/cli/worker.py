"""``futago worker``: an ingestion worker over the NATS log, for ingest scaled out across processes."""

from __future__ import annotations

import signal
from contextlib import ExitStack

import click

from futago.cli.context import command_settings, opened_app
from futago.cli.options import db_option, nats_option
from futago.cli.output import console, print_json, reported_errors
from futago.core.errors import InvalidInput
from futago.core.problems import Problem


@click.command()
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
    from futago.scale.worker import IngestWorker, partitions_of

    settings = command_settings(ctx, db=db, nats=nats)
    with ExitStack() as opened:
        with reported_errors():  # bad options and an unreachable store are a sentence; a crash keeps its traceback
            if not settings.nats:
                raise InvalidInput(
                    [Problem("/scale/nats", "a worker consumes the NATS ingestion log: give --nats URL")]
                )
            try:
                partitions = partitions_of(index, of, settings.partitions)
            except ValueError as exc:
                raise InvalidInput([Problem("--index", str(exc))]) from exc
            app = opened.enter_context(opened_app(settings, worker=True))
        assert app.scale is not None
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
        print_json({"worker": index, **consumer.counters.to_json()})  # what it did, for scripts and the bench
