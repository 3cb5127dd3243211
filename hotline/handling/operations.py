"""The unit's work on its assignment: 签收 (sign), 下派 (hand down), 退单 (return) and
办结反馈 (reply). A unit user acts on the active assignment of their unit or of a unit
below it (or one handed down to it); the lead's actions also move the ticket."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.deadlines.services import calendar
from hotline.dispatch.coordination import to_coordination_if_due
from hotline.enums import (HANDLING_STATES, OPEN_ASSIGNMENT_STATES, AssignmentRole, AssignmentState, EventAction,
                           ReturnDecision, ReturnReason, Role, TicketState)
from hotline.errors import DomainError, ValidationFailed, Waiting
from hotline.extensions import db
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import coerce, flag, my_assignments, require_assignment_state, require_state, text
from hotline.lifecycle.registry import register
from hotline.callbacks.classification import future_date
from hotline.supervision.queries import require_instruction_read
from hotline.tickets.attachments import attach
from hotline.tickets.models import Assignment, Reply, Ticket, TicketReturn
from hotline.units.models import Unit

UNIT = (Role.UNIT_STAFF,)


def assignments(ticket: Ticket, actor: User, target=None) -> list[Assignment]:
    return my_assignments(ticket, actor, target)


def answerable_assignments(ticket: Ticket, actor: User, target=None) -> list[Assignment]:
    """Only the unit the ticket was sent to (or one above it) answers for a return; a
    sub-unit it was handed down to does not."""
    return my_assignments(ticket, actor, target, allow_handler=False)


def require_co_units_heard(ticket: Ticket, at: datetime) -> None:
    """The lead's reply consolidates the co-units': it waits for each co-unit still
    handling within its deadline (an overdue co-unit does not hold the citizen's answer)."""
    waiting = [a.unit.name for a in ticket.active_assignments()
               if a.role is AssignmentRole.CO and a.state in OPEN_ASSIGNMENT_STATES and at <= a.handle_due_at]
    if waiting:
        raise Waiting("CO_UNITS_PENDING", f"协办单位尚未反馈：{'、'.join(waiting)}，请汇总其意见后再答复",
                      units=waiting)


def hand_down_options(assignment: Assignment, actor: User) -> list[Unit]:
    """Active sub-units the assignment may be handed down to by this user."""
    base = assignment.unit if assignment.unit.is_within(actor.unit) else actor.unit
    current = assignment.handler_unit_id
    return [u for u in db.session.scalars(
        sa.select(Unit).where(Unit.active.is_(True), Unit.path.startswith(base.path), Unit.id != base.id,
                              Unit.id != assignment.unit_id).order_by(Unit.path))
            if u.id != current and u.is_within(assignment.unit)]


# --- sign -------------------------------------------------------------------------------
def _can_sign(ticket, actor, a: Assignment, at):
    require_assignment_state(a, EventAction.SIGN.label, AssignmentState.DISPATCHED)
    if a.role is AssignmentRole.LEAD:
        require_state(ticket, EventAction.SIGN.label, TicketState.DISPATCHED)


@register("sign", "签收", UNIT, stage="handling", targets=assignments, check=_can_sign, message="已签收")
def sign(ticket: Ticket, actor: User, a: Assignment, at: datetime, data: dict) -> Ticket:
    """签收: the unit takes the ticket on."""
    before = ticket.state
    a.state, a.signed_at, a.signed_by_id = AssignmentState.SIGNED, at, actor.id
    if a.role is AssignmentRole.LEAD:
        ticket.state = TicketState.SIGNED
    record(ticket, actor, EventAction.SIGN, before, assignment=a, at=at,
           payload={"unit": a.unit.name, "role": a.role.value, "late": at > a.sign_due_at})
    return ticket


# --- hand down --------------------------------------------------------------------------
def _can_hand_down(ticket, actor, a: Assignment, at):
    require_assignment_state(a, EventAction.HAND_DOWN.label, AssignmentState.DISPATCHED, AssignmentState.SIGNED)
    if a.role is AssignmentRole.LEAD:
        require_state(ticket, EventAction.HAND_DOWN.label, TicketState.DISPATCHED, *HANDLING_STATES)
        require_instruction_read(ticket)
    if not hand_down_options(a, actor):
        raise DomainError("NO_SUB_UNIT", "本单位没有可下派的下级单位")


@register("hand_down", "下派", UNIT, stage="handling", targets=assignments, check=_can_hand_down, message="已下派")
def hand_down(ticket: Ticket, actor: User, a: Assignment, at: datetime, data: dict) -> Ticket:
    """下派: a unit hands its assignment (signed or not yet) to one of its sub-units and
    stays answerable; the sub-unit may then sign, handle and reply."""
    options = {u.id: u for u in hand_down_options(a, actor)}
    try:
        sub = options.get(int(data.get("sub_unit_id") or 0))
    except (TypeError, ValueError):
        sub = None
    if sub is None:
        raise ValidationFailed("只能下派给本单位的下级单位", field="sub_unit_id")
    current = a.handler_unit or a.unit
    a.handler_unit = sub
    record(ticket, actor, EventAction.HAND_DOWN, ticket.state,
           note=text(data.get("note"), "note", "下派说明", required=False), assignment=a, at=at,
           payload={"from_unit": current.name, "to_unit": sub.name, "to_unit_id": sub.id})
    return ticket


# --- return -----------------------------------------------------------------------------
def _can_return(ticket, actor, a: Assignment, at):
    require_assignment_state(a, EventAction.RETURN.label, AssignmentState.DISPATCHED, AssignmentState.SIGNED)
    if a.role is AssignmentRole.LEAD:
        require_state(ticket, EventAction.RETURN.label, TicketState.DISPATCHED, TicketState.SIGNED)
    if a.return_overruled:
        raise DomainError("RETURN_OVERRULED", "该工单的退单已被驳回，本单位须办理，不能再次退单")
    if at > a.return_due_at:
        raise DomainError("RETURN_WINDOW_PASSED", f"已超过退单时限（{a.return_due_at:%Y-%m-%d %H:%M}），不能退单")


@register("return", "退单", UNIT, stage="handling", targets=answerable_assignments, check=_can_return,
          message="已退单，等待派单员处理")
def return_ticket(ticket: Ticket, actor: User, a: Assignment, at: datetime, data: dict) -> TicketReturn:
    """退单: the unit sends a misrouted ticket back to the dispatcher with a reason."""
    reason = coerce(ReturnReason, data.get("reason"), "reason", "退单原因")
    reason_text = text(data.get("reason_text"), "reason_text", "退单说明", required=reason is ReturnReason.OTHER)
    before = ticket.state
    a.state = AssignmentState.RETURNED
    if a.role is AssignmentRole.LEAD:
        ticket.state = TicketState.RETURNED
    ret = TicketReturn(ticket=ticket, assignment_id=a.id, unit_id=a.unit_id, returned_by_id=actor.id,
                       returned_at=at, reason=reason, reason_text=reason_text, decision=ReturnDecision.PENDING)
    db.session.add(ret)
    record(ticket, actor, EventAction.RETURN, before, note=reason_text, assignment=a, at=at,
           payload={"reason": reason.value, "reason_label": reason.label, "unit": a.unit.name,
                    "role": a.role.value})
    if a.role is AssignmentRole.LEAD:  # returned too often: 上级协调 instead of the dispatcher
        to_coordination_if_due(ticket, actor, ret, at)
    return ret


# --- reply ------------------------------------------------------------------------------
def _can_reply(ticket, actor, a: Assignment, at):
    label = (EventAction.REPLY if a.role is AssignmentRole.LEAD else EventAction.CO_REPLY).label
    if a.role is AssignmentRole.LEAD and ticket.state is TicketState.PLANNED:
        # 纳入计划: the lead unit answers again (its assignment stayed replied, no clock on it)
        require_assignment_state(a, label, AssignmentState.SIGNED, AssignmentState.REPLIED)
    else:
        require_assignment_state(a, label, AssignmentState.SIGNED)
    if a.role is AssignmentRole.LEAD:
        require_state(ticket, label, *HANDLING_STATES, TicketState.PLANNED)
        require_instruction_read(ticket)
        require_co_units_heard(ticket, at)


@register("reply", "办结反馈", UNIT, stage="handling", targets=assignments, check=_can_reply,
          message="办理结果已反馈")
def reply(ticket: Ticket, actor: User, a: Assignment, at: datetime, data: dict) -> Reply:
    """办结反馈: the lead unit replies to the centre; a co-unit replies to the lead unit.

    The lead may reply with a 阶段性答复 (interim): the request is reasonable but cannot
    be solved now; it states its plan and the date the plan is followed up, and the
    callback may then keep the ticket open as 纳入计划 (hotline.callbacks.classification)."""
    action = EventAction.REPLY if a.role is AssignmentRole.LEAD else EventAction.CO_REPLY
    interim = bool(flag(data.get("interim"))) and a.role is AssignmentRole.LEAD
    plan, follow_up_on = "", None
    if interim:
        plan = text(data.get("plan"), "plan", "工作计划", max_len=10000)
        follow_up_on = future_date(data.get("follow_up_on"), at)
        if follow_up_on is None:
            raise ValidationFailed("阶段性答复须填写计划跟踪日期", field="follow_up_on")
    row = Reply(ticket=ticket, assignment_id=a.id, unit_id=a.unit_id, author_id=actor.id, created_at=at,
                result=text(data.get("result"), "result", "办理结果", max_len=10000),
                actions_taken=text(data.get("actions_taken"), "actions_taken", "办理过程", required=False,
                                   max_len=10000),
                contacted_citizen=bool(flag(data.get("contacted_citizen"))),
                contact_note=text(data.get("contact_note"), "contact_note", "联系情况", required=False),
                public_text=text(data.get("public_text"), "public_text", "公开答复", required=False),
                interim=interim, plan=plan, follow_up_on=follow_up_on)
    db.session.add(row)
    before = ticket.state
    a.state, a.replied_at = AssignmentState.REPLIED, at
    a.reply_working_days = calendar().working_days_between(a.dispatched_at, at)
    payload = {"unit": a.unit.name, "late": at > a.handle_due_at}
    if interim:
        payload.update(interim=True, plan=plan, follow_up_on=follow_up_on.isoformat())
    if a.role is AssignmentRole.LEAD:
        ticket.state = TicketState.REPLIED
        cos = [c for c in ticket.active_assignments() if c.role is AssignmentRole.CO]
        payload["co_replied"] = [c.unit.name for c in cos if c.state is AssignmentState.REPLIED]
        payload["co_pending"] = [c.unit.name for c in cos if c.state is not AssignmentState.REPLIED]
    db.session.flush()
    attach(ticket.id, data.get("attachments") or (), actor, at, reply_id=row.id)
    payload["reply_id"] = row.id
    record(ticket, actor, action, before, note=row.result, assignment=a, at=at, payload=payload)
    return row
