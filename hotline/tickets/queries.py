"""Read side of tickets: who may see what, and the lists the pages show."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload, selectinload

from hotline.auth.models import User
from hotline.categories.models import Category
from hotline.clock import now as clock_now
from hotline.enums import (OPEN_ASSIGNMENT_STATES, AssignmentRole, AssignmentState, Channel, ExtensionState,
                           RequestType, ReturnDecision, Role, SupervisionState, TicketState)
from hotline.errors import PermissionDenied
from hotline.extensions import db
from hotline.supervision.models import SupervisionCase
from hotline.tickets.models import Assignment, ExtensionRequest, Ticket, TicketEvent, TicketReturn
from hotline.units.models import Unit

#: Roles that work for the hotline centre and see every ticket.
CENTRE_ROLES = (Role.OPERATOR, Role.DISPATCHER, Role.CALLBACK_AGENT, Role.SUPERVISOR, Role.MANAGER, Role.LEADER,
                Role.ADMIN)


def sees_all(user: User) -> bool:
    return user.has_role(*CENTRE_ROLES)


def can_see_caller(user: User, ticket: Ticket) -> bool:
    """Confidential tickets hide the caller from unit staff."""
    return not ticket.confidential or sees_all(user)


def unit_scope_condition(user: User):
    """Tickets with an active assignment to the user's unit or any unit below it."""
    handler = aliased(Unit)
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
    """The ticket, or the same refusal (403) whether it is missing or not the user's to see,
    so ticket ids cannot be probed."""
    stmt = visible_tickets(user).where(Ticket.id == ticket_id).options(
        selectinload(Ticket.assignments), selectinload(Ticket.events).joinedload(TicketEvent.actor))
    ticket = db.session.scalars(stmt).first()
    if ticket is None:
        raise PermissionDenied("NOT_VISIBLE", "工单不存在或您无权查看")
    return ticket


def earlier_tickets(user: User, ticket: Ticket, limit: int = 20) -> list[Ticket]:
    """The caller's other tickets that this user may see (never confidential ones for units)."""
    stmt = visible_tickets(user).where(Ticket.caller_phone == ticket.caller_phone, Ticket.id != ticket.id)
    if not sees_all(user):
        stmt = stmt.where(Ticket.confidential.is_(False))
    return list(db.session.scalars(stmt.order_by(Ticket.created_at.desc()).limit(limit)))


# --- queues -----------------------------------------------------------------------------
DUE_SOON = timedelta(hours=24)

#: queue key -> (label, roles that work it)
QUEUES = {
    "pending_dispatch": ("待派单", (Role.DISPATCHER, Role.OPERATOR)),
    "sent_back": ("退回受理待修改", (Role.OPERATOR,)),
    "returned": ("退单待处理", (Role.DISPATCHER,)),
    "extensions": ("延期待审批", (Role.DISPATCHER,)),
    "to_sign": ("待签收", (Role.UNIT_STAFF, Role.DISPATCHER, Role.SUPERVISOR)),
    "handling": ("办理中", (Role.UNIT_STAFF, Role.DISPATCHER, Role.SUPERVISOR)),
    "due_soon": ("即将超期", (Role.UNIT_STAFF, Role.DISPATCHER, Role.SUPERVISOR, Role.MANAGER)),
    "overdue": ("已超期", (Role.UNIT_STAFF, Role.DISPATCHER, Role.SUPERVISOR, Role.MANAGER)),
    "to_review": ("待审核", (Role.DISPATCHER, Role.UNIT_STAFF)),
    "to_callback": ("待回访", (Role.CALLBACK_AGENT, Role.DISPATCHER)),
    "callback_overdue": ("回访超期", (Role.CALLBACK_AGENT, Role.MANAGER)),
    "unsatisfied": ("不满意待重办", (Role.DISPATCHER, Role.SUPERVISOR, Role.CALLBACK_AGENT)),
    "supervised": ("督办中", (Role.SUPERVISOR, Role.UNIT_STAFF, Role.MANAGER, Role.DISPATCHER)),
    "pending_signoff": ("待签批", (Role.LEADER,)),
}


