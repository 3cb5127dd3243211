"""甄别: a unit disputes a 不满意 with evidence; the supervisor decides.

The ticket's lead unit may ask (申请甄别) that the latest 不满意 counted against it be
taken out of its figures — an unreasonable request, a citizen unhappy with the law
rather than the work — with its reason and evidence; one pending application at a time
and one per callback. The supervisor decides: upheld (甄别成立) rules the callback
"不计入单位" (Callback.supervisor_decision = EXCLUDED), so it leaves the unit's
satisfaction and resolution figures; rejected (甄别不成立) rules it counted. The ticket's
own course (closed, or re-handled under supervision) does not change.

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.callbacks.models import Callback
from hotline.enums import (EventAction, NotificationKind, RequestState, Role, Satisfaction, SupervisorDecision,
                           TicketState)
from hotline.errors import DomainError, PermissionDenied, ValidationFailed
from hotline.extensions import db
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import can_act_for, pending_target, require_state, text
from hotline.lifecycle.registry import register
from hotline.notifications.services import notify
from hotline.supervision.models import Dispute
from hotline.tickets.models import Ticket

#: A 不满意 counts against the unit once the ticket was reopened for it or closed after it.
DISPUTABLE = (TicketState.CLOSED, TicketState.REOPENED)


def counted_against_unit():
    """The condition under which a reached callback counts in the unit's figures (the
    same rule as hotline.reports.metrics): ruled counted, or reasonable and not ruled out."""
    return sa.or_(Callback.supervisor_decision == SupervisorDecision.COUNTED,
                  sa.and_(Callback.request_reasonable.is_not(False), Callback.supervisor_decision.is_(None)))


def latest_counted_unsatisfied(ticket: Ticket) -> Callback | None:
    """The ticket's latest reached 不满意 callback that counts against the unit (an
    earlier round's, when the citizen was satisfied after the re-handling)."""
    return db.session.scalars(sa.select(Callback).where(
        Callback.ticket_id == ticket.id, Callback.reached.is_(True),
        Callback.satisfaction == Satisfaction.UNSATISFIED, counted_against_unit())
        .order_by(Callback.id.desc()).limit(1)).first()


def pending_dispute(ticket_id: int) -> Dispute | None:
    return db.session.scalars(sa.select(Dispute).where(Dispute.ticket_id == ticket_id,
                                                       Dispute.state == RequestState.PENDING)
                              .order_by(Dispute.id).limit(1)).first()


def disputes_for(ticket_id: int) -> list[Dispute]:
    return list(db.session.scalars(sa.select(Dispute).where(Dispute.ticket_id == ticket_id).order_by(Dispute.id)))


# --- 申请甄别 -------------------------------------------------------------------------------
def _disputable_callback(ticket: Ticket, actor: User, target=None) -> list[Callback]:
    lead = ticket.lead_assignment
    if lead is None or not can_act_for(actor, lead, allow_handler=False):
        raise PermissionDenied("NOT_YOUR_UNIT", "只有主办单位可以对该工单的回访申请甄别")
    cb = latest_counted_unsatisfied(ticket)
    if cb is None:
        raise DomainError("NO_DISPUTABLE_CALLBACK", "该工单没有计入本单位的不满意回访，无需甄别")
    if target not in (None, "") and str(target) != str(cb.id):
        raise ValidationFailed("只能对该工单最近一次计入本单位的不满意回访申请甄别", field="callback_id")
    return [cb]


def _can_dispute(ticket: Ticket, actor: User, cb: Callback, at: datetime) -> None:
    require_state(ticket, EventAction.DISPUTE.label, *DISPUTABLE)
    if pending_dispute(ticket.id) is not None:
        raise DomainError("DISPUTE_PENDING", "该工单已有待裁定的甄别申请")
    if db.session.scalar(sa.select(sa.func.count()).select_from(Dispute).where(Dispute.callback_id == cb.id)):
        raise DomainError("ALREADY_DISPUTED", "该次回访已申请过甄别，不能再次申请")


