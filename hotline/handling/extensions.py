"""延期 (extensions): a unit asks for more time on its handle deadline before it passes,
within the policy's maximum; the dispatcher approves or refuses."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.deadlines.services import calendar, limit_for, warn_at
from hotline.enums import (HANDLING_STATES, AssignmentRole, AssignmentState, DeadlineClock, EventAction,
                           ExtensionState, Role)
from hotline.errors import DomainError, ValidationFailed
from hotline.extensions import db
from hotline.handling.operations import assignments
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import pending_target, require_assignment_state, require_state, text
from hotline.lifecycle.registry import register
from hotline.supervision.queries import require_instruction_read
from hotline.tickets.models import Assignment, ExtensionRequest, Ticket


def _can_request(ticket, actor, a: Assignment, at):
    label = EventAction.REQUEST_EXTENSION.label
    require_assignment_state(a, label, AssignmentState.SIGNED)
    if a.role is AssignmentRole.LEAD:
        require_state(ticket, label, *HANDLING_STATES)
        require_instruction_read(ticket)
    if limit_for(DeadlineClock.EXTENSION_MAX, ticket.request_type, ticket.urgency) is None:
        raise DomainError("EXTENSION_NOT_ALLOWED", f"{ticket.urgency.label}工单不允许延期")
    if at >= a.handle_due_at:
        raise DomainError("EXTENSION_TOO_LATE", "已超过办理时限，不能再申请延期")
    pending = db.session.scalar(sa.select(ExtensionRequest.id).where(
        ExtensionRequest.assignment_id == a.id, ExtensionRequest.state == ExtensionState.PENDING))
    if pending:
        raise DomainError("EXTENSION_PENDING", "已有待审批的延期申请")


@register("extension", "延期申请", (Role.UNIT_STAFF,), stage="handling", targets=assignments, check=_can_request,
          message="延期申请已提交")
def request_extension(ticket: Ticket, actor: User, a: Assignment, at: datetime, data: dict) -> ExtensionRequest:
    """延期申请: asked before the handle deadline, within the policy's maximum."""
    reason = text(data.get("reason"), "reason", "延期理由")
    requested = data.get("requested_due_at")
    if not isinstance(requested, datetime):
        raise ValidationFailed("请填写申请延期至的时间", field="requested_due_at")
    if requested <= a.handle_due_at:
        raise ValidationFailed("申请的期限须晚于当前办理期限", field="requested_due_at")
    limit = limit_for(DeadlineClock.EXTENSION_MAX, ticket.request_type, ticket.urgency)
    latest = calendar().add(a.handle_due_original_at, *limit).at
    if requested > latest:
        raise ValidationFailed(f"延期不能超过{limit[0]}{limit[1].label}（最晚 {latest:%Y-%m-%d %H:%M}）",
                               field="requested_due_at")
    req = ExtensionRequest(ticket=ticket, assignment=a, requested_by_id=actor.id, requested_at=at, reason=reason,
                           old_due_at=a.handle_due_at, requested_due_at=requested, state=ExtensionState.PENDING)
    db.session.add(req)
    record(ticket, actor, EventAction.REQUEST_EXTENSION, ticket.state, note=reason, assignment=a, at=at,
           payload={"old_due_at": a.handle_due_at.isoformat(), "requested_due_at": requested.isoformat()})
    return req


def pending_extensions(ticket: Ticket, actor: User, target=None) -> list[ExtensionRequest]:
    return pending_target(ExtensionRequest, ticket, target, pending=lambda r: r.state is ExtensionState.PENDING,
                          field="request_id", missing="延期申请不存在", none_code="NO_PENDING_EXTENSION",
                          none_message="该工单没有待审批的延期申请", decided_code="EXTENSION_DECIDED", decided_what="该延期申请",
                          decided_label=lambda r: r.state.label)


def _can_decide(ticket, actor, req: ExtensionRequest, at):
    a = req.assignment
    if not a.active or a.state is not AssignmentState.SIGNED:
        raise DomainError("INVALID_STATE", "该单位已不在办理中，延期申请无需审批")


@register("decide_extension", "延期审批", (Role.DISPATCHER,), stage="handling", targets=pending_extensions,
          check=_can_decide, message=lambda req: "已同意延期" if req.state is ExtensionState.APPROVED else "已拒绝延期")
def decide_extension(ticket: Ticket, actor: User, req: ExtensionRequest, at: datetime, data: dict) -> ExtensionRequest:
    """同意延期 moves the assignment's handle deadline (to `new_due_at`, at most the one
    asked for); 拒绝延期 keeps it, with a reason."""
    decision = data.get("decision")
    if decision not in ("approve", "refuse"):
        raise ValidationFailed("请选择同意或拒绝", field="decision")
    a = req.assignment
    if decision == "refuse":
        note = text(data.get("note"), "note", "拒绝理由")
        req.state = ExtensionState.REFUSED
        req.decided_by_id, req.decided_at, req.decision_note = actor.id, at, note
        record(ticket, actor, EventAction.REFUSE_EXTENSION, ticket.state, note=note, assignment=a, at=at,
               payload={"request_id": req.id})
        return req
    note = text(data.get("note"), "note", "审批意见", required=False)
    new_due = data.get("new_due_at") or req.requested_due_at
    if not (a.handle_due_at < new_due <= req.requested_due_at):
        raise ValidationFailed("批准的期限须晚于当前期限且不晚于申请的期限", field="new_due_at")
    old = a.handle_due_at
    a.handle_due_at = new_due
    a.handle_warn_at = warn_at(a.handle_started_at or a.dispatched_at, new_due)
    if new_due > at:  # a new deadline: not overdue, and escalation starts over from it
        a.handle_overdue_at = None
        a.escalation_level = 1
    a.extension_count += 1
    req.state = ExtensionState.APPROVED
    req.decided_by_id, req.decided_at, req.decision_note, req.new_due_at = actor.id, at, note, new_due
    record(ticket, actor, EventAction.APPROVE_EXTENSION, ticket.state, note=note, assignment=a, at=at,
           payload={"request_id": req.id, "old_due_at": old.isoformat(), "new_due_at": new_due.isoformat()})
    return req
