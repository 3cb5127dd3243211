"""Every figure of the reports, defined once as a query of (unit_id, ticket_id) rows.

A figure's count for a unit is the number of its rows; its drill-down is the list of the
tickets in those rows. Counting and drilling down use the same query, so the list behind
a figure always matches the figure. Figures are per answerable unit (the lead
assignment's unit); reports roll them up the unit tree.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import sqlalchemy as sa

from hotline.callbacks.models import Callback
from hotline.enums import (SupervisorDecision, AssignmentRole, AssignmentState, Closure, EventAction, ExtensionState, Resolution,
                           ReturnDecision, Satisfaction, SupervisionState)
from hotline.supervision.models import SupervisionCase
from hotline.tickets.models import Assignment, ExtensionRequest, Reply, Ticket, TicketEvent, TicketReturn


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive
    as_of: datetime  # "now" for the figures that are states, not events


@dataclass(frozen=True)
class Metric:
    """A figure: the rows of its family's base query that meet its extra condition.

    Figures of one family are counted together in one scan (COUNT(*) FILTER (WHERE ...)),
    and a figure's drill-down uses exactly the same base and condition."""

    key: str
    label: str
    explain: str
    family: str
    extra: Callable[[Period], object] | None = None

    def rows(self, p: Period) -> sa.Select:
        base = FAMILIES[self.family](p)
        return base.where(self.extra(p)) if self.extra is not None else base


LEAD = Assignment.role == AssignmentRole.LEAD
COUNTED_CLOSURES = (Closure.SATISFIED, Closure.UNREACHABLE, Closure.UNREASONABLE)


def _in(col, p: Period):
    return sa.and_(col >= p.start, col < p.end)


def _dispatched(p):
    return sa.select(Assignment.unit_id, Assignment.ticket_id).where(LEAD, _in(Assignment.dispatched_at, p))


def _closed(p):
    return (sa.select(Assignment.unit_id, Assignment.ticket_id)
            .join(Ticket, Ticket.id == Assignment.ticket_id)
            .where(LEAD, Assignment.active.is_(True), _in(Ticket.closed_at, p), Ticket.closure.in_(COUNTED_CLOSURES)))


def _open_overdue(p):
    """Open lead assignments past their handle deadline at as_of."""
    return sa.select(Assignment.unit_id, Assignment.ticket_id).where(
        LEAD, Assignment.active.is_(True),
        Assignment.state.in_((AssignmentState.DISPATCHED, AssignmentState.SIGNED)),
        Assignment.dispatched_at < p.as_of, Assignment.handle_due_at < p.as_of)


def _returns(p):
    return sa.select(TicketReturn.unit_id, TicketReturn.ticket_id).where(_in(TicketReturn.returned_at, p))


def _extensions(p):
    return (sa.select(Assignment.unit_id, ExtensionRequest.ticket_id)
            .join(Assignment, Assignment.id == ExtensionRequest.assignment_id)
            .where(_in(ExtensionRequest.requested_at, p)))


def _reopens(p):
    return (sa.select(Assignment.unit_id, TicketEvent.ticket_id)
            .join(Assignment, Assignment.id == TicketEvent.assignment_id)
            .where(TicketEvent.action == EventAction.REOPEN, _in(TicketEvent.at, p)))


def _cases_opened(p):
    return sa.select(SupervisionCase.unit_id, SupervisionCase.ticket_id).where(_in(SupervisionCase.opened_at, p))


def _cases_closed(p):
    return sa.select(SupervisionCase.unit_id, SupervisionCase.ticket_id).where(_in(SupervisionCase.closed_at, p))


def _cases_open(p):
    return sa.select(SupervisionCase.unit_id, SupervisionCase.ticket_id).where(
        SupervisionCase.opened_at < p.as_of,
        sa.or_(SupervisionCase.state == SupervisionState.OPEN, SupervisionCase.closed_at >= p.as_of))


