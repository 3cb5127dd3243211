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
    return (sa.func.coalesce(_lead_unit_at(Callback.ticket_id, Callback.created_at), Ticket.lead_unit_id)
            .label("unit_id"), Callback.ticket_id, Callback.ticket_id.label("item_id"), Callback.created_at.label("at"),
            Callback.id.label("callback_id"), Callback.satisfaction, Callback.resolution,
            Callback.request_reasonable, first(EventAction.REOPEN).label("ruled_counted_at"),
            first(EventAction.CONFIRM_UNREASONABLE).label("ruled_out_at"), dispute.label("dispute"))


def callbacks_query(p: Period, d: Definitions) -> sa.Select:
    return (sa.select(*_callback_columns(p)).join(Ticket, Ticket.id == Callback.ticket_id)
            .where(p.covers(Callback.created_at), Callback.reached.is_(True)))


def _ruling(r, p: Period) -> bool | None:
    """The supervisor's ruling on an unreasonable request as of as_of: True counted,
    False not counted, None not yet ruled."""
    rulings = [(at, counted) for at, counted in ((r.ruled_counted_at, True), (r.ruled_out_at, False))
               if at is not None and at < p.as_of]
    return min(rulings)[1] if rulings else None


def counts_against_unit(r, p: Period) -> bool:
    """As of as_of: a 甄别 decided by then rules; otherwise a reasonable request counts, and
    an unreasonable one as the supervisor ruled it (waiting: in no rate, in 不合理待裁定)."""
    if r.dispute is not None:
        return r.dispute is not RequestState.APPROVED  # upheld: 不计入单位
    if r.request_reasonable is not False:
        return True
    return bool(_ruling(r, p))


def waiting(rows, p, d):
    return distinct_items([r for r in rows if r.dispute is None and _ruling(r, p) is None], p, d)


def pick_callback(rows, p, d):
    chosen = {}
    for r in sorted((r for r in rows if counts_against_unit(r, p)), key=lambda r: (r.at, r.callback_id)):
        if d.callback_pick == "final" or r.item_id not in chosen:
            chosen[r.item_id] = r
    return list(chosen.values())


def pending_decisions_query(p: Period, d: Definitions) -> sa.Select:
    """不满意 the agent judged unreasonable, waiting at as_of for the supervisor's decision."""
    return (sa.select(*_callback_columns(p)).join(Ticket, Ticket.id == Callback.ticket_id)
            .where(Callback.created_at < p.as_of, Callback.reached.is_(True), Callback.request_reasonable.is_(False)))


def distinct_items(rows, p, d):
    return list({r.item_id: r for r in sorted(rows, key=lambda r: r.at)}.values())
