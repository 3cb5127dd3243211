"""Read side of tickets: who may see what, and the lists the pages show."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from hotline.admin.models import Unit
from hotline.auth.models import User
from hotline.enums import Role
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.tickets.models import Assignment, Ticket, TicketEvent

#: Roles that work for the hotline centre and see every ticket.
CENTRE_ROLES = (Role.OPERATOR, Role.DISPATCHER, Role.CALLBACK_AGENT, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN)


def sees_all(user: User) -> bool:
    return user.has_role(*CENTRE_ROLES)


def can_see_caller(user: User, ticket: Ticket) -> bool:
    """Confidential tickets hide the caller from unit staff."""
    return not ticket.confidential or sees_all(user)


def unit_scope_condition(user: User):
    """Tickets with an active assignment to the user's unit or any unit below it."""
    handler = sa.orm.aliased(Unit)
    return sa.exists(
        sa.select(Assignment.id)
        .join(Unit, Unit.id == Assignment.unit_id)
        .outerjoin(handler, handler.id == Assignment.handler_unit_id)
        .where(Assignment.ticket_id == Ticket.id, Assignment.active.is_(True),
               sa.or_(Unit.path.startswith(user.unit.path), handler.path.startswith(user.unit.path)))
    )


def visible_tickets(user: User):
    stmt = sa.select(Ticket)
    if not sees_all(user):
        stmt = stmt.where(unit_scope_condition(user))
    return stmt


def get_visible_ticket(user: User, ticket_id: int) -> Ticket:
    """The ticket, or the same 404 whether it is missing or not the user's to see."""
    stmt = visible_tickets(user).where(Ticket.id == ticket_id).options(
        selectinload(Ticket.assignments), selectinload(Ticket.events).joinedload(TicketEvent.actor))
    ticket = db.session.scalars(stmt).first()
    if ticket is None:
        raise NotFound()
    return ticket


def earlier_tickets(ticket: Ticket, limit: int = 20) -> list[Ticket]:
    return list(db.session.scalars(
        sa.select(Ticket).where(Ticket.caller_phone == ticket.caller_phone, Ticket.id != ticket.id)
        .order_by(Ticket.created_at.desc()).limit(limit)))