@register("dispute", "申请甄别", (Role.UNIT_STAFF,), stage="supervision", targets=_disputable_callback,
          check=_can_dispute, versioned=False, message="甄别申请已提交，等待督办人员裁定")
def apply_dispute(ticket: Ticket, actor: User, cb: Callback, at: datetime, data: dict) -> Dispute:
    """申请甄别: the lead unit asks, with its reason and evidence, that a 不满意 not be
    counted against it; the supervisors are told."""
    reason = text(data.get("reason"), "reason", "甄别理由")
    evidence = text(data.get("evidence"), "evidence", "佐证材料说明", max_len=10000)
    lead = ticket.lead_assignment
    row = Dispute(ticket_id=ticket.id, callback_id=cb.id, unit_id=lead.unit_id, applicant_id=actor.id,
                  created_at=at, reason=reason, evidence=evidence, state=RequestState.PENDING)
    db.session.add(row)
    db.session.flush()
    notify(NotificationKind.DISPUTE, at, role=Role.SUPERVISOR.value, ticket_id=ticket.id, body=reason,
           title=f"甄别申请：{lead.unit.name} 对工单 {ticket.number} 的回访不满意申请甄别")
    record(ticket, actor, EventAction.DISPUTE, ticket.state, note=reason, assignment=lead, at=at,
           payload={"dispute_id": row.id, "callback_id": cb.id, "unit": lead.unit.name, "evidence": evidence})
    return row


# --- 甄别裁定 -------------------------------------------------------------------------------
def _pending_disputes(ticket: Ticket, actor: User, target=None) -> list[Dispute]:
    return pending_target(Dispute, ticket, target, pending=lambda d: d.state is RequestState.PENDING,
                          field="dispute_id", missing="甄别申请不存在", none_code="NO_PENDING_DISPUTE",
                          none_message="没有待裁定的甄别申请", decided_code="DISPUTE_DECIDED",
                          decided_what="该甄别申请", decided_label=lambda d: d.state.label)


@register("decide_dispute", "甄别裁定", (Role.SUPERVISOR,), stage="supervision", targets=_pending_disputes,
          versioned=False,
          message=lambda d: "甄别成立，该次不满意不计入单位" if d.state is RequestState.APPROVED else "甄别不成立，仍计入单位")
def decide_dispute(ticket: Ticket, actor: User, row: Dispute, at: datetime, data: dict) -> Dispute:
    """甄别裁定: upheld takes the 不满意 out of the unit's figures (不计入单位); rejected
    keeps it counted. The unit is told either way."""
    decision = data.get("decision")
    if decision not in ("uphold", "reject"):
        raise ValidationFailed("请选择裁定结果", field="decision")
    upheld = decision == "uphold"
    note = text(data.get("note"), "note", "裁定意见")
    row.state = RequestState.APPROVED if upheld else RequestState.REFUSED
    row.decided_by_id, row.decided_at, row.decision_note = actor.id, at, note
    cb = db.session.get(Callback, row.callback_id) if row.callback_id else None
    if cb is not None:
        cb.supervisor_decision = SupervisorDecision.EXCLUDED if upheld else SupervisorDecision.COUNTED
        cb.decided_by_id, cb.decided_at = actor.id, at
    verdict = "甄别成立，该次不满意不计入单位" if upheld else "甄别不成立，仍计入单位"
    notify(NotificationKind.DISPUTE, at, unit_id=row.unit_id, ticket_id=ticket.id, body=note,
           title=f"甄别裁定：工单 {ticket.number} {verdict}")
    record(ticket, actor, EventAction.DISPUTE_UPHELD if upheld else EventAction.DISPUTE_REJECTED, ticket.state,
           note=note, at=at, payload={"dispute_id": row.id, "callback_id": row.callback_id,
                                       "decision": SupervisorDecision.EXCLUDED.value if upheld
                                       else SupervisorDecision.COUNTED.value})
    return row
