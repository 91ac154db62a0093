"""What a process finds when it takes the lead: the side effects a former leader left half done.

Deliveries need nothing here: the notification service resumes what is ``queued`` or ``retrying`` with its body
when it starts leading. Commands do: one ``approved`` or ``sent`` under another token than the new leader's is a
former leader's (or an approval recorded without a token: a process alone, or one older than the forwarding of
approvals to the leader, futago.scale.forward), and its outcome will never be seen by the process that sent it.
``left_commands`` finds them, with the token each was last written with, for ``CommandService.take_over`` to fail
under the new token.
"""

from __future__ import annotations

from futago.store.sql.db import Database


def left_commands(db: Database, token: int) -> dict[str, int | None]:
    """Commands ``approved`` or ``sent`` whose row was last written under a token other than ``token`` (None: no
    token, an operator's approval or a process alone), by id. A higher token than ``token`` cannot be there: the
    store refuses a write of a lower token than the lease's, and ``token`` is the lease's."""
    rows = db.read().execute(
        "SELECT id, fence_token FROM commands WHERE state IN ('approved', 'sent') "
        "AND (fence_token IS NULL OR fence_token <> ?)",
        (token,),
    )
    return {str(command_id): None if former is None else int(former) for command_id, former in rows}
