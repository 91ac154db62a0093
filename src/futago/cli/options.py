"""Options that several command groups share, declared once so that their help reads the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def db_option(func: F) -> F:
    return click.option(
        "--db",
        envvar="FUTAGO_DB",
        help="Store: a SQLite file path (the default, futago.db) or sqlite:///path. Env FUTAGO_DB; TOML [store] db.",
    )(func)


def nats_option(func: F) -> F:
    return click.option(
        "--nats",
        metavar="URL",
        help="NATS with JetStream (nats://host:port): connectors log their messages there for `futago worker`s, "
        "and every process sees every change. Env FUTAGO_NATS; TOML [scale] nats.",
    )(func)


def dask_option(func: F) -> F:
    return click.option(
        "--dask",
        metavar="ADDRESS",
        help="Run on Dask: a scheduler's tcp://host:port, or 'local' (a cluster of 2 worker processes on "
        "127.0.0.1, no dashboard). Same results as in process. Env FUTAGO_DASK; TOML [sim] dask.",
    )(func)
