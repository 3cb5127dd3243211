"""上级协调: a ticket returned too often is decided by the supervising level.

The lead unit's return that reaches the configured number of returns (setting
`coordination_after_returns`, default 2, counting the ticket's returns of a lead
assignment; 0 switches it off) does not go back to the dispatcher: the ticket goes to
上级协调 (TicketState.COORDINATING) with a Coordination row. A supervisor decides
(`coordinate`): names the responsible unit, or takes the designated fallback unit
(兜底单位, setting `fallback_unit_id`, default none, in which case a unit must be named).
The ticket is dispatched there with fresh clocks, and that assignment cannot be returned
again (return_overruled): the decision is binding. Co-units still at work stay on the
ticket (a co-unit named as the responsible unit becomes the lead instead).

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.deadlines.services import ticket_clocks
from hotline.dispatch.models import Coordination
from hotline.dispatch.operations import active_unit, assignment_payload, new_assignment
from hotline.enums import (AssignmentRole, AssignmentState, EventAction, NotificationKind, ReturnDecision, Role,
                           TicketState)
from hotline.errors import DomainError, ValidationFailed
from hotline.extensions import db
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import require_state, text
from hotline.lifecycle.registry import register
from hotline.notifications.services import notify
from hotline.settings import value
from hotline.tickets.models import Assignment, Ticket, TicketReturn
from hotline.units.models import Unit

#: After this many returns by the lead unit the ticket goes to 上级协调 (0: never).
COORDINATION_AFTER_RETURNS = "coordination_after_returns"
#: The designated fallback unit (兜底单位) a coordination may hand the ticket to (None: none).
FALLBACK_UNIT_ID = "fallback_unit_id"


def lead_returns(ticket: Ticket) -> int:
    """How many times the ticket's lead unit returned it (every round)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(TicketReturn)
        .join(Assignment, Assignment.id == TicketReturn.assignment_id)
        .where(TicketReturn.ticket_id == ticket.id, Assignment.role == AssignmentRole.LEAD))


def fallback_unit() -> Unit | None:
    uid = value(FALLBACK_UNIT_ID, None)
    if uid in (None, "", 0):
        return None
    try:
        unit = db.session.get(Unit, int(uid))
    except (TypeError, ValueError):
        return None
    return unit if unit is not None and unit.active else None


def to_coordination_if_due(ticket: Ticket, actor: User, ret: TicketReturn, at: datetime) -> Coordination | None:
    """Called by the lead's return (after its row is flushed): at the configured count the
    ticket goes to 上级协调 instead of back to the dispatcher (second event of the action)."""
    limit = int(value(COORDINATION_AFTER_RETURNS, 2) or 0)
    if limit <= 0:
        return None
    db.session.flush()
    count = lead_returns(ticket)
    if count < limit:
        return None
    before = ticket.state
    row = Coordination(ticket_id=ticket.id, opened_at=at, returns=count)
    db.session.add(row)
    ticket.state = TicketState.COORDINATING
    db.session.flush()
    record(ticket, actor, EventAction.TO_COORDINATION, before, at=at,
           note=f"该工单已被主办单位退回 {count} 次，提请上级协调",
           payload={"coordination_id": row.id, "returns": count, "return_id": ret.id})
    notify(NotificationKind.COORDINATION, at, title=f"上级协调：工单 {ticket.number} 已退单 {count} 次，请确定承办单位",
           role=Role.SUPERVISOR.value, ticket_id=ticket.id)
    return row


def open_coordinations(ticket: Ticket, actor: User, target=None) -> list[Coordination]:
    rows = db.session.scalars(sa.select(Coordination).where(
        Coordination.ticket_id == ticket.id, Coordination.decided_at.is_(None)).order_by(Coordination.id)).all()
    if target not in (None, ""):
        rows = [r for r in rows if str(r.id) == str(target)]
    if not rows:
        raise DomainError("NO_OPEN_COORDINATION", "该工单没有待裁定的上级协调")
    return rows


def _can_coordinate(ticket, actor, row: Coordination, at):
    require_state(ticket, EventAction.COORDINATE.label, TicketState.COORDINATING)


@register("coordinate", "上级协调裁定", (Role.SUPERVISOR,), stage="dispatch", targets=open_coordinations,
          check=_can_coordinate, message=lambda t: f"已裁定由 {t.lead_unit.name} 承办")
def coordinate(ticket: Ticket, actor: User, row: Coordination, at: datetime, data: dict) -> Ticket:
    """上级协调裁定: the responsible unit (or the fallback unit) takes the ticket, bindingly."""
    note = text(data.get("note"), "note", "协调意见", required=False)
    fallback = fallback_unit()
    if data.get("unit_id") in (None, "", 0, "0"):
        if fallback is None:
            raise ValidationFailed("请选择承办单位（未设置兜底单位）", field="unit_id")
        unit = fallback
    else:
        unit = active_unit(data.get("unit_id"), "unit_id")
    before = ticket.state
    round_no = max(a.round for a in ticket.assignments) + 1
    for a in ticket.active_assignments():
        if a.role is AssignmentRole.LEAD or a.unit_id == unit.id:
            a.active = False
            if a.state is not AssignmentState.RETURNED:
                a.state = AssignmentState.CANCELLED
    lead = new_assignment(ticket, actor, unit, AssignmentRole.LEAD, at, round_no,
                          ticket_clocks(ticket, at))
    lead.return_overruled = True  # binding: the unit must handle it
    ticket.lead_unit_id, ticket.lead_unit = unit.id, unit
    ticket.dispatched_at = at
    ticket.state = TicketState.DISPATCHED
    for ret in db.session.scalars(sa.select(TicketReturn).where(
            TicketReturn.ticket_id == ticket.id, TicketReturn.decision == ReturnDecision.PENDING)):
        ret.decision, ret.decided_by_id, ret.decided_at = ReturnDecision.REDISPATCHED, actor.id, at
        ret.decision_note = note or "上级协调裁定"
    row.decided_by_id, row.decided_at, row.unit_id, row.note = actor.id, at, unit.id, note
    row.fallback = fallback is not None and unit.id == fallback.id
    db.session.flush()
    record(ticket, actor, EventAction.COORDINATE, before, note=note, assignment=lead, at=at,
           payload={"coordination_id": row.id, "unit_id": unit.id, "unit": unit.name, "fallback": row.fallback,
                    **assignment_payload([lead])})
    notify(NotificationKind.COORDINATION, at, title=f"上级协调裁定：工单 {ticket.number} 由本单位承办（不可退单）",
           body=note, unit_id=unit.id, ticket_id=ticket.id)
    notify(NotificationKind.COORDINATION, at, title=f"上级协调已裁定：工单 {ticket.number} 由 {unit.name} 承办",
           role=Role.DISPATCHER.value, ticket_id=ticket.id)
    return ticket
