"""The one way a command reaches the platform: its settings, and the App opened over them and closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from futago.config import Settings
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.store.url import StoreUrl

if TYPE_CHECKING:
    from futago.app import App


def command_settings(ctx: click.Context, *, existing_store: bool = False, **overrides: Any) -> Settings:
    """The settings read by the root command (--config, FUTAGO_*, futago.toml) with this command's flags on top.

    ``existing_store``: the store must be there already. Commands that read what was recorded (the audit) would
    otherwise create an empty store and report on it, which says nothing true about the one the user meant.
    """
    base: Settings = ctx.obj["settings"]
    settings = base.with_overrides(**overrides)
    if existing_store:
        where = StoreUrl.parse(settings.db)
        if where.file is not None and not where.file.exists():
            raise InvalidInput([Problem("/db", f"there is no store at {where.path}: give --db the file to check")])
    return settings


@contextmanager
def opened_app(settings: Settings, *, worker: bool = False) -> Iterator[App]:
    """The App built over ``settings``, closed however the command ends (the store flushes and unlocks)."""
    from futago.app import build  # imported here: `futago --help` and `models validate` need no store

    app = build(settings, worker=worker)
    try:
        yield app
    finally:
        app.close()
