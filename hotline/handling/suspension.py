"""挂起 and 申请终止: the unit's applications about its ticket, decided by the centre.

挂起 (suspension): the lead unit asks, with a reason and the date it expects to go on; a
dispatcher approves (the ticket is SUSPENDED, its clocks stand still: the scheduler
neither warns, urges, marks overdue nor escalates it) or refuses. 恢复办理 (resume), by
the lead unit or a dispatcher, puts the ticket back in the state it was suspended from
and moves every open deadline of its active assignments later by the WORKING time the
suspension lasted (working minutes by the work calendar, holidays and make-up days
included). Deadlines already past (overdue) when the suspension started stay where
they were (the unit was late before the clocks stopped). The extension cap
(handle_due_original_at) moves with the handle deadline, so the stopped time does not eat
into the extension a unit may still ask for.

申请终止 (termination): the lead unit asks to end a ticket that cannot be handled; a
dispatcher or supervisor approves (the ticket closes as 终止办理) or refuses.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.deadlines.services import calendar, warn_at
from hotline.enums import (AssignmentRole, AssignmentState, Closure, EventAction, NotificationKind, RequestState,
                           Role, TicketState)
from hotline.errors import DomainError, ValidationFailed
from hotline.extensions import db
from hotline.handling.models import Suspension, Termination
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import can_act_for, my_assignments, pending_target, require_state, text
from hotline.lifecycle.registry import register
from hotline.notifications.services import notify
from hotline.tickets.closing import finish
from hotline.tickets.models import Assignment, Ticket

#: The states a lead unit may ask to suspend or terminate from (it is handling the ticket).
APPLY_STATES = (TicketState.SIGNED, TicketState.REOPENED, TicketState.PLANNED)
OPEN = (AssignmentState.DISPATCHED, AssignmentState.SIGNED)


def lead_assignment(ticket: Ticket, actor: User, target=None) -> list[Assignment]:
    """The lead assignment, when the user's unit may act for it (a co-unit may not apply)."""
    mine = [a for a in my_assignments(ticket, actor, target) if a.role is AssignmentRole.LEAD]
    if not mine:
        raise DomainError("NOT_LEAD_UNIT", "只有主办单位可以提出此申请")
    return mine


def _pending(model, ticket: Ticket):
    return db.session.scalar(sa.select(model.id).where(model.ticket_id == ticket.id,
                                                       model.state == RequestState.PENDING))


def _can_apply(label: str, model, code: str, what: str):
    def check(ticket, actor, a: Assignment, at):
        require_state(ticket, label, *APPLY_STATES)
        if a.state is not AssignmentState.SIGNED:
            raise DomainError("INVALID_STATE", f"本单位的派单状态为「{a.state.label}」，不能执行「{label}」")
        if _pending(model, ticket):
            raise DomainError(code, f"已有待审批的{what}")
    return check


def _decide(data: dict) -> tuple[str, str]:
    decision = data.get("decision")
    if decision not in ("approve", "refuse"):
        raise ValidationFailed("请选择同意或驳回", field="decision")
    note = text(data.get("note"), "note", "驳回理由" if decision == "refuse" else "审批意见",
                required=decision == "refuse")
    return decision, note


# --- 挂起 -------------------------------------------------------------------------------
@register("request_suspension", "申请挂起", (Role.UNIT_STAFF,), stage="handling", targets=lead_assignment,
          check=_can_apply("申请挂起", Suspension, "SUSPENSION_PENDING", "挂起申请"),
          message="挂起申请已提交，等待派单员审批")
def request_suspension(ticket: Ticket, actor: User, a: Assignment, at: datetime, data: dict) -> Suspension:
    """申请挂起: a reason and the date the unit expects to resume."""
    reason = text(data.get("reason"), "reason", "挂起理由")
    resume_on = data.get("expected_resume_on")
    if isinstance(resume_on, datetime):
        resume_on = resume_on.date()
    if not isinstance(resume_on, date):
        raise ValidationFailed("请填写预计恢复办理日期", field="expected_resume_on")
    if resume_on <= at.date():
        raise ValidationFailed("预计恢复办理日期须晚于今天", field="expected_resume_on")
    row = Suspension(ticket_id=ticket.id, assignment_id=a.id, requested_by_id=actor.id, requested_at=at,
                     reason=reason, expected_resume_on=resume_on, state=RequestState.PENDING)
    db.session.add(row)
    db.session.flush()
    record(ticket, actor, EventAction.REQUEST_SUSPENSION, ticket.state, note=reason, assignment=a, at=at,
           payload={"suspension_id": row.id, "expected_resume_on": resume_on.isoformat()})
    notify(NotificationKind.SUSPENSION, at, title=f"挂起申请：工单 {ticket.number}（{a.unit.name}）",
           body=reason, role=Role.DISPATCHER.value, ticket_id=ticket.id)
    return row


