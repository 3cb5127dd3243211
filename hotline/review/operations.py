"""审核 (review): the centre checks the lead unit's reply before the citizen is called
back; a reply that does not answer the request goes back to the unit with a note."""
from __future__ import annotations

from datetime import datetime

from hotline.auth.models import User
from hotline.enums import EventAction, Role, TicketState
from hotline.errors import ValidationFailed
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import in_state, text
from hotline.lifecycle.registry import register
from hotline.review.results import back_to_unit, closure_of, latest_lead_reply, to_callback
from hotline.review.signoff import await_signoff, gate
from hotline.tickets.models import Ticket


@register("review", "审核", (Role.DISPATCHER,), stage="review", check=in_state("审核", TicketState.REPLIED),
          message=lambda t: {TicketState.REVIEWED: "审核通过，已转回访",
                             TicketState.CLOSED: "审核通过，匿名工单不回访，已办结",
                             TicketState.PENDING_SIGNOFF: "审核通过，待领导签批"}.get(t.state, "已退回承办单位"))
def review(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """审核: accept the reply (to callback) or send it back to the unit with a note."""
    decision = data.get("decision")
    if decision not in ("accept", "reject"):
        raise ValidationFailed("请选择审核结果", field="decision")
    accept = decision == "accept"
    note = text(data.get("note"), "note", "退回意见", required=not accept)
    row = latest_lead_reply(ticket)
    row.reviewed_at, row.review_ok, row.review_note = at, accept, note
    case = gate(ticket) if accept else None
    if case is not None:  # 领导签批: a supervised ticket's result waits for a leader first
        await_signoff(ticket, case, at)
    elif accept:
        to_callback(ticket, at)
    else:
        back_to_unit(ticket)
    record(ticket, actor, EventAction.REVIEW_ACCEPT if accept else EventAction.REVIEW_REJECT, TicketState.REPLIED,
           note=note, at=at, assignment=ticket.lead_assignment, payload={"reply_id": row.id, **closure_of(ticket)})
    return ticket
