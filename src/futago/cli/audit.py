"""``futago audit``: the tamper-evident audit, verified against checkpoints kept outside the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from futago.cli.context import command_settings, opened_app
from futago.cli.options import db_option
from futago.cli.output import console, print_json, reported_errors
from futago.core.errors import InvalidInput
from futago.core.problems import Problem


@click.group()
def audit() -> None:
    """The tamper-evident audit: every write, command, alert decision, notification and refused request,
    hash-chained (SHA-256) with Ed25519-signed checkpoints, also kept outside the store: in
    <db>.audit-checkpoints.jsonl by default ([audit] checkpoints), every 1,000 entries or 60 s and at shutdown.

    \b
    futago audit verify --db city.db --json           check the chain; names the first bad entry
    futago audit checkpoint --db city.db --out cp.json  sign the head; give cp.json to a third party
    futago audit verify --db city.db --checkpoint cp.json  later: prove nothing before it changed
    """


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

    with reported_errors():
        kept = [Checkpoint.from_json(json.loads(Path(path).read_text(encoding="utf-8"))) for path in checkpoints]
        with opened_app(command_settings(ctx, db=db, existing_store=True)) as app:
            result = app.audit.verify(kept).to_json()
    if as_json:
        print_json(result)
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
    with reported_errors():
        with opened_app(command_settings(ctx, db=db, existing_store=True)) as app:
            checkpoint = app.audit.checkpoint()
        if checkpoint is None:
            raise InvalidInput([Problem("/db", "the audit is empty: there is nothing to sign yet")])
    if out:
        Path(out).write_text(json.dumps(checkpoint.to_json(), indent=2), encoding="utf-8")
    print_json(checkpoint.to_json())


@audit.command("list")
@click.option("--limit", default=50, show_default=True, help="The last N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@db_option
@click.pass_context
def audit_list(ctx: click.Context, limit: int, as_json: bool, db: str | None) -> None:
    """The latest audit entries: who did what to which resource, and when."""
    from collections import deque

    with reported_errors(), opened_app(command_settings(ctx, db=db, existing_store=True)) as app:
        entries = list(deque(app.audit.entries(), maxlen=limit))
    if as_json:
        print_json({"value": [e.to_json() for e in entries]})
        return
    table = Table("seq", "time", "actor", "action", "resource")
    for e in entries:
        table.add_row(str(e.seq), e.ts, e.actor, e.action, e.resource)
    Console().print(table)
