"""The supervision case (督办单) life: weekly progress from the unit, a leader's
instruction the unit must read first, and the supervisor's acceptance (验收销号).

Each action locks the ticket row (so it serialises with the ticket's transitions), checks
role, unit and case state, writes one event on the ticket and commits whole.
"""
from __future__ import annotations

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.clock import now as clock_now
from hotline.enums import EventAction, Role, SupervisionState, TicketState
from hotline.errors import DomainError, PermissionDenied, ValidationFailed
from hotline.escalation.models import Notification, SupervisionCase, SupervisionProgress
from hotline.extensions import db
from hotline.tickets.services import _lock_ticket, _record, _require_role, _text, transition


def _case(case_id) -> SupervisionCase:
    case = db.session.get(SupervisionCase, int(case_id)) if case_id else None
    if case is None:
        raise ValidationFailed("督办单不存在", field="case_id")
    return case


def _open(case: SupervisionCase) -> None:
    if case.state is not SupervisionState.OPEN:
        raise DomainError("CASE_CLOSED", "该督办单已验收销号")


def _own_unit(actor: User, case: SupervisionCase) -> None:
    if not case.unit.path.startswith(actor.unit.path):
        raise PermissionDenied("NOT_YOUR_UNIT", "该督办单不属于您的单位")


def _locked_open_case(case_id, actor: User, *, own_unit: bool):
    """The case and its ticket, the ticket row locked, the case re-read and still open."""
    case = _case(case_id)
    if own_unit:
        _own_unit(actor, case)
    ticket = _lock_ticket(case.ticket_id)
    db.session.refresh(case)
    _open(case)
    return case, ticket


def open_case_for(ticket_id: int) -> SupervisionCase | None:
    return db.session.scalars(sa.select(SupervisionCase).where(
        SupervisionCase.ticket_id == ticket_id, SupervisionCase.state == SupervisionState.OPEN)
        .order_by(SupervisionCase.id.desc()).limit(1)).first()


def unread_instruction(ticket_id: int) -> SupervisionCase | None:
    case = open_case_for(ticket_id)
    if case is not None and case.instruction and case.instruction_seen_at is None:
        return case
    return None


@transition
def report_progress(case_id, actor: User, text: str) -> SupervisionProgress:
    """周报进展: the unit reports what it did this week on the case."""
    _require_role(actor, Role.UNIT_STAFF)
    case, ticket = _locked_open_case(case_id, actor, own_unit=True)
    if case.instruction and case.instruction_seen_at is None:
        raise DomainError("INSTRUCTION_UNREAD", "请先阅读并确认领导批示")
    text = _text(text, "text", "进展情况")
    at = clock_now()
    row = SupervisionProgress(case_id=case.id, author_id=actor.id, created_at=at, text=text)
    db.session.add(row)
    _record(ticket, actor, EventAction.PROGRESS, ticket.state, note=text, at=at, payload={"case_id": case.id})
    return row


@transition
def give_instruction(case_id, actor: User, text: str) -> SupervisionCase:
    """领导批示: recorded by a supervisor; the unit must read it before anything else."""
    _require_role(actor, Role.SUPERVISOR)
    case, ticket = _locked_open_case(case_id, actor, own_unit=False)
    text = _text(text, "text", "批示内容")
    at = clock_now()
    case.instruction, case.instruction_at, case.instruction_by_id = text, at, actor.id
    case.instruction_seen_at = case.instruction_seen_by_id = None
    db.session.add(Notification(unit_id=case.unit_id, ticket_id=ticket.id, kind="instruction", created_at=at,
                                title=f"领导批示：工单 {ticket.number} 督办单有新的批示，请先阅读确认", body=text))
    _record(ticket, actor, EventAction.INSTRUCTION, ticket.state, note=text, at=at, payload={"case_id": case.id})
    return case


@transition
def acknowledge_instruction(case_id, actor: User) -> SupervisionCase:
    """批示已阅: the unit confirms it has read the leader's instruction."""
    _require_role(actor, Role.UNIT_STAFF)
    case, ticket = _locked_open_case(case_id, actor, own_unit=True)
    if not case.instruction or case.instruction_seen_at is not None:
        raise DomainError("NO_UNREAD_INSTRUCTION", "没有待阅的领导批示")
    at = clock_now()
    case.instruction_seen_at, case.instruction_seen_by_id = at, actor.id
    _record(ticket, actor, EventAction.ACK_INSTRUCTION, ticket.state, at=at, payload={"case_id": case.id})
    return case


@transition
def accept_case(case_id, actor: User, note: str) -> SupervisionCase:
    """验收销号: the supervisor accepts the result and closes the case, once the ticket's
    re-handling went through review and callback and the ticket is closed."""
    _require_role(actor, Role.SUPERVISOR)
    case, ticket = _locked_open_case(case_id, actor, own_unit=False)
    note = _text(note, "note", "验收意见")
    if ticket.state is not TicketState.CLOSED:
        raise DomainError("CASE_NOT_READY",
                          f"工单当前为「{ticket.state.label}」，重新办理并经审核、回访办结后才能验收销号")
    at = clock_now()
    before = ticket.state
    case.state, case.closed_at, case.closed_by_id, case.close_note = SupervisionState.CLOSED, at, actor.id, note
    _record(ticket, actor, EventAction.ACCEPT_CASE, before, note=note, at=at,
            payload={"case_id": case.id, "level": case.level})
    return case
