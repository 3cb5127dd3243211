"""督办 (supervision): a 不满意 reopens the ticket under a supervision case (重办); the
supervisor rules on a 不满意 the agent judged unreasonable; on the case the unit reports
weekly progress, a leader's instruction (批示) must be read first, and the supervisor
accepts the result (验收销号) once the ticket closed again.

Case actions lock the ticket row too, so they serialise with the ticket's transitions.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.callbacks.models import Callback
from hotline.deadlines.services import due_for, warn_at
from hotline.enums import (AlertSubject, AssignmentState, Closure, DeadlineClock, EscalationReason, EventAction,
                           NotificationKind, Role, SupervisionLevel, SupervisionReason, SupervisionState,
                           SupervisorDecision, TicketState, UnitKind)
from hotline.errors import DomainError, PermissionDenied, ValidationFailed
from hotline.extensions import db
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import can_act_for, in_state, require_state, text
from hotline.lifecycle.registry import register
from hotline.notifications.services import notify
from hotline.scheduler.models import Escalation
from hotline.supervision.codes import default_case_due, next_case_code
from hotline.supervision.levels import level_name
from hotline.supervision.models import Instruction, SupervisionCase, SupervisionProgress
from hotline.supervision.queries import latest_case_for, open_case_for, require_instruction_read, unread_instructions
from hotline.tickets.closing import finish
from hotline.tickets.models import Ticket
from hotline.units.models import Unit


#: States in which a unit is working on the ticket, so an instruction has someone to read it.
INSTRUCTABLE = (TicketState.DISPATCHED, TicketState.SIGNED, TicketState.RETURNED, TicketState.REPLIED,
                TicketState.REOPENED, TicketState.PENDING_SIGNOFF, TicketState.PLANNED, TicketState.SUSPENDED,
                TicketState.COORDINATING)


# --- reopening under supervision ----------------------------------------------------------
def reopen_under_supervision(ticket: Ticket, actor: User, note: str, at: datetime) -> SupervisionCase:
    """重办: the same lead unit handles the ticket again on a fresh handle clock, under the
    ticket's supervision case — a new one at level 1, or the open one raised a level (a
    second 不满意), never above the top level."""
    lead = ticket.lead_assignment
    handle = due_for(DeadlineClock.HANDLE, ticket.request_type, ticket.urgency, at)
    lead.state = AssignmentState.SIGNED
    lead.handle_due_at = lead.handle_due_original_at = handle.at
    lead.handle_started_at = at
    lead.handle_warn_at = warn_at(at, handle.at)
    lead.handle_overdue_at = None
    lead.escalation_level = SupervisionLevel.UNIT
    lead.calendar_confirmed = handle.confirmed
    ticket.reopen_count += 1
    ticket.state = TicketState.REOPENED
    ticket.callback_due_at = None
    case = latest_case_for(ticket.id)
    case_due = max(default_case_due(at), handle.at)
    if case is not None and case.state is SupervisionState.OPEN:
        if case.level < SupervisionLevel.top():
            escalate_case_again(case, ticket, at)
        case.due_at = case_due
    else:

        level = min(case.level + 1, SupervisionLevel.top()) if case else SupervisionLevel.UNIT
        case = SupervisionCase(ticket_id=ticket.id, unit_id=lead.unit_id, reason=SupervisionReason.UNSATISFIED,
                               state=SupervisionState.OPEN, level=int(level), opened_at=at, opened_by_id=actor.id,
                               due_at=case_due, code=next_case_code(at))
        db.session.add(case)
    db.session.flush()
    record(ticket, actor, EventAction.REOPEN, TicketState.UNSATISFIED, note=note, assignment=lead, at=at,
           payload={"supervision_case_id": case.id, "level": case.level, "handle_due_at": handle.at.isoformat(),
                    "round": ticket.reopen_count})
    return case


def escalate_case_again(case: SupervisionCase, ticket: Ticket, at: datetime) -> None:
    """A second 不满意 raises the open case one level, on record like the scheduler's steps:
    level 2 goes to the unit's supervising unit, the top level to the centre."""
    case.level += 1
    unit = case.unit
    if case.level == SupervisionLevel.SUPERVISING_UNIT and unit.supervising_unit:
        target = unit.supervising_unit.id
    else:
        target = db.session.scalar(sa.select(Unit.id).where(Unit.kind == UnitKind.CENTRE).order_by(Unit.id).limit(1))
    db.session.add(Escalation(subject=AlertSubject.CASE, subject_id=case.id, ticket_id=ticket.id, level=case.level,
                              from_unit_id=unit.id, to_unit_id=target, reason=EscalationReason.UNSATISFIED_AGAIN,
                              due_at=case.due_at, created_at=at, run_token="reopen"))
    for unit_id in sorted({unit.id, target} - {None}):
        notify(NotificationKind.ESCALATION, at, unit_id=unit_id, ticket_id=ticket.id,
               title=f"升级督办：工单 {ticket.number} 再次回访不满意，督办升级至{level_name(case.level)}")