def _assignment_exists(user: User, *conds):
    """EXISTS an active assignment of this ticket (in the user's scope) matching conds."""
    handler = aliased(Unit)
    stmt = sa.select(Assignment.id).where(Assignment.ticket_id == Ticket.id, Assignment.active.is_(True), *conds)
    if not sees_all(user):
        stmt = (stmt.join(Unit, Unit.id == Assignment.unit_id)
                .outerjoin(handler, handler.id == Assignment.handler_unit_id)
                .where(sa.or_(Unit.path.startswith(user.unit.path), handler.path.startswith(user.unit.path))))
    return sa.exists(stmt)


def queue_condition(user: User, key: str):
    now = clock_now()
    open_states = (AssignmentState.DISPATCHED, AssignmentState.SIGNED)
    if key == "pending_dispatch":
        return Ticket.state == TicketState.PENDING_DISPATCH
    if key == "sent_back":
        return Ticket.state == TicketState.SENT_BACK
    if key == "returned":
        return sa.exists(sa.select(TicketReturn.id).where(
            TicketReturn.ticket_id == Ticket.id, TicketReturn.decision == ReturnDecision.PENDING))
    if key == "extensions":
        return sa.exists(sa.select(ExtensionRequest.id).where(
            ExtensionRequest.ticket_id == Ticket.id, ExtensionRequest.state == ExtensionState.PENDING))
    if key == "to_sign":
        return _assignment_exists(user, Assignment.state == AssignmentState.DISPATCHED)
    if key == "handling":
        return _assignment_exists(user, Assignment.state == AssignmentState.SIGNED)
    if key == "due_soon":
        return _assignment_exists(user, Assignment.state.in_(open_states),
                                  Assignment.handle_due_at >= now, Assignment.handle_due_at < now + DUE_SOON)
    if key == "overdue":
        return _assignment_exists(user, sa.or_(
            sa.and_(Assignment.state.in_(open_states), Assignment.handle_due_at < now),
            sa.and_(Assignment.state == AssignmentState.DISPATCHED, Assignment.sign_due_at < now)))
    if key == "to_review":
        return Ticket.state == TicketState.REPLIED
    if key == "to_callback":
        return Ticket.state == TicketState.REVIEWED
    if key == "callback_overdue":
        return sa.and_(Ticket.state == TicketState.REVIEWED, Ticket.callback_due_at < now)
    if key == "unsatisfied":
        return Ticket.state == TicketState.UNSATISFIED
    if key == "pending_signoff":
        return Ticket.state == TicketState.PENDING_SIGNOFF
    if key == "supervised":
        return sa.exists(sa.select(SupervisionCase.id).where(
            SupervisionCase.ticket_id == Ticket.id, SupervisionCase.state == SupervisionState.OPEN))
    raise KeyError(key)


def queues_for(user: User) -> list[str]:
    return [k for k, (_, roles) in QUEUES.items() if user.has_role(*roles)]


def queue_counts(user: User) -> dict[str, int]:
    """One query: a COUNT(*) FILTER per queue the user works."""
    keys = queues_for(user)
    if not keys:
        return {}
    cols = [sa.func.count().filter(queue_condition(user, k)).label(k) for k in keys]
    base = visible_tickets(user).where(Ticket.state != TicketState.CLOSED)
    row = db.session.execute(base.with_only_columns(*cols)).one()
    return dict(zip(keys, row))


# --- search -----------------------------------------------------------------------------
SORTS = {
    "created_desc": Ticket.id.desc(),
    "created_asc": Ticket.id.asc(),
    "updated_desc": Ticket.updated_at.desc(),
    "state": Ticket.state.asc(),
}