def _callbacks(p):
    """Reached callbacks that count (attributed to the ticket's lead unit): ruled counted,
    or reasonable and not ruled out (甄别成立 rules a 不满意 out); an unreasonable request
    waiting for the supervisor's decision does not count."""
    return (sa.select(Ticket.lead_unit_id.label("unit_id"), Callback.ticket_id)
            .join(Ticket, Ticket.id == Callback.ticket_id)
            .where(_in(Callback.created_at, p), Callback.reached.is_(True),
                   sa.or_(Callback.supervisor_decision == SupervisorDecision.COUNTED,
                          sa.and_(Callback.request_reasonable.is_not(False), Callback.supervisor_decision.is_(None)))))


def _replies(p):
    return (sa.select(Reply.unit_id, Reply.ticket_id).join(Assignment, Assignment.id == Reply.assignment_id)
            .where(LEAD, _in(Reply.created_at, p)))


FAMILIES: dict[str, Callable[[Period], sa.Select]] = {
    "dispatched": _dispatched, "closed": _closed, "overdue": _open_overdue, "returns": _returns,
    "extensions": _extensions, "reopens": _reopens, "cases_opened": _cases_opened, "cases_closed": _cases_closed,
    "cases_open": _cases_open, "callbacks": _callbacks, "replies": _replies,
}


METRICS: dict[str, Metric] = {m.key: m for m in [
    Metric("received", "派件数", "本期派给该单位（主办）的工单数", "dispatched"),
    Metric("should_sign", "应签收", "本期派件中已签收或已过签收期限的", "dispatched",
           lambda p: sa.or_(Assignment.signed_at.is_not(None), Assignment.sign_due_at < p.as_of)),
    Metric("signed_on_time", "按时签收", "本期派件中在签收期限内签收的", "dispatched",
           lambda p: sa.and_(Assignment.signed_at.is_not(None), Assignment.signed_at <= Assignment.sign_due_at)),
    Metric("closed", "办结数", "本期办结的工单（回访满意/基本满意、未联系上、诉求不合理裁定）", "closed"),
    Metric("closed_on_time", "按时办结", "本期办结且最后一次答复在办理期限内的", "closed",
           lambda p: Assignment.replied_at <= Assignment.handle_due_at),
    Metric("closed_late", "超期办结", "本期办结但答复晚于办理期限的", "closed",
           lambda p: sa.or_(Assignment.replied_at.is_(None), Assignment.replied_at > Assignment.handle_due_at)),
    Metric("unreachable", "未联系上", "本期按未联系上办结的工单", "closed",
           lambda p: Ticket.closure == Closure.UNREACHABLE),
    Metric("overdue_now", "超期未办结", "截至统计时点仍在办理且已过办理期限的", "overdue"),
    Metric("returned", "退单", "本期该单位提出的退单", "returns"),
    Metric("returns_overruled", "退单被驳回", "本期退单中被派单员驳回的", "returns",
           lambda p: TicketReturn.decision == ReturnDecision.OVERRULED),
    Metric("extensions", "延期申请", "本期提出的延期申请", "extensions"),
    Metric("extensions_approved", "延期批准", "本期提出且已批准的延期申请", "extensions",
           lambda p: ExtensionRequest.state == ExtensionState.APPROVED),
    Metric("reopened", "重办", "本期因回访不满意重办的次数", "reopens"),
    Metric("cases_opened", "督办立案", "本期新立的督办单", "cases_opened"),
    Metric("cases_closed", "督办销号", "本期验收销号的督办单", "cases_closed"),
    Metric("cases_open", "督办在办", "截至统计时点未销号的督办单", "cases_open"),
    Metric("callbacks_reached", "回访联系上", "本期联系上的回访（不含裁定不计入及待裁定的不合理诉求）", "callbacks"),
    Metric("resolved", "已解决", "本期回访中市民表示已解决的", "callbacks",
           lambda p: Callback.resolution == Resolution.RESOLVED),
    Metric("satisfied", "满意+基本满意", "本期回访中满意或基本满意的", "callbacks",
           lambda p: Callback.satisfaction.in_((Satisfaction.SATISFIED, Satisfaction.BASICALLY))),
    Metric("replies", "答复数", "本期主办单位的办结反馈次数", "replies"),
    Metric("contacted", "已联系市民", "本期答复中已与市民联系的", "replies",
           lambda p: Reply.contacted_citizen.is_(True)),
]}