def flagged_callback(ticket: Ticket) -> Callback | None:
    return db.session.scalars(sa.select(Callback).where(Callback.ticket_id == ticket.id)
                              .order_by(Callback.id.desc()).limit(1)).first()


# --- the supervisor's ruling on an unreasonable 不满意 ------------------------------------
@register("reopen", "重办", (Role.SUPERVISOR,), stage="supervision", check=in_state("重办", TicketState.UNSATISFIED),
          message="已重办，并立督办单")
def reopen(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """重办 by decision: a 不满意 the agent flagged as an unreasonable request is judged to
    count after all; the ticket goes back to the same lead unit under supervision."""
    note = text(data.get("note"), "note", "重办要求")
    cb = flagged_callback(ticket)
    if cb is not None and cb.request_reasonable is False:
        cb.supervisor_decision, cb.decided_by_id, cb.decided_at = SupervisorDecision.COUNTED, actor.id, at
    reopen_under_supervision(ticket, actor, note, at)
    return ticket


def _flagged_unsatisfied(ticket, actor, target, at):
    require_state(ticket, EventAction.CONFIRM_UNREASONABLE.label, TicketState.UNSATISFIED)
    cb = flagged_callback(ticket)
    if cb is None or cb.request_reasonable is not False:
        raise DomainError("NOT_FLAGGED", "回访员未判定该诉求不合理，不能按诉求不合理办结")


@register("confirm_unreasonable", "诉求不合理办结", (Role.SUPERVISOR,), stage="supervision",
          check=_flagged_unsatisfied, message="已裁定诉求不合理并办结，不计入单位满意度")
def confirm_unreasonable(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """诉求不合理办结: the supervisor confirms the agent's view; the 不满意 does not count
    against the unit and the ticket closes."""
    note = text(data.get("note"), "note", "裁定理由")
    cb = flagged_callback(ticket)
    cb.supervisor_decision, cb.decided_by_id, cb.decided_at = SupervisorDecision.EXCLUDED, actor.id, at
    finish(ticket, Closure.UNREASONABLE, at)
    record(ticket, actor, EventAction.CONFIRM_UNREASONABLE, TicketState.UNSATISFIED, note=note, at=at,
           payload={"callback_id": cb.id})
    return ticket


# --- the case: progress, instruction, acknowledgement, acceptance ------------------------
def _open_cases(own_unit: bool):
    def targets(ticket: Ticket, actor: User, target=None) -> list[SupervisionCase]:
        stmt = sa.select(SupervisionCase).where(SupervisionCase.ticket_id == ticket.id)
        if target not in (None, ""):
            try:
                stmt = stmt.where(SupervisionCase.id == int(target))
            except (TypeError, ValueError):
                raise ValidationFailed("督办单不存在", field="case_id") from None
        cases = db.session.scalars(stmt.order_by(SupervisionCase.id.desc())
                                   .execution_options(populate_existing=True)).all()
        if not cases:
            raise ValidationFailed("督办单不存在", field="case_id")
        if own_unit:
            cases = [c for c in cases if actor.unit is not None and c.unit.path.startswith(actor.unit.path)]
            if not cases:
                raise PermissionDenied("NOT_YOUR_UNIT", "该督办单不属于您的单位")
        open_cases = [c for c in cases if c.state is SupervisionState.OPEN]
        if not open_cases:
            raise DomainError("CASE_CLOSED", "该督办单已验收销号")
        return open_cases
    return targets


def _instruction_read(ticket, actor, case: SupervisionCase, at):
    require_instruction_read(ticket, "请先阅读并确认领导批示")


@register("progress", "督办进展", (Role.UNIT_STAFF,), stage="supervision", targets=_open_cases(own_unit=True),
          check=_instruction_read, versioned=False, message="进展已报送")
def report_progress(ticket: Ticket, actor: User, case: SupervisionCase, at: datetime, data: dict):
    """周报进展: the unit reports what it did this week on the case."""
    body = text(data.get("text"), "text", "进展情况")
    row = SupervisionProgress(case_id=case.id, author_id=actor.id, created_at=at, text=body)
    db.session.add(row)
    record(ticket, actor, EventAction.PROGRESS, ticket.state, note=body, at=at, payload={"case_id": case.id})
    return row


def _being_handled(ticket, actor, target, at):
    require_state(ticket, EventAction.INSTRUCTION.label, *INSTRUCTABLE)
    if ticket.lead_assignment is None:
        raise DomainError("NO_UNIT", "工单尚未派给承办单位，无需批示")


@register("instruction", "领导批示", (Role.LEADER, Role.SUPERVISOR), stage="supervision", check=_being_handled,
          versioned=False, message="批示已下达")
def give_instruction(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Instruction:
    """领导批示 on any ticket a unit is handling (on its supervision case too, when it has
    one): the lead unit must acknowledge it before it replies, hands down or asks for time."""
    body = text(data.get("text"), "text", "批示内容")
    case = open_case_for(ticket.id)
    lead = ticket.lead_assignment
    row = Instruction(ticket_id=ticket.id, case_id=case.id if case else None, unit_id=lead.unit_id,
                      author_id=actor.id, author_title=actor.title or "", text=body, created_at=at)
    db.session.add(row)
    db.session.flush()
    notify(NotificationKind.INSTRUCTION, at, unit_id=lead.unit_id, ticket_id=ticket.id, body=body,
           title=f"领导批示：工单 {ticket.number} 有新的批示，请先阅读确认")
    record(ticket, actor, EventAction.INSTRUCTION, ticket.state, note=body, at=at,
           payload={"instruction_id": row.id, "case_id": row.case_id, "by": actor.display_name,
                    "title": row.author_title})
    return row


def _unread_for_my_unit(ticket: Ticket, actor: User, target=None) -> list[Instruction]:
    lead = ticket.lead_assignment
    if lead is None or not can_act_for(actor, lead):
        raise PermissionDenied("NOT_YOUR_UNIT", "该工单未派给您的单位，不能操作")
    rows = unread_instructions(ticket.id)
    if target not in (None, ""):
        rows = [r for r in rows if str(r.id) == str(target)]
    if not rows:
        raise DomainError("NO_UNREAD_INSTRUCTION", "没有待阅的领导批示")
    return rows


@register("ack_instruction", "批示已阅", (Role.UNIT_STAFF,), stage="supervision", targets=_unread_for_my_unit,
          versioned=False, message="已确认阅读批示")
def acknowledge_instruction(ticket: Ticket, actor: User, row: Instruction, at: datetime, data: dict):
    """批示已阅: the unit confirms it has read the leader's instruction."""
    row.acknowledged_at, row.acknowledged_by_id = at, actor.id
    record(ticket, actor, EventAction.ACK_INSTRUCTION, ticket.state, at=at,
           payload={"instruction_id": row.id, "case_id": row.case_id})
    return row


def _ticket_closed(ticket, actor, case: SupervisionCase, at):
    if ticket.state is not TicketState.CLOSED:
        raise DomainError("CASE_NOT_READY",
                          f"工单当前为「{ticket.state.label}」，重新办理并经审核、回访办结后才能验收销号")


@register("accept_case", "验收销号", (Role.SUPERVISOR,), stage="supervision", targets=_open_cases(own_unit=False),
          check=_ticket_closed, versioned=False, message="已验收销号")
def accept_case(ticket: Ticket, actor: User, case: SupervisionCase, at: datetime, data: dict):
    """验收销号: the supervisor accepts the result and closes the case, once the ticket's
    re-handling went through review and callback and the ticket is closed."""
    note = text(data.get("note"), "note", "验收意见")
    case.state, case.closed_at, case.closed_by_id, case.close_note = SupervisionState.CLOSED, at, actor.id, note
    record(ticket, actor, EventAction.ACCEPT_CASE, ticket.state, note=note, at=at,
           payload={"case_id": case.id, "level": case.level})
    return case
