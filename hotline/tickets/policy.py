"""Which actions a user may take on a ticket now, for showing only those on the page.

The services remain the authority (they check again on every call); this mirrors their
checks so the page never offers a button that would be refused.
"""
from __future__ import annotations

from hotline.auth.models import User
from hotline.clock import now as clock_now
from hotline.deadlines.services import limit_for
from hotline.enums import (HANDLING_STATES, AssignmentRole, AssignmentState, DeadlineClock, ExtensionState,
                           ReturnDecision, Role, TicketState)
from hotline.tickets.models import Assignment, ExtensionRequest, Ticket, TicketReturn
from hotline.tickets.services import MAX_FAILED_CALLBACKS, _can_act_for, failed_callback_count


def _mine(ticket: Ticket, user: User, *, allow_handler=True) -> list[Assignment]:
    mine = [a for a in ticket.active_assignments() if _can_act_for(user, a, allow_handler=allow_handler)]
    return sorted(mine, key=lambda a: (a.role is not AssignmentRole.LEAD, a.id))


def _lead_ok(ticket: Ticket, a: Assignment, *states: TicketState) -> bool:
    return a.role is not AssignmentRole.LEAD or ticket.state in states


def allowed_actions(ticket: Ticket, user: User, *, pending_returns: list[TicketReturn] = (),
                    pending_extensions: list[ExtensionRequest] = ()) -> dict[str, object]:
    """action key -> context (the assignment acted on, or the pending row)."""
    acts: dict[str, object] = {}
    state, now = ticket.state, clock_now()
    if user.has_role(Role.OPERATOR) and state is TicketState.PENDING_DISPATCH:
        acts["answer"] = None
    if user.has_role(Role.DISPATCHER):
        if state is TicketState.PENDING_DISPATCH:
            acts.update(dispatch=None, merge=None, close=None)
        if pending_returns:
            acts["redispatch"] = pending_returns[0]
            acts["overrule"] = pending_returns[0]
        if pending_extensions:
            acts["decide_extension"] = pending_extensions[0]
        if state is TicketState.REPLIED:
            acts["review"] = None
    if user.has_role(Role.UNIT_STAFF):
        mine = _mine(ticket, user)
        for a in mine:
            if a.state is AssignmentState.DISPATCHED and _lead_ok(ticket, a, TicketState.DISPATCHED):
                acts.setdefault("sign", a)
                acts.setdefault("hand_down", a)
            if a.state is AssignmentState.SIGNED and _lead_ok(ticket, a, *HANDLING_STATES):
                waiting = [c.unit.name for c in ticket.active_assignments()
                           if a.role is AssignmentRole.LEAD and c.role is AssignmentRole.CO
                           and c.state in (AssignmentState.DISPATCHED, AssignmentState.SIGNED)
                           and now <= c.handle_due_at]
                if waiting:
                    acts.setdefault("waiting_co", waiting)
                else:
                    acts.setdefault("reply", a)
                acts.setdefault("hand_down", a)
                if now < a.handle_due_at and limit_for(DeadlineClock.EXTENSION_MAX, ticket.request_type,
                                                       ticket.urgency) is not None \
                        and not any(e.assignment_id == a.id and e.state is ExtensionState.PENDING
                                    for e in pending_extensions):
                    acts.setdefault("extension", a)
        for a in _mine(ticket, user, allow_handler=False):
            if a.state in (AssignmentState.DISPATCHED, AssignmentState.SIGNED) and not a.return_overruled \
                    and now <= a.return_due_at and _lead_ok(ticket, a, TicketState.DISPATCHED, TicketState.SIGNED):
                acts.setdefault("return", a)
    if user.has_role(Role.CALLBACK_AGENT) and state is TicketState.REVIEWED:
        acts["callback"] = None
        if failed_callback_count(ticket) >= MAX_FAILED_CALLBACKS:
            acts["close"] = None
    if user.has_role(Role.DISPATCHER, Role.SUPERVISOR) and state is TicketState.UNSATISFIED:
        acts["reopen"] = None
        if user.has_role(Role.SUPERVISOR):
            acts["confirm_unreasonable"] = None
    return acts


def pending_rows(ticket: Ticket):
    from hotline.extensions import db
    import sqlalchemy as sa

    returns = db.session.scalars(sa.select(TicketReturn).where(
        TicketReturn.ticket_id == ticket.id, TicketReturn.decision == ReturnDecision.PENDING)
        .order_by(TicketReturn.id)).all()
    extensions = db.session.scalars(sa.select(ExtensionRequest).where(
        ExtensionRequest.ticket_id == ticket.id, ExtensionRequest.state == ExtensionState.PENDING)
        .order_by(ExtensionRequest.id)).all()
    return returns, extensions
