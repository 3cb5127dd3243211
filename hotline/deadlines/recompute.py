"""Deadlines recomputed when the calendar changes (时限重算).

A ticket dispatched late in December gets provisional deadlines for next year's days
(the weekday rule; `calendar_confirmed` False) until the admin enters the official
schedule. When the admin confirms a year, or adds, changes or deletes a holiday override,
`recompute_open_deadlines` recomputes the deadlines of every open assignment whose
deadlines were provisional or whose clocks run over the changed dates, from their start:

- sign: from dispatch (for assignments still to be signed);
- return: from dispatch (while the return window is open);
- handle: from handle_started_at (dispatch, or the reopen), a co-unit's N working days
  before the lead's; then, in the order they happened, each approved extension (its
  approved date stands: the dispatcher chose a moment) and each ended suspension (the
  deadline moves by the suspension's working minutes, re-counted by the new calendar,
  when it was not overdue at the suspension's start);
- warnings re-derived from the new deadlines.

Only assignments whose deadlines actually change are touched; each such ticket gets one
DEADLINE_RECOMPUTED event (old/new per assignment in the payload; it is a system notice
and leaves the ticket's version alone, like the scheduler's) and its unit a notice. A new
deadline in the future clears an overdue mark and restarts escalation (as an approved
extension does). Running it twice changes nothing the second time.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from hotline.clock import now as clock_now
from hotline.deadlines.services import calendar, co_unit_handle_due, due_for, forget_calendar, stricter, warn_at
from hotline.enums import (AssignmentRole, AssignmentState, DeadlineClock, EventAction, ExtensionState,
                           NotificationKind, RequestState, TicketState)
from hotline.extensions import db
from hotline.handling.models import Suspension
from hotline.lifecycle.events import record
from hotline.notifications.services import notify
from hotline.tickets.models import Assignment, ExtensionRequest, Ticket

OPEN = (AssignmentState.DISPATCHED, AssignmentState.SIGNED)


def _handle_base(a: Assignment, ticket: Ticket):
    """The handle deadline from the clock's start, before extensions and suspensions."""
    start = a.handle_started_at or a.dispatched_at
    handle = due_for(DeadlineClock.HANDLE, ticket.request_type, ticket.urgency, start)
    if start == a.dispatched_at:  # the clock of the dispatch: a platform's limit binds it too
        handle = stricter(handle, ticket.external_due_at)
    sign = due_for(DeadlineClock.SIGN, ticket.request_type, ticket.urgency, a.dispatched_at)
    if a.role is AssignmentRole.CO:
        handle = co_unit_handle_due(ticket.request_type, ticket.urgency, handle, sign.at)
    return handle


def _replay(a: Assignment, due: datetime, extensions, suspensions, *, handle: bool) -> datetime:
    """Approved extensions (handle clock only) and ended suspensions after the start, in order."""
    start = a.handle_started_at or a.dispatched_at
    steps = [(s.ended_at, "s", s) for s in suspensions if s.started_at >= (start if handle else a.dispatched_at)]
    if handle:
        steps += [(e.decided_at, "e", e) for e in extensions if e.assignment_id == a.id and e.decided_at >= start]
    cal = calendar()
    for _, kind, row in sorted(steps, key=lambda s: s[0]):
        if kind == "e":
            due = row.new_due_at or due
        elif due >= row.started_at:
            minutes = cal.working_minutes_between(row.started_at, row.ended_at)
            row.working_minutes = minutes
            due = cal.add_working_minutes(due, minutes).at
    return due


def recomputed_clocks(a: Assignment, ticket: Ticket, extensions, suspensions) -> dict:
    """The assignment's deadline columns as the calendar now computes them."""
    sign = due_for(DeadlineClock.SIGN, ticket.request_type, ticket.urgency, a.dispatched_at)
    ret = due_for(DeadlineClock.RETURN, ticket.request_type, ticket.urgency, a.dispatched_at)
    base = _handle_base(a, ticket)
    values = {"calendar_confirmed": sign.confirmed and ret.confirmed and base.confirmed}
    if a.state is AssignmentState.DISPATCHED:
        values["sign_due_at"] = _replay(a, sign.at, extensions, suspensions, handle=False)
        values["sign_warn_at"] = warn_at(a.dispatched_at, values["sign_due_at"])
    if not a.return_overruled:
        values["return_due_at"] = _replay(a, ret.at, extensions, suspensions, handle=False)
    original = _replay(a, base.at, (), suspensions, handle=True)
    values["handle_due_original_at"] = original
    values["handle_due_at"] = _replay(a, base.at, extensions, suspensions, handle=True)
    values["handle_warn_at"] = warn_at(a.handle_started_at or a.dispatched_at, values["handle_due_at"])
    return values


