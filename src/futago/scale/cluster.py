"""How a scaled-out App takes part in leadership: the lease for its store, the fence around every side effect,
the connection states it records or reads, and the desk that acts on the others' connection requests."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from futago.core.fence import Fence
from futago.scale.forward import LeaderCall, LeaderDesk
from futago.scale.leader import Leadership
from futago.scale.lease import FileLease, Lease, PostgresLease
from futago.scale.states import ConnectionStates
from futago.store.sql.db import Database
from futago.store.url import StoreUrl

if TYPE_CHECKING:
    from futago.app import App


def lease_for(app: App) -> Lease:
    """A cluster's lease in its PostgreSQL store; one machine's file lock beside a SQLite store."""
    from futago.app import leader_lock_path

    where = StoreUrl.parse(app.settings.db)
    return PostgresLease(where.text) if where.is_postgres else FileLease(leader_lock_path(app.settings))


def advertised(app: App) -> str:
    """Where this process serves its API, stored with its lease so that operators see who leads."""
    host = app.settings.host
    shown = socket.getfqdn() if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{app.settings.port} (pid {os.getpid()})"


def leadership_for(app: App, lease: Lease | None = None) -> Leadership:
    """Wire the fence into every part that acts as the leader, and the hand-over of connection requests."""
    assert app.scale is not None
    lease = lease if lease is not None else lease_for(app)
    fence = Fence(lease.confirm)
    app.connections.fence = fence
    app.behaviours.fence = fence
    app.alerts.fence = fence
    app.notifications.dispatcher.fence = fence
    app.commands.dispatcher.fence = fence
    db: Database = app.store.db  # type: ignore[attr-defined]  # both SQL stores; the states are SQL of their own
    states = ConnectionStates(db, fence)
    app.connections.on_state = states.record
    app.connections.leader_state = states.read
    app.connections.leader_call = LeaderCall(app.scale.link)
    desk = LeaderDesk(app.scale.link, app.connections, fence)
    app.scale.states = states

    def lead() -> None:
        app.start_stateful()
        desk.open()

    def lose() -> None:
        desk.close()
        app.stop_stateful()

    return Leadership(lease, lead, on_lose=lose, fence=fence, address=advertised(app))
