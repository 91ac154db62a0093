"""``futago db``: the store's schema, brought up to date by its migrations."""

from __future__ import annotations

from contextlib import closing

import click

from futago.cli.context import command_settings
from futago.cli.options import db_option
from futago.cli.output import console, print_json, reported_errors


@click.group("db")
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
    # Only the store, not the App: opening it is what migrates, and nothing else (connectors, the audit's
    # keys, behaviours) has any business starting against a schema being upgraded.
    from futago.app import open_store
    from futago.store.migrations import load, schema_version

    settings = command_settings(ctx, db=db)
    with reported_errors(), closing(open_store(settings.db)) as store:
        database = store.db  # type: ignore[attr-defined]
        migrations = load(database.migrations_package)
        report = {
            "db": store.url,
            "adapter": database.engine,
            "applied": database.applied_migrations,
            "version": schema_version(migrations),
            "migrations": [m.key for m in migrations],
        }
    if as_json:
        print_json(report)
        return
    applied = report["applied"]
    console.print(f"{report['db']}: schema version {report['version']}; "
                  + (f"applied {', '.join(applied)}" if applied else "already up to date"))  # fmt: skip
