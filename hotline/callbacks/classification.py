"""分类处置 at the callback: 已解决, 合理但暂不能解决 (纳入计划), 诉求不合理, 无法联系.

The callback agent classifies each callback (Callback.outcome):

- 已解决 (RESOLVED): as before — 满意/基本满意 close the ticket, a reasonable 不满意
  reopens it under supervision.
- 合理但暂不能解决 (PLANNED): the ticket is kept open as 纳入计划 (TicketState.PLANNED)
  with a follow-up date (Ticket.follow_up_on), taken from the lead unit's 阶段性答复 or
  given at the callback. The lead assignment stays answerable: the unit later gives its
  final reply from PLANNED (→ 待审核 → 审核 → 回访) and the `follow_up` job urges it on
  the follow-up date.
- 诉求不合理 (UNREASONABLE): the request was unreasonable (request_reasonable = False); a
  不满意 waits for the supervisor's ruling (confirm_unreasonable or reopen).
- 无法联系 (UNREACHABLE): a failed attempt (reached = False).

Without an explicit classification the callback is classified from its other inputs
(not reached → 无法联系, judged unreasonable → 诉求不合理, else 已解决), so callers that
do not know the classification behave as before.

This step has no actions of its own: the callback (hotline.callbacks.operations)
classifies, the unit's reply (hotline.handling.operations) carries the 阶段性答复."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from hotline.callbacks.models import Callback
from hotline.enums import AssignmentRole, CallbackOutcome, TicketState
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.lifecycle.guards import coerce
from hotline.tickets.models import Reply, Ticket


def as_date(value, field: str, label: str) -> date | None:
    """A date from a form (date), JSON ("2026-12-01") or Python; None when unset."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValidationFailed(f"{label}的日期格式无效", field=field) from None


def future_date(value, at: datetime, field: str = "follow_up_on", label: str = "计划跟踪日期") -> date | None:
    day = as_date(value, field, label)
    if day is not None and day <= at.date():
        raise ValidationFailed(f"{label}须晚于今天", field=field)
    return day


def classify(value, reached: bool, request_reasonable: bool | None) -> CallbackOutcome:
    """The callback's classification, checked against what the agent recorded."""
    if value in (None, ""):
        if not reached:
            return CallbackOutcome.UNREACHABLE
        return CallbackOutcome.UNREASONABLE if request_reasonable is False else CallbackOutcome.RESOLVED
    outcome = coerce(CallbackOutcome, value, "outcome", "分类处置")
    if (outcome is CallbackOutcome.UNREACHABLE) != (not reached):
        raise ValidationFailed("“无法联系”须与“未联系上”对应", field="outcome")
    if outcome is not CallbackOutcome.UNREASONABLE and request_reasonable is False:
        raise ValidationFailed("诉求判定为不合理时，分类处置应为“诉求不合理”", field="outcome")
    if outcome is CallbackOutcome.UNREASONABLE and request_reasonable is True:
        raise ValidationFailed("诉求判定为合理时，分类处置不能为“诉求不合理”", field="outcome")
    return outcome


def interim_reply(ticket: Ticket) -> Reply | None:
    """The lead unit's latest reply, when it is a 阶段性答复."""
    lead = ticket.lead_assignment
    if lead is None:
        return None
    row = db.session.scalars(sa.select(Reply).where(Reply.ticket_id == ticket.id, Reply.assignment_id == lead.id)
                             .order_by(Reply.id.desc()).limit(1)).first()
    return row if row is not None and row.interim else None


def put_in_plan(ticket: Ticket, cb: Callback, given, at: datetime) -> dict:
    """合理但暂不能解决 → 纳入计划: the ticket waits in PLANNED for the unit's final reply,
    followed up on the date given at the callback or the one of the unit's 阶段性答复.
    The lead assignment keeps its state (replied, so no handling clock runs on it) and
    stays active: the unit answers again from PLANNED."""
    day = future_date(given, at)
    interim = interim_reply(ticket)
    if day is None and interim is not None and interim.follow_up_on is not None:
        if interim.follow_up_on <= at.date():
            raise ValidationFailed("阶段性答复的计划跟踪日期已过，请填写新的计划跟踪日期", field="follow_up_on")
        day = interim.follow_up_on
    if day is None:
        raise ValidationFailed("纳入计划须有计划跟踪日期（承办单位未作阶段性答复，请填写）", field="follow_up_on")
    lead = ticket.lead_assignment
    if lead is None or lead.role is not AssignmentRole.LEAD:
        raise ValidationFailed("工单没有主办单位，不能纳入计划", field="outcome")
    ticket.state = TicketState.PLANNED
    ticket.follow_up_on = day
    ticket.callback_due_at = None
    return {"follow_up_on": day.isoformat(), "interim_reply_id": interim.id if interim is not None else None,
            "plan": interim.plan if interim is not None else ""}
