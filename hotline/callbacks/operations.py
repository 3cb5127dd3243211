"""回访 (callback): one call to the citizen per attempt, and closing a ticket whose
citizen could not be reached after the configured number of attempts."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.callbacks.classification import classify, put_in_plan
from hotline.callbacks.models import Callback
from hotline.enums import CallbackOutcome, Closure, EventAction, Resolution, Role, Satisfaction, TicketState
from hotline.errors import DomainError, ValidationFailed
from hotline.extensions import db
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import coerce, flag, in_state, require_state, text
from hotline.lifecycle.registry import register
from hotline.supervision.operations import reopen_under_supervision
from hotline.tickets.closing import finish
from hotline.tickets.models import Ticket

MAX_FAILED_CALLBACKS = 3


def failed_callback_count(ticket: Ticket) -> int:
    return db.session.scalar(sa.select(sa.func.count(Callback.id)).where(
        Callback.ticket_id == ticket.id, Callback.round == ticket.reopen_count, Callback.reached.is_(False)))


@register("callback", "回访", (Role.CALLBACK_AGENT,), stage="callbacks", check=in_state("回访", TicketState.REVIEWED),
          message="回访已记录")
def record_callback(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Callback:
    """回访: one call to the citizen.

    满意/基本满意 close the ticket. 不满意 reopens it to the same lead unit under a
    supervision case (重办) in the same action — two events, CALLBACK then REOPEN, one
    version — except when the agent judged the request unreasonable: then it waits as
    回访不满意 for a supervisor's ruling and does not count against the unit until then.
    分类处置 (hotline.callbacks.classification): 合理但暂不能解决 keeps the ticket open as
    纳入计划 with its follow-up date, whatever the satisfaction.
    """
    reached = flag(data.get("reached"))
    if reached is None:
        raise ValidationFailed("请选择是否联系上", field="reached")
    cb = Callback(ticket_id=ticket.id, agent_id=actor.id, created_at=at, round=ticket.reopen_count,
                  reached=reached, note=text(data.get("note"), "note", "备注", required=False))
    before = ticket.state
    if reached:
        cb.resolution = coerce(Resolution, data.get("resolution"), "resolution", "解决情况")
        cb.satisfaction = coerce(Satisfaction, data.get("satisfaction"), "satisfaction", "满意度")
        cb.citizen_words = text(data.get("citizen_words"), "citizen_words", "市民意见", required=False)
        cb.request_reasonable = flag(data.get("request_reasonable"))
    cb.outcome = classify(data.get("outcome"), reached, cb.request_reasonable)
    if cb.outcome is CallbackOutcome.UNREASONABLE:
        cb.request_reasonable = False
    planned = {}
    if cb.outcome is CallbackOutcome.PLANNED:
        planned = put_in_plan(ticket, cb, data.get("follow_up_on"), at)
    elif reached:
        if cb.satisfaction is Satisfaction.UNSATISFIED:
            ticket.state = TicketState.UNSATISFIED
        else:
            finish(ticket, Closure.SATISFIED, at)
    db.session.add(cb)
    db.session.flush()
    payload = {"callback_id": cb.id, "reached": cb.reached, "outcome": cb.outcome.value,
               "outcome_label": cb.outcome.label, **planned}
    if reached:
        payload.update(resolution=cb.resolution.value, satisfaction=cb.satisfaction.value,
                       satisfaction_label=cb.satisfaction.label, request_reasonable=cb.request_reasonable)
    else:
        payload["failed_attempts"] = failed_callback_count(ticket)
    record(ticket, actor, EventAction.CALLBACK, before, note=cb.citizen_words or cb.note, at=at, payload=payload)
    if ticket.state is TicketState.UNSATISFIED and cb.request_reasonable is not False:
        reopen_under_supervision(ticket, actor, "回访不满意，重办（自动立督办单）", at)
    return cb


def _unreachable(ticket, actor, target, at):
    require_state(ticket, EventAction.CLOSE.label, TicketState.REVIEWED)
    failed = failed_callback_count(ticket)
    if failed < MAX_FAILED_CALLBACKS:
        raise DomainError("CALLBACK_ATTEMPTS",
                          f"需回访 {MAX_FAILED_CALLBACKS} 次均未联系上才能按未联系上办结（当前 {failed} 次）")


@register("close_unreachable", "未联系上办结", (Role.CALLBACK_AGENT,), stage="callbacks", check=_unreachable,
          message="工单已办结")
def close_unreachable(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """未联系上: closed after the attempts the rules ask for all failed."""
    note = text(data.get("note"), "note", "说明", required=False)
    before = ticket.state
    finish(ticket, Closure.UNREACHABLE, at)
    record(ticket, actor, EventAction.CLOSE, before, note=note, at=at,
           payload={"closure": Closure.UNREACHABLE.value, "closure_label": Closure.UNREACHABLE.label})
    return ticket