def _touches(a: Assignment, first: date, last: date) -> bool:
    """The assignment's clocks run over a day in [first, last]."""
    start = min(a.dispatched_at, a.handle_started_at or a.dispatched_at).date()
    end = max(a.handle_due_at, a.sign_due_at, a.return_due_at).date()
    return start <= last and end >= first


def recompute_open_deadlines(year: int | None = None, actor=None, at: datetime | None = None, *,
                             days: tuple[date, date] | None = None) -> int:
    """Recompute the open assignments' deadlines after the calendar changed (the admin
    confirmed `year`, or changed the overrides of the dates in `days` = (first, last)).
    Assignments with provisional deadlines are always looked at. Flushes; the caller's
    unit of work commits. Returns the number of tickets whose deadlines moved."""
    at = at or clock_now()
    forget_calendar()
    if days is None and year is not None:
        days = (date(year, 1, 1), date(year, 12, 31))
    rows = db.session.scalars(
        sa.select(Assignment).join(Ticket, Ticket.id == Assignment.ticket_id)
        .where(Assignment.active.is_(True), Assignment.state.in_(OPEN), Ticket.state != TicketState.CLOSED)
        .order_by(Assignment.ticket_id, Assignment.id)).all()
    by_ticket: dict[int, list[Assignment]] = {}
    for a in rows:
        if not a.calendar_confirmed or (days is not None and _touches(a, *days)):
            by_ticket.setdefault(a.ticket_id, []).append(a)
    moved = 0
    for ticket_id, assignments in by_ticket.items():
        ticket = db.session.get(Ticket, ticket_id)
        extensions = db.session.scalars(sa.select(ExtensionRequest).where(
            ExtensionRequest.ticket_id == ticket_id, ExtensionRequest.state == ExtensionState.APPROVED)).all()
        suspensions = db.session.scalars(sa.select(Suspension).where(
            Suspension.ticket_id == ticket_id, Suspension.state == RequestState.ENDED,
            Suspension.started_at.is_not(None), Suspension.ended_at.is_not(None))).all()
        changes = []
        for a in assignments:
            new = recomputed_clocks(a, ticket, extensions, suspensions)
            old = {k: getattr(a, k) for k in new}
            if old == new:
                continue
            for k, v in new.items():
                setattr(a, k, v)
            if a.handle_due_at > at and old["handle_due_at"] != a.handle_due_at:
                a.handle_overdue_at = None
                a.escalation_level = 1
            if "sign_due_at" in new and a.sign_due_at > at:
                a.sign_overdue_at = None
            changes.append({"assignment_id": a.id, "unit": a.unit.name, "unit_id": a.unit_id,
                            "calendar_confirmed": a.calendar_confirmed,
                            **{k: [old[k].isoformat(), new[k].isoformat()]
                               for k in ("sign_due_at", "handle_due_at", "return_due_at")
                               if k in new and old[k] != new[k]}})
        if not changes:
            continue
        moved += 1
        db.session.flush()
        # A system notice: the event is written without bumping the version (see events.py).
        record(ticket, actor, EventAction.DEADLINE_RECOMPUTED, ticket.state, at=at,
               note="节假日安排调整，办理时限已重新计算", payload={"source": "calendar", "assignments": changes})
        for c in changes:
            a = db.session.get(Assignment, c["assignment_id"])
            due = c.get("handle_due_at", [None, a.handle_due_at.isoformat()])[1]
            notify(NotificationKind.DEADLINE, at, title=f"时限调整：工单 {ticket.number} 办理期限为 {due[:16].replace('T', ' ')}",
                   unit_id=a.handler_unit_id or a.unit_id, ticket_id=ticket.id)
    db.session.flush()
    return moved
