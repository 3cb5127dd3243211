"""领导签批: a supervised ticket's re-handled result signed off by a leader before the callback.

When the dispatcher accepts (审核通过) the lead unit's reply on a ticket under an open
supervision case, the ticket waits as 待签批 for a leader (`gate`, asked by review) and
the leaders are told. The leader agrees (签批同意 → 待回访, the callback clock starts) or
sends it back to the lead unit (签批退回 → handling again, like a review reject); either
way the leader's name, title and words are kept on a LeaderSignoff row and the event.

The gate is the setting `signoff_gate` (default: on for every supervised ticket).

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline import settings
from hotline.auth.models import User
from hotline.enums import (EventAction, NotificationKind, Role, SignoffDecision,
                           TicketState)
from hotline.extensions import db
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import in_state, text
from hotline.lifecycle.registry import register
from hotline.notifications.services import notify
from hotline.review.models import LeaderSignoff
from hotline.supervision.levels import level_name
from hotline.supervision.models import SupervisionCase
from hotline.review.results import back_to_unit, latest_lead_reply, to_callback
from hotline.supervision.queries import open_case_for
from hotline.tickets.models import Ticket

#: Setting: when a reviewed reply waits for a leader's sign-off. `enabled` turns the
#: gate off altogether; `min_level` is the lowest supervision level (1..3) it applies
#: to; `request_types` the request types it applies to (values such as "complaint"; an
#: empty list means every type).
SIGNOFF_GATE = "signoff_gate"
SIGNOFF_GATE_DEFAULT = {"enabled": True, "min_level": 1, "request_types": []}


def gate(ticket: Ticket) -> SupervisionCase | None:
    """The open supervision case that makes this ticket's accepted reply wait for a
    leader's sign-off, or None when the reply goes straight to callback."""
    rule = settings.value(SIGNOFF_GATE, SIGNOFF_GATE_DEFAULT)
    if not rule.get("enabled", True):
        return None
    case = open_case_for(ticket.id)
    if case is None:
        return None
    try:
        min_level = int(rule.get("min_level") or 1)
    except (TypeError, ValueError):
        min_level = 1
    if case.level < min_level:
        return None
    types = rule.get("request_types") or []
    if types and ticket.request_type.value not in types:
        return None
    return case


def await_signoff(ticket: Ticket, case: SupervisionCase, at: datetime) -> None:
    """审核通过 under the gate: the ticket waits for a leader (the review writes its event)."""
    ticket.state = TicketState.PENDING_SIGNOFF
    ticket.callback_due_at = None
    notify(NotificationKind.SIGNOFF, at, role=Role.LEADER.value, ticket_id=ticket.id,
           title=f"待领导签批：督办工单 {ticket.number}（{level_name(case.level)}）重新办理结果已审核，请签批")


def signoffs_for(ticket_id: int, case_id: int | None = None) -> list[LeaderSignoff]:
    """The sign-off history of a ticket (of one of its cases when named), oldest first."""
    stmt = sa.select(LeaderSignoff).where(LeaderSignoff.ticket_id == ticket_id)
    if case_id is not None:
        stmt = stmt.where(LeaderSignoff.case_id == case_id)
    return list(db.session.scalars(stmt.order_by(LeaderSignoff.id)))


def _sign(ticket: Ticket, actor: User, at: datetime, data: dict, decision: SignoffDecision) -> LeaderSignoff:
    words = text(data.get("words"), "words", "签批意见", max_len=4000)
    reply = latest_lead_reply(ticket)
    case = open_case_for(ticket.id)
    row = LeaderSignoff(ticket_id=ticket.id, case_id=case.id if case else None, reply_id=reply.id,
                        leader_id=actor.id, leader_name=actor.display_name, leader_title=actor.title or "",
                        decision=decision, words=words, created_at=at)
    db.session.add(row)
    db.session.flush()
    lead = ticket.lead_assignment
    if decision is SignoffDecision.APPROVED:
        to_callback(ticket, at)  # (an anonymous ticket closes: no one to call back)
        action = EventAction.SIGNOFF_APPROVE
    else:
        back_to_unit(ticket)
        action = EventAction.SIGNOFF_RETURN
    record(ticket, actor, action, TicketState.PENDING_SIGNOFF, note=words, at=at, assignment=lead,
           payload={"signoff_id": row.id, "reply_id": reply.id, "case_id": row.case_id,
                    "by": row.leader_name, "title": row.leader_title, "words": words,
                    "decision": decision.value})
    return row


@register("signoff_approve", "签批同意", (Role.LEADER,), stage="review",
          check=in_state("签批同意", TicketState.PENDING_SIGNOFF), message="已签批同意，转回访")
def signoff_approve(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> LeaderSignoff:
    """签批同意: the leader agrees with the re-handled result, with words; the ticket goes
    to callback on a fresh callback clock."""
    return _sign(ticket, actor, at, data, SignoffDecision.APPROVED)


@register("signoff_return", "签批退回", (Role.LEADER,), stage="review",
          check=in_state("签批退回", TicketState.PENDING_SIGNOFF), message="已签批退回承办单位重新办理")
def signoff_return(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> LeaderSignoff:
    """签批退回: the leader sends the result back to the lead unit with words, like a
    review reject (the ticket is handled again; the reopen count stays)."""
    return _sign(ticket, actor, at, data, SignoffDecision.RETURNED)
