"""A rule's ``recommend``: the command proposal an alert makes, and the history entry of what became of it."""

from __future__ import annotations

import logging

from futago.act.alerting.announce import snapshot
from futago.act.alerting.targets import TwinLookup
from futago.act.model import Alert, Proposal, Proposer
from futago.act.rules import Rule, render
from futago.core.alerts import AlertHistoryEntry
from futago.core.errors import FutagoError

log = logging.getLogger(__name__)


def proposal_for(rule: Rule, alert: Alert, twins: TwinLookup) -> tuple[Alert, Proposal | None, str | None]:
    """The proposal of a raised alert, to its fixed, templated or related twin; or why there is none."""
    recommend = rule.recommend
    assert recommend is not None
    if recommend.relationship is not None:
        targets = [r.target_id for r in twins.list_relationships(alert.twin_id, recommend.relationship)]
        if not targets:
            return alert, None, f"twin '{alert.twin_id}' has no '{recommend.relationship}' relationship"
        target = targets[0]
    else:
        target = render(recommend.twin, {"twin": alert.twin_id, "zone": alert.area.get("zone", "")})
    proposal = Proposal(
        twin_id=target,
        command=recommend.command,
        payload=recommend.payload,
        proposed_by=f"rule:{rule.name}",
        evidence=snapshot(alert).to_json(),
        alert_id=alert.id,
    )
    return alert, proposal, None


def recommendation(
    proposer: Proposer | None, proposal: Proposal | None, failure: str | None, at: str
) -> AlertHistoryEntry:
    """Hand the proposal to the command service; the alert's history entry says what became of it."""
    if proposal is None:
        return AlertHistoryEntry(at, event="recommendFailed", details={"detail": failure})
    target = {"twinId": proposal.twin_id, "command": proposal.command}
    if proposer is None:
        return _failed(at, target, "no command service is configured")
    try:
        result = proposer.propose(proposal)
    except FutagoError as exc:  # refused by the safety envelope, an unknown command…: recorded, not fatal
        return _failed(at, target, exc.detail)
    except Exception as exc:
        log.exception("the command service failed on a proposal of rule %s", proposal.proposed_by)
        return _failed(at, target, f"{type(exc).__name__}: {exc}")
    return AlertHistoryEntry(at, event="recommended", details={**target, "result": result})


def _failed(at: str, target: dict[str, str], detail: str) -> AlertHistoryEntry:
    return AlertHistoryEntry(at, event="recommendFailed", details={**target, "detail": detail})