def missed_handle_deadline(now):
    """Lead assignments (主办) whose handle deadline (办理时限) has passed without a reply in
    time: still open after it, or replied after it. The dashboard's overdue trend counts
    these by the day of the deadline; `search_tickets(overdue_on=day)` lists them."""
    return sa.and_(Assignment.role == AssignmentRole.LEAD, Assignment.active.is_(True),
                   Assignment.handle_due_at < now,
                   sa.or_(Assignment.state.in_(OPEN_ASSIGNMENT_STATES),
                          Assignment.replied_at > Assignment.handle_due_at))


def search_tickets(user: User, *, number=None, phone=None, text=None, category_id=None, unit_id=None,
                   state=None, date_from=None, date_to=None, queue=None, sort="created_desc",
                   request_type=None, channel=None, district_id=None, address=None, category_root=None,
                   category_exact=False, overdue_on=None):
    """The ticket list behind the search page, the CSV export and every dashboard figure.

    The later keyword filters serve the dashboard's drill-down: `district_id=0` means no
    district; `category_exact` drops the subcategories of `category_id`; `category_root`
    is a top-level category name; `overdue_on` a day on which a lead unit's handle
    deadline was missed (see missed_handle_deadline)."""
    stmt = visible_tickets(user)
    if number:
        stmt = stmt.where(Ticket.number.startswith(number.strip()) if len(number.strip()) < 21
                          else Ticket.number == number.strip())
    if phone:
        stmt = stmt.where(Ticket.caller_phone == phone.strip())
        if not sees_all(user):
            stmt = stmt.where(Ticket.confidential.is_(False))
    if text:
        for word in text.split()[:5]:
            stmt = stmt.where(sa.or_(Ticket.title.icontains(word, autoescape=True),
                                     Ticket.content.icontains(word, autoescape=True),
                                     Ticket.address.icontains(word, autoescape=True)))
    if category_id:
        cat = db.session.get(Category, int(category_id))
        if cat is not None and category_exact:
            stmt = stmt.where(Ticket.category_id == cat.id)
        elif cat is not None:
            sub = sa.select(Category.id).where(sa.or_(Category.id == cat.id,
                                                      Category.full_name.startswith(cat.full_name + " › ")))
            stmt = stmt.where(Ticket.category_id.in_(sub))
    if unit_id:
        unit = db.session.get(Unit, int(unit_id))
        if unit is not None:
            stmt = stmt.where(sa.exists(sa.select(Assignment.id).join(Unit, Unit.id == Assignment.unit_id).where(
                Assignment.ticket_id == Ticket.id, Assignment.active.is_(True), Unit.path.startswith(unit.path))))
    if state:
        stmt = stmt.where(Ticket.state == TicketState(state))
    if date_from:
        stmt = stmt.where(Ticket.created_at >= date_from)
    if date_to:
        stmt = stmt.where(Ticket.created_at < date_to + timedelta(days=1))
    if queue:
        stmt = stmt.where(queue_condition(user, queue))
    if request_type:
        stmt = stmt.where(Ticket.request_type == RequestType(request_type))
    if channel:
        stmt = stmt.where(Ticket.channel == Channel(channel))
    if district_id is not None and district_id != "":
        district = int(district_id)
        stmt = stmt.where(Ticket.district_id.is_(None) if district == 0 else Ticket.district_id == district)
    if address:
        stmt = stmt.where(Ticket.address == address)
    if category_root:
        root = category_root.strip()
        stmt = stmt.where(Ticket.category_id.in_(sa.select(Category.id).where(
            sa.or_(Category.full_name == root, Category.full_name.startswith(root + " › ")))))
    if overdue_on:
        day = datetime.combine(overdue_on, datetime.min.time())
        stmt = stmt.where(sa.exists(sa.select(Assignment.id).where(
            Assignment.ticket_id == Ticket.id, missed_handle_deadline(clock_now()),
            Assignment.handle_due_at >= day, Assignment.handle_due_at < day + timedelta(days=1))))
    stmt = stmt.options(joinedload(Ticket.lead_unit), selectinload(Ticket.assignments))
    return stmt.order_by(SORTS.get(sort, SORTS["created_desc"]))
