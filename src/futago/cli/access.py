"""``futago keys`` and ``futago policy``: who may call, and what each caller may do."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from futago.cli.context import command_settings, opened_app
from futago.cli.options import db_option
from futago.cli.output import console, print_json, reported_errors


@click.group()
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

    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        record, key = app.security.create_key(name or subject, subject, groups, scopes or PERMISSIONS,
                                              expires_days or None, by="cli")  # fmt: skip
    if as_json:
        print_json({**record, "key": key})
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
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        records = app.security.list_keys()
    if as_json:
        print_json({"value": records})
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
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        app.security.revoke_key(key_id, by="cli")
    console.print(f"key {key_id} revoked: refused within a second by every server on this store, sessions included")


@click.group()
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

    with reported_errors():
        entry = PolicyEntry.parse({"subject": subject, "resource": resource, "permissions": list(permissions),
                                   "effect": "revoke" if revoke else "grant"})  # fmt: skip
        with opened_app(command_settings(ctx, db=db)) as app:
            stored = app.security.grant(entry, by="cli")
    print_json(stored.to_json())


@policy.command("list")
@db_option
@click.pass_context
def policy_list(ctx: click.Context, db: str | None) -> None:
    """The policy entries in force, as JSON."""
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        entries = app.security.list_entries()
    print_json({"value": [e.to_json() for e in entries]})


@policy.command("remove")
@click.argument("entry_id", type=int)
@db_option
@click.pass_context
def policy_remove(ctx: click.Context, entry_id: int, db: str | None) -> None:
    """Remove the policy entry ENTRY_ID (see futago policy list)."""
    with reported_errors(), opened_app(command_settings(ctx, db=db)) as app:
        app.security.remove(entry_id, by="cli")
    console.print(f"policy entry {entry_id} removed")