def _decided(ticket: Ticket, actor: User, row, note: str, at: datetime):
    """Record who decided an application and when; the ticket's state before, its lead
    assignment and the unit to tell."""
    row.decided_by_id, row.decided_at, row.decision_note = actor.id, at, note
    lead = ticket.lead_assignment
    unit_id = (lead.handler_unit_id or lead.unit_id) if lead is not None else None
    return ticket.state, lead, unit_id


def _refused(ticket: Ticket, actor: User, row, note: str, at: datetime, action: EventAction,
             kind: NotificationKind, what: str, payload: dict):
    """驳回 of an application: on record, and the unit is told."""
    row.state = RequestState.REFUSED
    lead = ticket.lead_assignment
    record(ticket, actor, action, ticket.state, note=note, assignment=lead, at=at, payload=payload)
    notify(kind, at, title=f"{what}申请已驳回：工单 {ticket.number}", body=note,
           unit_id=(lead.handler_unit_id or lead.unit_id) if lead is not None else None, ticket_id=ticket.id)
    return row


def pending_suspensions(ticket: Ticket, actor: User, target=None) -> list[Suspension]:
    return pending_target(Suspension, ticket, target, pending=lambda r: r.state is RequestState.PENDING,
                          field="suspension_id", missing="挂起申请不存在", none_code="NO_PENDING_SUSPENSION",
                          none_message="该工单没有待审批的挂起申请", decided_code="SUSPENSION_DECIDED",
                          decided_what="该挂起申请", decided_label=lambda r: r.state.label)


def _can_decide_suspension(ticket, actor, row: Suspension, at):
    require_state(ticket, "挂起审批", *APPLY_STATES)


@register("decide_suspension", "挂起审批", (Role.DISPATCHER,), stage="handling", targets=pending_suspensions,
          check=_can_decide_suspension,
          message=lambda r: "已同意挂起，办理时限暂停计算" if r.state is RequestState.APPROVED else "已驳回挂起申请")
def decide_suspension(ticket: Ticket, actor: User, row: Suspension, at: datetime, data: dict) -> Suspension:
    """同意: the ticket is suspended from now (its state kept to resume in); 驳回: it goes on."""
    decision, note = _decide(data)
    before, lead, unit_id = _decided(ticket, actor, row, note, at)
    if decision == "refuse":
        return _refused(ticket, actor, row, note, at, EventAction.REFUSE_SUSPENSION, NotificationKind.SUSPENSION,
                        "挂起", {"suspension_id": row.id})
    row.state = RequestState.APPROVED
    row.prior_state, row.started_at = before, at
    ticket.state = TicketState.SUSPENDED
    record(ticket, actor, EventAction.APPROVE_SUSPENSION, before, note=note, assignment=lead, at=at,
           payload={"suspension_id": row.id, "prior_state": before.value,
                    "expected_resume_on": row.expected_resume_on.isoformat() if row.expected_resume_on else None})
    notify(NotificationKind.SUSPENSION, at, title=f"工单 {ticket.number} 已挂起，办理时限暂停计算", body=note,
           unit_id=unit_id, ticket_id=ticket.id)
    return row


def active_suspension(ticket: Ticket, actor: User, target=None) -> list[Suspension]:
    rows = db.session.scalars(sa.select(Suspension).where(
        Suspension.ticket_id == ticket.id, Suspension.state == RequestState.APPROVED,
        Suspension.ended_at.is_(None)).order_by(Suspension.id)).all()
    if target not in (None, ""):
        rows = [r for r in rows if str(r.id) == str(target)]
    if not rows:
        raise DomainError("NOT_SUSPENDED", "该工单没有正在挂起的申请")
    return rows


def _can_resume(ticket, actor, row: Suspension, at):
    require_state(ticket, "恢复办理", TicketState.SUSPENDED)
    if actor.has_role(Role.DISPATCHER):
        return
    lead = ticket.lead_assignment
    if lead is None or not can_act_for(actor, lead):
        raise DomainError("NOT_LEAD_UNIT", "只有主办单位或派单员可以恢复办理")


def shift_open_deadlines(ticket: Ticket, since: datetime, minutes: int) -> list[dict]:
    """Move the open deadlines of the ticket's active assignments that were not overdue at
    `since` (due at or after it) later by `minutes` working minutes; the changes, per assignment."""
    cal = calendar()
    changes = []
    for a in ticket.active_assignments():
        if a.state not in OPEN or minutes <= 0:
            continue
        change = {"assignment_id": a.id, "unit": a.unit.name}
        start = a.handle_started_at or a.dispatched_at
        if a.state is AssignmentState.DISPATCHED and a.sign_due_at >= since:
            old = a.sign_due_at
            a.sign_due_at = cal.add_working_minutes(old, minutes).at
            a.sign_warn_at = warn_at(a.dispatched_at, a.sign_due_at)
            change["sign_due_at"] = [old.isoformat(), a.sign_due_at.isoformat()]
        if a.return_due_at >= since and not a.return_overruled:
            old = a.return_due_at
            a.return_due_at = cal.add_working_minutes(old, minutes).at
            change["return_due_at"] = [old.isoformat(), a.return_due_at.isoformat()]
        if a.handle_due_at >= since:
            old = a.handle_due_at
            a.handle_due_at = cal.add_working_minutes(old, minutes).at
            a.handle_warn_at = warn_at(start, a.handle_due_at)
            a.handle_due_original_at = cal.add_working_minutes(a.handle_due_original_at, minutes).at
            change["handle_due_at"] = [old.isoformat(), a.handle_due_at.isoformat()]
        if len(change) > 2:
            changes.append(change)
    return changes


