"""What happens to an accepted result: it goes to callback with its clock started, or an
anonymous ticket closes at once; and the lead unit's latest reply it is about."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.deadlines.services import due_for
from hotline.enums import AssignmentState, Closure, DeadlineClock, TicketState
from hotline.extensions import db
from hotline.tickets.closing import finish
from hotline.tickets.models import Reply, Ticket


def latest_lead_reply(ticket: Ticket) -> Reply:
    return db.session.scalars(sa.select(Reply).where(
        Reply.ticket_id == ticket.id, Reply.assignment_id == ticket.lead_assignment.id)
        .order_by(Reply.id.desc()).limit(1)).one()


def closure_of(ticket: Ticket) -> dict:
    """The event payload's note of an anonymous ticket closed instead of going to callback."""
    return {"closure": ticket.closure.value} if ticket.state is TicketState.CLOSED else {}


def to_callback(ticket: Ticket, at: datetime) -> None:
    """An accepted result goes to callback (回访), its clock started; an anonymous (匿名)
    ticket has no one to call back and closes at once (Closure.ANONYMOUS)."""
    if ticket.anonymous:
        finish(ticket, Closure.ANONYMOUS, at)
        ticket.callback_due_at = None
        return
    ticket.state = TicketState.REVIEWED
    ticket.callback_due_at = due_for(DeadlineClock.CALLBACK, ticket.request_type, ticket.urgency, at).at


def back_to_unit(ticket: Ticket) -> None:
    """A result not accepted (审核退回, 签批退回): the lead unit handles the ticket again on
    its running clock (重办中 when it was reopened before)."""
    ticket.state = TicketState.REOPENED if ticket.reopen_count else TicketState.SIGNED
    ticket.lead_assignment.state = AssignmentState.SIGNED
