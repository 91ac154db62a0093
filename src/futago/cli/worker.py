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
@click.option("--index", type=int, default=None,
              help="Static mode: this worker's number, 0 to --of minus 1 (without it, workers share the partitions "
                   "through leases and may join and leave at any time).")  # fmt: skip
@click.option("--of", "of", type=click.IntRange(1, 1024), default=None, help="Static mode: how many workers.")
@click.option("--batch", type=click.IntRange(1, 10_000), default=None,
              help="Messages fetched and stored per transaction; sets the cluster's setting (default: the stored "
                   "one, else 500).")  # fmt: skip
@click.option("--ack-wait", type=click.FloatRange(1, 3600), default=None,
              help="Seconds before a batch taken but not acknowledged (its worker died) comes again; sets the "
                   "cluster's setting (default: the stored one, else 30).")  # fmt: skip
@nats_option
@db_option
@click.pass_context
def worker(
    ctx: click.Context,
    index: int | None,
    of: int | None,
    batch: int | None,
    ack_wait: float | None,
    nats: str | None,
    db: str | None,
) -> None:
    """An ingestion worker: consume the NATS ingestion log and run each message through mapping, quality, the
    store and events, exactly as a connector inside the server would.

    The log has [scale] partitions (8), fixed for the cluster: a twin's messages all go to one partition, and one
    worker at a time consumes a partition, so each twin is ingested in order. Workers share the partitions through
    leases in NATS KV: start as many as you like, on any host, and stop or add them at any time; a new worker gets
    its share within seconds, and a dead worker's partitions are taken over once its lease (6 s) and the
    unacknowledged batch's --ack-wait have passed. A batch is acknowledged only once stored, so nothing is lost and,
    appends being idempotent, nothing is stored twice. --index/--of give a fixed share instead (static mode).
    Partitions, ack wait, batch and the workers' mode are the cluster's settings, stored in NATS KV
    'futago-cluster': a worker whose partitions differ from them refuses to start, and so does a worker of the
    other mode (static or leased) while workers of the recorded one run. Stop it with Ctrl-C or SIGTERM.

    \b
    Example (two workers, on one host or two):
      futago worker --db postgresql://futago@127.0.0.1:5432/futago --nats nats://127.0.0.1:4222
      futago worker --db postgresql://futago@127.0.0.1:5432/futago --nats nats://127.0.0.1:4222
    """
    import uuid

    from futago.scale.cluster_settings import WorkerMode, agree
    from futago.scale.worker import IngestWorker, partitions_of

    settings = command_settings(ctx, db=db, nats=nats)
    with ExitStack() as opened:
        with reported_errors():  # bad options and an unreachable store are a sentence; a crash keeps its traceback
            if not settings.nats:
                raise InvalidInput(
                    [Problem("/scale/nats", "a worker consumes the NATS ingestion log: give --nats URL")]
                )
            static = index is not None or of is not None
            try:
                partitions = partitions_of(index or 0, of or 1, settings.partitions) if static else None
            except ValueError as exc:
                raise InvalidInput([Problem("--index", str(exc))]) from exc
            app = opened.enter_context(opened_app(settings, worker=True))  # checks [scale] partitions too
            assert app.scale is not None
            # The mode is the cluster's: a static and a leased worker would consume the same partitions.
            mode = WorkerMode(of or 1) if static else WorkerMode()
            worker_id = str(index or 0) if static else uuid.uuid4().hex[:12]
            cluster, _ = agree(app.scale.link, settings.partitions, ack_wait, batch, mode, worker_id)
        app.connections.load(settings.connections, start=False)

        def report(taken: set[int]) -> None:
            console.print(f"futago worker {consumer.id}: partitions {sorted(taken)} of {cluster.partitions}")

        presence = mode.presence_key(worker_id) if static else None
        consumer = IngestWorker(
            app.scale.link, app.connections, app.ingest, cluster, partitions, report, worker_id, presence
        )
        previous = signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
        share = f"{index or 0}/{of or 1}: partitions {partitions}" if partitions is not None else "joins the cluster"
        console.print(f"futago worker {share} of {cluster.partitions} (ack wait {cluster.ack_wait_s:g} s, "
                      f"batch {cluster.batch}), store {app.store.url}")  # fmt: skip
        try:
            consumer.run()
        except KeyboardInterrupt:
            consumer.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
        name = index if partitions is not None else consumer.id
        print_json({"worker": name, **consumer.counters.to_json()})  # what it did, for scripts and the bench