@register("resume", "恢复办理", (Role.UNIT_STAFF, Role.DISPATCHER), stage="handling", targets=active_suspension,
          check=_can_resume, message="已恢复办理，办理时限已顺延")
def resume(ticket: Ticket, actor: User, row: Suspension, at: datetime, data: dict) -> Suspension:
    """恢复办理: back to the state it was suspended from; the deadlines move later by the
    working time the suspension lasted."""
    note = text(data.get("note"), "note", "说明", required=False)
    minutes = calendar().working_minutes_between(row.started_at, at)
    changes = shift_open_deadlines(ticket, row.started_at, minutes)
    row.state, row.ended_at, row.ended_by_id, row.working_minutes = RequestState.ENDED, at, actor.id, minutes
    ticket.state = row.prior_state or TicketState.SIGNED
    record(ticket, actor, EventAction.RESUME, TicketState.SUSPENDED, note=note, assignment=ticket.lead_assignment,
           at=at, payload={"suspension_id": row.id, "working_minutes": minutes, "deadlines": changes})
    lead = ticket.lead_assignment
    if lead is not None:
        notify(NotificationKind.SUSPENSION, at, title=f"工单 {ticket.number} 已恢复办理，办理时限已顺延",
               unit_id=lead.handler_unit_id or lead.unit_id, ticket_id=ticket.id)
    return row


# --- 申请终止 ---------------------------------------------------------------------------
@register("request_termination", "申请终止", (Role.UNIT_STAFF,), stage="handling", targets=lead_assignment,
          check=_can_apply("申请终止", Termination, "TERMINATION_PENDING", "终止申请"),
          message="终止申请已提交，等待审批")
def request_termination(ticket: Ticket, actor: User, a: Assignment, at: datetime, data: dict) -> Termination:
    """申请终止: the ticket cannot be handled (a reason is required)."""
    reason = text(data.get("reason"), "reason", "终止理由")
    row = Termination(ticket_id=ticket.id, assignment_id=a.id, requested_by_id=actor.id, requested_at=at,
                      reason=reason, state=RequestState.PENDING)
    db.session.add(row)
    db.session.flush()
    record(ticket, actor, EventAction.REQUEST_TERMINATION, ticket.state, note=reason, assignment=a, at=at,
           payload={"termination_id": row.id})
    notify(NotificationKind.TERMINATION, at, title=f"终止申请：工单 {ticket.number}（{a.unit.name}）", body=reason,
           role=Role.DISPATCHER.value, ticket_id=ticket.id)
    return row


def pending_terminations(ticket: Ticket, actor: User, target=None) -> list[Termination]:
    return pending_target(Termination, ticket, target, pending=lambda r: r.state is RequestState.PENDING,
                          field="termination_id", missing="终止申请不存在", none_code="NO_PENDING_TERMINATION",
                          none_message="该工单没有待审批的终止申请", decided_code="TERMINATION_DECIDED",
                          decided_what="该终止申请", decided_label=lambda r: r.state.label)


def _can_decide_termination(ticket, actor, row: Termination, at):
    require_state(ticket, "终止审批", *APPLY_STATES)


@register("decide_termination", "终止审批", (Role.DISPATCHER, Role.SUPERVISOR), stage="handling",
          targets=pending_terminations, check=_can_decide_termination,
          message=lambda r: "已同意终止，工单办结" if r.state is RequestState.APPROVED else "已驳回终止申请")
def decide_termination(ticket: Ticket, actor: User, row: Termination, at: datetime, data: dict) -> Termination:
    """同意: the ticket closes as 终止办理 (its assignments done); 驳回: it goes on."""
    decision, note = _decide(data)
    before, lead, unit_id = _decided(ticket, actor, row, note, at)
    if decision == "refuse":
        return _refused(ticket, actor, row, note, at, EventAction.REFUSE_TERMINATION, NotificationKind.TERMINATION,
                        "终止", {"termination_id": row.id})
    row.state = RequestState.APPROVED
    finish(ticket, Closure.TERMINATED, at)
    record(ticket, actor, EventAction.APPROVE_TERMINATION, before, note=note, assignment=lead, at=at,
           payload={"termination_id": row.id, "closure": Closure.TERMINATED.value,
                    "closure_label": Closure.TERMINATED.label})
    notify(NotificationKind.TERMINATION, at, title=f"工单 {ticket.number} 已同意终止办理", body=note,
           unit_id=unit_id, ticket_id=ticket.id)
    return row
