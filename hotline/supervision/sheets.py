"""督办单 on any ticket (overdue, 领导交办, media, repeated complaints) and the centre's 催办.

The centre opens a supervision case (立督办单) on a ticket a unit is handling, with a
reason, a level, a deadline and its 督办编号; the case weighs on the ticket's lead unit
and the escalation job raises it when it runs past its deadline. The centre may urge
(催办) the unit by hand: each urging is numbered, the unit is told, and the second and
third urging raise the case one level each (never above the top level).

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.callbacks.classification import as_date
from hotline.enums import (EventAction, NotificationKind, Role, SupervisionLevel, SupervisionReason,
                           SupervisionState, TicketState, UnitKind)
from hotline.errors import DomainError, ValidationFailed
from hotline.extensions import db
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import coerce, require_state, text
from hotline.lifecycle.registry import register
from hotline.notifications.services import notify
from hotline.supervision.codes import default_case_due, next_case_code
from hotline.supervision.levels import level_name
from hotline.supervision.models import SupervisionCase, SupervisionUrge
from hotline.supervision.operations import _open_cases
from hotline.supervision.queries import open_case_for
from hotline.tickets.models import Ticket
from hotline.units.models import Unit

#: States in which a unit is handling the ticket, so the centre may put it under supervision.
OPENABLE = (TicketState.DISPATCHED, TicketState.SIGNED, TicketState.RETURNED, TicketState.REPLIED,
            TicketState.REOPENED, TicketState.PENDING_SIGNOFF, TicketState.PLANNED, TicketState.SUSPENDED,
            TicketState.COORDINATING)
#: States in which the unit owes the next step, so urging it makes sense.
URGEABLE = (TicketState.DISPATCHED, TicketState.SIGNED, TicketState.REOPENED, TicketState.PLANNED)
#: Reasons the centre opens a case for by hand (回访不满意 opens its own, at the callback).
MANUAL_REASONS = (SupervisionReason.OVERDUE, SupervisionReason.LEADER_ASSIGNED, SupervisionReason.MEDIA,
                  SupervisionReason.REPEATED)
#: The urgings (催办) that raise the case one level: the second and the third.
RAISING_URGES = (2, 3)

def _level(value) -> int:
    if value in (None, ""):
        return int(SupervisionLevel.UNIT)
    try:
        level = int(value)
    except (TypeError, ValueError):
        level = 0
    if level not in {int(lv) for lv in SupervisionLevel}:
        raise ValidationFailed("督办级别的取值无效", field="level")
    return level


def _raise_target(case: SupervisionCase) -> int | None:
    """Whom a raised case is reported to, as the scheduler's steps do: the unit's
    supervising unit at level 2, the centre at the top level."""
    unit = case.unit
    if case.level == SupervisionLevel.SUPERVISING_UNIT and unit.supervising_unit is not None:
        return unit.supervising_unit.id
    return db.session.scalar(sa.select(Unit.id).where(Unit.kind == UnitKind.CENTRE).order_by(Unit.id).limit(1))


# --- 立督办单 -------------------------------------------------------------------------------
def _can_open(ticket: Ticket, actor: User, target, at: datetime) -> None:
    require_state(ticket, EventAction.OPEN_CASE.label, *OPENABLE)
    if ticket.lead_assignment is None:
        raise DomainError("NO_UNIT", "工单尚无主办单位，不能立督办单")
    case = open_case_for(ticket.id)
    if case is not None:
        raise DomainError("CASE_OPEN", f"该工单已有督办中的督办单（{case.code or case.id}）")


@register("open_case", "立督办单", (Role.SUPERVISOR,), stage="supervision", check=_can_open,
          message=lambda case: f"已立督办单 {case.code}")
def open_case(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> SupervisionCase:
    """立督办单: the centre puts a ticket the lead unit is handling under supervision, for a
    reason (超期, 领导交办, 媒体关注, 重复投诉), at a level, with a deadline; the unit is told."""
    reason = coerce(SupervisionReason, data.get("reason"), "reason", "督办原因")
    if reason not in MANUAL_REASONS:
        raise ValidationFailed("督办原因的取值无效", field="reason")
    level = _level(data.get("level"))
    note = text(data.get("note"), "note", "督办事由")
    due_on = as_date(data.get("due_on"), "due_on", "督办期限")
    due_at = default_case_due(at) if due_on is None else datetime.combine(due_on, at.time())
    if due_at.date() <= at.date():
        raise ValidationFailed("督办期限须晚于今天", field="due_on")
    lead = ticket.lead_assignment
    case = SupervisionCase(ticket_id=ticket.id, unit_id=lead.unit_id, reason=reason, state=SupervisionState.OPEN,
                           level=level, opened_at=at, opened_by_id=actor.id, due_at=due_at,
                           code=next_case_code(at), note=note, urge_count=0)
    db.session.add(case)
    db.session.flush()
    notify(NotificationKind.ESCALATION, at, unit_id=lead.unit_id, ticket_id=ticket.id, body=note,
           title=f"督办：工单 {ticket.number} 已立督办单 {case.code}（{reason.label}，{level_name(level)}），"
                 f"请于 {due_at:%Y-%m-%d} 前办结")
    record(ticket, actor, EventAction.OPEN_CASE, ticket.state, note=note, assignment=lead, at=at,
           payload={"case_id": case.id, "code": case.code, "reason": reason.value, "reason_label": reason.label,
                    "level": level, "due_at": due_at.isoformat(), "unit": lead.unit.name})
    return case


# --- 催办 ----------------------------------------------------------------------------------
def _can_urge(ticket: Ticket, actor: User, case: SupervisionCase, at: datetime) -> None:
    if ticket.state not in URGEABLE:
        raise DomainError("NOT_URGEABLE", f"工单当前为「{ticket.state.label}」，承办单位无待办事项，无需催办",
                          state=ticket.state.value)


@register("urge_case", "督办催办", (Role.SUPERVISOR,), stage="supervision", targets=_open_cases(own_unit=False),
          check=_can_urge, versioned=False,
          message=lambda u: f"已第 {u.number} 次催办" + ("，督办级别已提升" if u.number in RAISING_URGES else ""))
def urge_case(ticket: Ticket, actor: User, case: SupervisionCase, at: datetime, data: dict) -> SupervisionUrge:
    """催办 by the centre: numbered 1, 2, 3 ...; the unit is told with the note; the second
    and the third urging raise the case one level each, at most to the top level."""
    note = text(data.get("note"), "note", "催办意见")
    number = (case.urge_count or 0) + 1
    before = case.level
    if number in RAISING_URGES and case.level < SupervisionLevel.top():
        case.level += 1
    case.urge_count = number
    row = SupervisionUrge(case_id=case.id, ticket_id=ticket.id, number=number, by_id=actor.id, at=at, note=note,
                          level=case.level)
    db.session.add(row)
    db.session.flush()
    raised = case.level > before
    notify(NotificationKind.MANUAL_URGE, at, unit_id=case.unit_id, ticket_id=ticket.id, body=note,
           title=f"督办催办：工单 {ticket.number}（督办单 {case.code or case.id}）第 {number} 次催办"
                 + (f"，督办升级至{level_name(case.level)}" if raised else ""))
    payload = {"case_id": case.id, "code": case.code, "number": number, "level_before": before,
               "level": case.level, "raised": raised}
    if raised:
        target = _raise_target(case)
        payload["to_unit_id"] = target
        if target is not None and target != case.unit_id:
            notify(NotificationKind.ESCALATION, at, unit_id=target, ticket_id=ticket.id, body=note,
                   title=f"升级督办：工单 {ticket.number} 经第 {number} 次催办，督办升级至{level_name(case.level)}")
    record(ticket, actor, EventAction.MANUAL_URGE, ticket.state, note=note, assignment=ticket.lead_assignment,
           at=at, payload=payload)
    return row


def urges_for(case_id: int) -> list[SupervisionUrge]:
    return list(db.session.scalars(sa.select(SupervisionUrge).where(SupervisionUrge.case_id == case_id)
                                   .order_by(SupervisionUrge.number)))
