"""How a ticket ends: its closure, the time, and its open assignments done."""
from __future__ import annotations

from datetime import datetime

from hotline.enums import AssignmentState, Closure, TicketState
from hotline.tickets.models import Ticket


def finish(ticket: Ticket, closure: Closure, at: datetime) -> None:
    ticket.state = TicketState.CLOSED
    ticket.closure = closure
    ticket.closed_at = at
    for a in ticket.active_assignments():
        if a.state in (AssignmentState.DISPATCHED, AssignmentState.SIGNED, AssignmentState.REPLIED):
            a.state = AssignmentState.DONE
