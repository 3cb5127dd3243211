"""Every figure of the reports, defined once, counted as of a moment from the history.

A family is one query over the history (assignment versions, events, returns, extension
requests, replies, callbacks, supervision cases) that yields, after its pick (SQL: one row
per item where rows repeat one), one row per counted thing: (unit_id, ticket_id, item_id,
at, ...values). A figure (Metric) is the rows of its family that meet its predicate, a SQL
condition over those columns, and counts one kind of thing (`counts`: tickets,
assignments, returns ...). The same predicate over the same rows is used twice (see
hotline.reports.queries): as COUNT(*) FILTER (WHERE predicate) GROUP BY unit (what the
pages show), and as the row's flag listing its item id (what a snapshot stores and a
drill-down lists), so a figure's count is the length of its drill-down list by
construction.

Figures that are states ("overdue", "open cases", "waiting for a decision") are taken at
`Period.as_of` from the assignment versions and decision times, not from the rows'
present values, so the report of a finished period is the same whenever it is made.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased

from hotline.enums import (AssignmentRole, AssignmentState, Closure, EventAction, ExtensionState, Resolution,
                           ReturnDecision, Satisfaction, TicketState, UnitKind)
from hotline.extensions import db
from hotline.handling.models import Suspension
from hotline.reports.callback_figures import (callbacks_query, distinct_items, pending_decisions_query, pick_callback,
                                              waiting)
from hotline.reports.definitions import Definitions
from hotline.supervision.models import SupervisionCase
from hotline.tickets.history import AssignmentVersion, as_left, as_of
from hotline.tickets.models import Assignment, ExtensionRequest, Reply, Ticket, TicketEvent, TicketReturn
from hotline.units.models import Unit


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive
    as_of: datetime  # the moment the figures are taken at: min(now, end)

    @classmethod
    def of(cls, start: datetime, end: datetime, now: datetime) -> Period:
        """The period's figures taken at its end, or now while it runs; the clock counts in
        whole seconds, so "now" includes what happened in the current second."""
        return cls(start, end, min(now + timedelta(seconds=1), end))

    def covers(self, col):
        """SQL condition: `col` falls in the period as far as it has run (start <= col < as_of)."""
        return sa.and_(col >= self.start, col < self.as_of)

    def key(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "as_of": self.as_of.isoformat()}


#: What a figure counts, with the label the pages use and the table its ids point into.
THINGS = {
    "tickets": ("工单", Ticket, Ticket.id, Ticket.created_at),
    "assignments": ("派件", Assignment, Assignment.ticket_id, Assignment.dispatched_at),
    "returns": ("退单", TicketReturn, TicketReturn.ticket_id, TicketReturn.returned_at),
    "extensions": ("延期申请", ExtensionRequest, ExtensionRequest.ticket_id, ExtensionRequest.requested_at),
    "replies": ("答复", Reply, Reply.ticket_id, Reply.created_at),
    "cases": ("督办单", SupervisionCase, SupervisionCase.ticket_id, SupervisionCase.opened_at),
}

COUNTED_CLOSURES = (Closure.SATISFIED, Closure.UNREACHABLE, Closure.UNREASONABLE)
OPEN = (AssignmentState.DISPATCHED, AssignmentState.SIGNED)


@dataclass(frozen=True)
class Family:
    name: str
    counts: str  # a key of THINGS
    query: Callable[[Period, Definitions], sa.Select]
    #: (columns, period, definitions) -> (condition or None, order): one row per item_id,
    #: the first in that order of the rows meeting the condition (e.g. a ticket's chosen
    #: callback); None: the query's rows are already one per counted thing
    pick: Callable | None = None
    #: its rough cost over a period (1: a few index reads; more: a probe or a sort per row),
    #: so run_many starts the long queries first
    weight: int = 1


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    explain: str
    family: str
    test: Callable | None = None  # (columns, period, definitions) -> SQL condition; None: every row
    section: str = "lead"  # lead | co | centre | supervision

    @property
    def counts(self) -> str:
        return FAMILIES[self.family].counts

    @property
    def unit_label(self) -> str:
        return THINGS[self.counts][0]


# --- assignments dispatched in the period, as they stood at as_of -------------------------
def _dispatched(role: AssignmentRole):
    def query(p: Period, d: Definitions) -> sa.Select:
        """Read from the versions alone: each carries its assignment's role and dispatch
        time (set once, at dispatch), so the period selects versions by index and only the
        one in force at as_of is kept."""
        v, a = aliased(AssignmentVersion), aliased(Assignment)
        timely_return = sa.exists(sa.select(TicketReturn.id).join(a, a.id == TicketReturn.assignment_id).where(
            TicketReturn.ticket_id == v.ticket_id, TicketReturn.assignment_id == v.assignment_id,
            TicketReturn.returned_at < p.as_of, TicketReturn.returned_at <= a.return_due_at,
            ~sa.and_(TicketReturn.decision == ReturnDecision.OVERRULED, TicketReturn.decided_at < p.as_of)))
        return (sa.select(v.unit_id, v.ticket_id, v.assignment_id.label("item_id"), v.dispatched_at.label("at"),
                          v.state, v.active, v.signed_at, v.sign_due_at, v.replied_at, v.handle_due_at,
                          timely_return.label("timely_return"))
                .where(v.role == role, p.covers(v.dispatched_at), as_of(v, p.as_of)))
    return query


# --- tickets closed in the period ---------------------------------------------------------
def _closed(p: Period, d: Definitions) -> sa.Select:
    """Closing events (the closure recorded with the event), attributed to the lead unit
    as the close left it; each ticket once (its last closing in the period)."""
    e, e2 = aliased(TicketEvent), aliased(TicketEvent)
    v, v2 = aliased(AssignmentVersion), aliased(AssignmentVersion)
    closure = e.payload["closure"].as_string()
    first_reopen = (sa.select(sa.func.min(e2.at)).where(e2.ticket_id == e.ticket_id, e2.action == EventAction.REOPEN)
                    .correlate(e).scalar_subquery())  # two levels down: correlate explicitly
    # asked only of tickets that were reopened (CASE evaluates it lazily; the reopen probe
    # reads a small partial index)
    due_before_reopen = sa.case((first_reopen.is_not(None), (
        sa.select(v2.handle_due_at).where(v2.assignment_id == v.assignment_id, as_of(v2, first_reopen)).limit(1)
        .correlate(v, e).scalar_subquery())), else_=None)
    return (sa.select(sa.func.coalesce(v.unit_id, lead_unit_of(e.ticket_id)).label("unit_id"), e.ticket_id,
                      e.ticket_id.label("item_id"), e.at, closure.label("closure"), v.replied_at,
                      v.handle_due_at, due_before_reopen.label("first_due"))
            .select_from(e)
            .outerjoin(v, sa.and_(v.ticket_id == e.ticket_id, v.role == AssignmentRole.LEAD, v.active.is_(True),
                                  as_left(v, e.at)))
            .where(e.to_state == TicketState.CLOSED, sa.or_(e.from_state.is_(None), e.from_state != TicketState.CLOSED),
                   p.covers(e.at),
                   closure.in_([c.value for c in COUNTED_CLOSURES])))


def _last_per_item(c, p, d):
    return None, [c.at.desc(), c.unit_id.desc()]


def closed_on_time(c, p: Period, d: Definitions):
    due = sa.func.coalesce(c.first_due, c.handle_due_at) if d.close_basis == "first" else c.handle_due_at
    return sa.and_(c.replied_at.is_not(None), due.is_not(None), c.replied_at <= due)


def lead_unit_of(ticket_id):
    """The ticket's present lead unit (a fallback where the history has none), asked only
    when needed (COALESCE evaluates it lazily) instead of joining every ticket."""
    return sa.select(Ticket.lead_unit_id).where(Ticket.id == ticket_id).scalar_subquery()


# --- open work at as_of ----------------------------------------------------------------------
def suspended_at(ticket_id, moment):
    return sa.exists(sa.select(Suspension.id).where(
        Suspension.ticket_id == ticket_id, Suspension.started_at.is_not(None), Suspension.started_at < moment,
        sa.or_(Suspension.ended_at.is_(None), Suspension.ended_at >= moment)))


def _overdue(role: AssignmentRole):
    def query(p: Period, d: Definitions) -> sa.Select:
        """Assignments open at as_of past the handle deadline in force then (suspended
        tickets' clocks stand still, so they are not overdue)."""
        v = aliased(AssignmentVersion)
        return (sa.select(v.unit_id, v.ticket_id, v.assignment_id.label("item_id"), v.handle_due_at.label("at"))
                .where(as_of(v, p.as_of), v.role == role, v.active, v.state.in_(OPEN),  # `active`: the partial index
                       v.handle_due_at < p.as_of, ~suspended_at(v.ticket_id, p.as_of)))
    return query


# --- things that happened in the period ---------------------------------------------------
def _returns(p: Period, d: Definitions) -> sa.Select:
    overruled = sa.and_(TicketReturn.decision == ReturnDecision.OVERRULED, TicketReturn.decided_at < p.as_of)
    return (sa.select(TicketReturn.unit_id, TicketReturn.ticket_id, TicketReturn.id.label("item_id"),
                      TicketReturn.returned_at.label("at"), overruled.label("overruled"),
                      (TicketReturn.returned_at <= Assignment.return_due_at).label("timely"))
            .join(Assignment, Assignment.id == TicketReturn.assignment_id)
            .where(p.covers(TicketReturn.returned_at)))


def _extensions(p: Period, d: Definitions) -> sa.Select:
    approved = sa.and_(ExtensionRequest.state == ExtensionState.APPROVED, ExtensionRequest.decided_at < p.as_of)
    return (sa.select(Assignment.unit_id, ExtensionRequest.ticket_id, ExtensionRequest.id.label("item_id"),
                      ExtensionRequest.requested_at.label("at"), approved.label("approved"))
            .join(Assignment, Assignment.id == ExtensionRequest.assignment_id)
            .where(p.covers(ExtensionRequest.requested_at)))


def _reopens(p: Period, d: Definitions) -> sa.Select:
    return (sa.select(Assignment.unit_id, TicketEvent.ticket_id, TicketEvent.ticket_id.label("item_id"), TicketEvent.at)
            .join(Assignment, Assignment.id == TicketEvent.assignment_id)
            .where(TicketEvent.action == EventAction.REOPEN, p.covers(TicketEvent.at)))


def _replies(p: Period, d: Definitions) -> sa.Select:
    return (sa.select(Reply.unit_id, Reply.ticket_id, Reply.id.label("item_id"), Reply.created_at.label("at"),
                      Reply.contacted_citizen.label("contacted"))
            .join(Assignment, Assignment.id == Reply.assignment_id)
            .where(Assignment.role == AssignmentRole.LEAD, p.covers(Reply.created_at)))


def _cases_opened(p, d):
    return sa.select(SupervisionCase.unit_id, SupervisionCase.ticket_id, SupervisionCase.id.label("item_id"),
                     SupervisionCase.opened_at.label("at")).where(p.covers(SupervisionCase.opened_at))


def _cases_closed(p, d):
    return sa.select(SupervisionCase.unit_id, SupervisionCase.ticket_id, SupervisionCase.id.label("item_id"),
                     SupervisionCase.closed_at.label("at")).where(p.covers(SupervisionCase.closed_at))


def _cases_open(p, d):
    return sa.select(SupervisionCase.unit_id, SupervisionCase.ticket_id, SupervisionCase.id.label("item_id"),
                     SupervisionCase.opened_at.label("at")).where(
        SupervisionCase.opened_at < p.as_of,
        sa.or_(SupervisionCase.closed_at.is_(None), SupervisionCase.closed_at >= p.as_of))


# --- calls taken by the centre ---------------------------------------------------------------
def _calls(p: Period, d: Definitions) -> sa.Select:
    """Tickets recorded in the period, the centre's: answered on the call (直办), and the
    caller's previous ticket (by number) for 重复来电: the latest one recorded earlier, at
    most the window's days before the period began."""
    centre = sa.select(Unit.id).where(Unit.kind == UnitKind.CENTRE).order_by(Unit.id).limit(1).scalar_subquery()
    since = p.start - timedelta(days=d.repeat_days)
    if db.session.get_bind().dialect.name == "postgresql":
        # one pass over the window's tickets, each number's calls in time order: the frame
        # ends 1 µs before the row (PostgreSQL's resolution), so ties are not "earlier"
        previous = sa.literal_column(
            "max(tickets.created_at) OVER (PARTITION BY tickets.caller_phone ORDER BY tickets.created_at "
            "RANGE BETWEEN UNBOUNDED PRECEDING AND interval '1 microsecond' PRECEDING)", sa.DateTime())
        calls = (sa.select(Ticket.id, Ticket.created_at, Ticket.caller_phone, previous.label("previous"))
                 .where(Ticket.created_at >= since, Ticket.created_at < p.as_of).subquery("calls"))
        tid, created, phone, previous = calls.c.id, calls.c.created_at, calls.c.caller_phone, calls.c.previous
        in_period = created >= p.start
    else:
        t2 = aliased(Ticket)
        tid, created, phone = Ticket.id, Ticket.created_at, Ticket.caller_phone
        previous = (sa.select(sa.func.max(t2.created_at)).where(
            t2.caller_phone == Ticket.caller_phone, t2.created_at < Ticket.created_at, t2.created_at >= since,
            t2.id != Ticket.id).scalar_subquery())
        in_period = p.covers(Ticket.created_at)
    # one index-only probe per call (ix_ticket_events_answer): the work grows with the
    # period's calls, not with every call ever answered
    direct = sa.exists(sa.select(TicketEvent.id).where(TicketEvent.ticket_id == tid,
                                                       TicketEvent.action == EventAction.ANSWER,
                                                       TicketEvent.at < p.as_of))
    return (sa.select(centre.label("unit_id"), tid.label("ticket_id"), tid.label("item_id"), created.label("at"),
                      direct.label("direct"), sa.case((phone == "", None), else_=previous).label("previous_call"))
            .where(in_period))


class days_before(sa.sql.functions.FunctionElement):
    """SQL: the moment `days` (a literal int) days before a timestamp column, on PostgreSQL
    and on SQLite (whose timestamps are text, compared as such)."""

    type = sa.DateTime()
    name = "days_before"
    inherit_cache = True


@compiles(days_before)
def _days_before_pg(element, compiler, **kw):
    col, days = list(element.clauses)
    return f"({compiler.process(col, **kw)} - make_interval(days => {int(days.value)}))"


@compiles(days_before, "sqlite")
def _days_before_sqlite(element, compiler, **kw):
    col, days = list(element.clauses)
    return f"strftime('%Y-%m-%d %H:%M:%f000', {compiler.process(col, **kw)}, '-{int(days.value)} days')"


def _repeat(c, p, d):
    return sa.and_(c.previous_call.is_not(None), c.previous_call >= days_before(c.at, d.repeat_days))


FAMILIES: dict[str, Family] = {f.name: f for f in [
    Family("dispatched", "assignments", _dispatched(AssignmentRole.LEAD), weight=3),
    Family("co_dispatched", "assignments", _dispatched(AssignmentRole.CO)),
    Family("closed", "tickets", _closed, _last_per_item, weight=8),
    Family("overdue", "assignments", _overdue(AssignmentRole.LEAD)),
    Family("co_overdue", "assignments", _overdue(AssignmentRole.CO)),
    Family("returns", "returns", _returns),
    Family("extensions", "extensions", _extensions),
    Family("reopens", "tickets", _reopens, distinct_items),
    Family("replies", "replies", _replies, weight=3),
    Family("cases_opened", "cases", _cases_opened),
    Family("cases_closed", "cases", _cases_closed),
    Family("cases_open", "cases", _cases_open),
    Family("callbacks", "tickets", callbacks_query, pick_callback, weight=5),
    Family("pending_decisions", "tickets", pending_decisions_query, waiting),
    Family("calls", "tickets", _calls, weight=6),
]}


# --- the predicates: SQL conditions over a family's columns ---------------------------------
def _true(col):
    return col.is_(True)


def _not(cond):
    """NOT for a condition that may be NULL (NULL counts as not met on both sides)."""
    return sa.not_(sa.func.coalesce(cond, False))


def _included(c, p, d):
    return _not(_true(c.timely_return)) if d.sign_returns == "exclude" else sa.true()


def _should_sign(c, p, d):
    return sa.and_(_included(c, p, d), sa.or_(c.signed_at.is_not(None), c.sign_due_at < p.as_of))


def _signed_on_time(c, p, d):
    return sa.and_(_included(c, p, d), c.signed_at.is_not(None), c.signed_at <= c.sign_due_at)


def _should_reply(c, p, d):
    return sa.or_(c.replied_at.is_not(None), c.handle_due_at < p.as_of)


def _replied_on_time(c, p, d):
    return sa.and_(c.replied_at.is_not(None), c.replied_at <= c.handle_due_at)


def _redispatched(c, p, d):
    return sa.and_(_not(_true(c.active)), c.state.in_([AssignmentState.RETURNED, AssignmentState.CANCELLED]))


def _satisfied(c, p, d):
    return c.satisfaction == Satisfaction.SATISFIED


def _basically(c, p, d):
    return c.satisfaction == Satisfaction.BASICALLY


METRICS: dict[str, Metric] = {m.key: m for m in [
    # lead work (主办)
    Metric("received", "派件数", "本期派给该单位主办的派件", "dispatched"),
    Metric("should_sign", "应签收", "本期派件中截至统计时点已签收或已过签收期限的（口径见公式）", "dispatched",
           _should_sign),
    Metric("signed_on_time", "按时签收", "本期派件中在签收期限内签收的（口径见公式）", "dispatched", _signed_on_time),
    Metric("signed", "已签收", "本期派件中截至统计时点已签收的（平均签收用时的基数）", "dispatched",
           lambda c, p, d: c.signed_at.is_not(None)),
    Metric("answered", "已答复派件", "本期派件中截至统计时点已答复的（平均办理用时的基数）", "dispatched",
           lambda c, p, d: c.replied_at.is_not(None)),
    Metric("redispatched", "改派", "本期派件中截至统计时点已被退回改派或撤销的", "dispatched", _redispatched),
    Metric("closed", "办结数", "本期办结的工单（回访满意/基本满意、未联系上、诉求不合理裁定），每张计一次", "closed"),
    Metric("closed_on_time", "按时办结", "本期办结且答复按时的工单（口径见公式）", "closed", closed_on_time),
    Metric("closed_late", "超期办结", "本期办结但答复超时或无答复的工单", "closed",
           lambda c, p, d: _not(closed_on_time(c, p, d))),
    Metric("unreachable", "未联系上", "本期按未联系上办结的工单", "closed",
           lambda c, p, d: c.closure == Closure.UNREACHABLE.value),
    Metric("overdue_now", "超期未办结", "截至统计时点仍在办理且已过当时办理期限的派件（挂起中的不计）", "overdue"),
    Metric("returned", "退单", "本期该单位提出的退单", "returns"),
    Metric("returned_timely", "按时退单", "本期退单中在退单期限内提出的", "returns", lambda c, p, d: _true(c.timely)),
    Metric("returns_overruled", "退单被驳回", "本期退单中截至统计时点被驳回的", "returns",
           lambda c, p, d: _true(c.overruled)),
    Metric("extensions", "延期申请", "本期提出的延期申请", "extensions"),
    Metric("extensions_approved", "延期批准", "本期提出且截至统计时点已批准的延期申请", "extensions",
           lambda c, p, d: _true(c.approved)),
    Metric("reopened", "重办", "本期因回访不满意重办的工单", "reopens"),
    Metric("replies", "答复数", "本期主办单位的办结反馈（含阶段性答复）", "replies"),
    Metric("contacted", "已联系市民", "本期答复中已与市民联系的", "replies", lambda c, p, d: _true(c.contacted)),
    Metric("callbacks_reached", "回访联系上", "本期回访联系上且计入单位的工单（每张按口径取一次回访）", "callbacks"),
    Metric("resolved", "已解决", "其中回访为“已解决”的工单", "callbacks",
           lambda c, p, d: c.resolution == Resolution.RESOLVED),
    Metric("satisfied", "满意", "其中回访为“满意”的工单", "callbacks", _satisfied),
    Metric("basically", "基本满意", "其中回访为“基本满意”的工单", "callbacks", _basically),
    Metric("unsatisfied", "不满意", "其中回访为“不满意”的工单", "callbacks",
           lambda c, p, d: c.satisfaction == Satisfaction.UNSATISFIED),
    Metric("pending_decision", "不合理待裁定", "截至统计时点回访员判定诉求不合理、尚待督办人员裁定的工单", "pending_decisions"),
    # supervision
    Metric("cases_opened", "督办立案", "本期新立的督办单", "cases_opened", section="supervision"),
    Metric("cases_closed", "督办销号", "本期验收销号的督办单", "cases_closed", section="supervision"),
    Metric("cases_open", "督办在办", "截至统计时点未销号的督办单", "cases_open", section="supervision"),
    # co-units (协办), on their own deadlines
    Metric("co_received", "协办派件", "本期派给该单位协办的派件", "co_dispatched", section="co"),
    Metric("co_should_sign", "协办应签收", "协办派件中已签收或已过签收期限的", "co_dispatched", _should_sign, "co"),
    Metric("co_signed_on_time", "协办按时签收", "协办派件中在签收期限内签收的", "co_dispatched", _signed_on_time, "co"),
    Metric("co_should_reply", "协办应反馈", "协办派件中已反馈或已过协办期限的", "co_dispatched", _should_reply, "co"),
    Metric("co_replied_on_time", "协办按时反馈", "协办派件中在协办期限内反馈的", "co_dispatched", _replied_on_time, "co"),
    Metric("co_overdue_now", "协办超期未反馈", "截至统计时点仍未反馈且已过协办期限的协办派件", "co_overdue", section="co"),
    # the centre's own calls
    Metric("calls", "来电受理", "本期登记的工单", "calls", section="centre"),
    Metric("direct", "直接办结", "其中话务员当场答复办结的（直办）", "calls", lambda c, p, d: _true(c.direct), "centre"),
    Metric("repeat_calls", "重复来电", "其中同一号码在口径天数内曾来电的", "calls", _repeat, "centre"),
]}


def counted(family: str, p: Period, d: Definitions):
    """The family's rows as a subquery, one per counted thing (picked in SQL)."""
    fam = FAMILIES[family]
    q = fam.query(p, d).subquery(f"{family}_rows")
    if fam.pick is None:
        return q
    cond, order = fam.pick(q.c, p, d)
    nth = sa.func.row_number().over(partition_by=q.c.item_id, order_by=order).label("nth")
    ranked = sa.select(q, nth)
    if cond is not None:
        ranked = ranked.where(cond)
    ranked = ranked.subquery(f"{family}_ranked")
    return sa.select(*(ranked.c[k] for k in q.c.keys())).where(ranked.c.nth == 1).subquery(family)


def condition(key: str, c, p: Period, d: Definitions):
    """The figure's predicate over the family's columns (None: every row)."""
    m = METRICS[key]
    return m.test(c, p, d) if m.test is not None else None
