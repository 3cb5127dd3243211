"""The callback families of the reports: per ticket, its first or final counted callback of
the period, and the unreasonable 不满意 still waiting for a ruling — each as of the
period's moment (hotline.reports.metrics defines the figures over them)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from hotline.callbacks.models import Callback
from hotline.enums import AssignmentRole, EventAction, RequestState
from hotline.supervision.models import Dispute
from hotline.tickets.history import AssignmentVersion, as_of
from hotline.tickets.models import Ticket, TicketEvent

if TYPE_CHECKING:
    from hotline.reports.definitions import Definitions
    from hotline.reports.metrics import Period


# --- callbacks: per ticket, its first or final counted callback of the period ---------------
def _lead_unit_at(ticket_id, moment):
    v = aliased(AssignmentVersion)
    return (sa.select(v.unit_id).where(v.ticket_id == ticket_id, v.role == AssignmentRole.LEAD, v.active.is_(True),
                                       as_of(v, moment)).limit(1).scalar_subquery())


def _callback_columns(p: Period):
    """A callback with what decided it by as_of: the supervisor's ruling on an unreasonable
    request (the first 重办 or 诉求不合理办结 after it: a ruling is never overwritten in the
    events) and the latest 甄别 decided before as_of (which the callback row's decision
    columns are overwritten by)."""
    e = aliased(TicketEvent)

    def first(action):  # asked only of unreasonable requests (CASE evaluates it lazily)
        return sa.case((Callback.request_reasonable.is_(False), sa.select(sa.func.min(e.at)).where(
            e.ticket_id == Callback.ticket_id, e.action == action, e.at >= Callback.created_at).scalar_subquery()),
            else_=None)

    dispute = (sa.select(Dispute.state).where(Dispute.ticket_id == Callback.ticket_id, Dispute.callback_id == Callback.id,
                                              Dispute.decided_at.is_not(None), Dispute.decided_at < p.as_of)
               .order_by(Dispute.decided_at.desc(), Dispute.id.desc()).limit(1).scalar_subquery())
    return (sa.func.coalesce(_lead_unit_at(Callback.ticket_id, Callback.created_at),
                             sa.select(Ticket.lead_unit_id).where(Ticket.id == Callback.ticket_id).scalar_subquery())
            .label("unit_id"), Callback.ticket_id, Callback.ticket_id.label("item_id"), Callback.created_at.label("at"),
            Callback.id.label("callback_id"), Callback.satisfaction, Callback.resolution,
            Callback.request_reasonable, first(EventAction.REOPEN).label("ruled_counted_at"),
            first(EventAction.CONFIRM_UNREASONABLE).label("ruled_out_at"), dispute.label("dispute"))


def callbacks_query(p: Period, d: Definitions) -> sa.Select:
    return sa.select(*_callback_columns(p)).where(p.covers(Callback.created_at), Callback.reached.is_(True))


def _ruled(c, p: Period, counted: bool):
    """SQL: the supervisor had ruled the unreasonable request by as_of, counted (True) or
    not counted (False): the earlier of the two rulings before as_of decides, and at the
    same moment "not counted" wins."""
    mine, other = (c.ruled_counted_at, c.ruled_out_at) if counted else (c.ruled_out_at, c.ruled_counted_at)
    beats = (mine < other) if counted else (mine <= other)
    return sa.and_(mine.is_not(None), mine < p.as_of,
                   sa.or_(other.is_(None), other >= p.as_of, beats))


def _unruled(c, p: Period):
    return sa.and_(sa.or_(c.ruled_counted_at.is_(None), c.ruled_counted_at >= p.as_of),
                   sa.or_(c.ruled_out_at.is_(None), c.ruled_out_at >= p.as_of))


def counts_against_unit(c, p: Period):
    """SQL, as of as_of: a 甄别 decided by then rules (upheld: 不计入单位); otherwise a
    reasonable request counts, and an unreasonable one as the supervisor ruled it (waiting:
    in no rate, in 不合理待裁定)."""
    return sa.case((c.dispute.is_not(None), c.dispute != RequestState.APPROVED),
                   (c.request_reasonable.is_not(False), sa.true()),
                   else_=_ruled(c, p, True))


def waiting(c, p, d):
    """One row per ticket: the unreasonable 不满意 neither disputed nor ruled by as_of (the latest)."""
    return sa.and_(c.dispute.is_(None), _unruled(c, p)), [c.at.desc()]


def pick_callback(c, p, d):
    """One row per ticket: its first or final (a setting) callback of the period that counts."""
    order = [c.at, c.callback_id] if d.callback_pick == "first" else [c.at.desc(), c.callback_id.desc()]
    return counts_against_unit(c, p), order


def pending_decisions_query(p: Period, d: Definitions) -> sa.Select:
    """不满意 the agent judged unreasonable, waiting at as_of for the supervisor's decision."""
    return sa.select(*_callback_columns(p)).where(Callback.created_at < p.as_of, Callback.reached.is_(True),
                                                  Callback.request_reasonable.is_(False))


def distinct_items(c, p, d):
    """One row per item: its latest."""
    return None, [c.at.desc()]
