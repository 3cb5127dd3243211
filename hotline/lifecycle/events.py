"""The one writer of `ticket_events`.

Rule (also stated on TicketEvent): an action writes one event per consequence that the
history must show, and bumps the ticket's version exactly once, however many events it
wrote. A reasonable 不满意 is one action with two consequences, so it writes CALLBACK and
then REOPEN and the version goes up by one. Scheduler notices (预警, 催办, 超期, 升级) are
not user actions: they are written set-based through `insert_from_select`, change no
state and leave the version alone, so nobody's open form goes stale because of them.
"""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm.attributes import set_committed_value

from hotline.clock import now as clock_now
from hotline.database import insert_now
from hotline.enums import EventAction, TicketState
from hotline.extensions import db
from hotline.tickets.models import Ticket, TicketEvent
from hotline.webhooks import outbox  # its flush hook writes the webhook deliveries of recorded events

#: Columns the set-based writer fills, in order.
SET_COLUMNS = ("ticket_id", "action", "from_state", "to_state", "at", "note", "payload")


def record(ticket: Ticket, actor, action: EventAction, from_state: TicketState | None, *, note: str = "",
           payload: dict | None = None, assignment=None, at: datetime | None = None,
           write_now: bool = False, with_rows=()) -> TicketEvent:
    """Append one event for an action on `ticket` (the version is bumped by the action runner).

    `write_now`: `ticket` is new (not yet in the session) and is written at once with this,
    its first event (受理), by `insert_now` instead of at the next flush; the event's
    webhook deliveries are written with them (the outbox's flush hook does that for the
    others). `with_rows`: more new rows written with them, as (row, its column that
    refers to the ticket) pairs (hotline.intake.operations.record_ticket)."""
    at = at or clock_now()
    ticket.updated_at = at
    payload = dict(payload or {})
    if ticket.state is TicketState.CLOSED and from_state is not TicketState.CLOSED and ticket.closure is not None:
        # the closure as it was made: reports count closings as of any moment from here
        payload.setdefault("closure", ticket.closure.value)
    values = dict(
        assignment_id=assignment.id if assignment is not None else None,
        actor_id=actor.id if actor is not None else None,
        actor_unit_id=actor.unit_id if actor is not None else None,
        at=at, action=action, from_state=from_state, to_state=ticket.state,
        note=note or "", payload=payload,
    )
    if write_now:
        event = TicketEvent(**values)
        insert_now(ticket, then=[(event, "ticket_id"), *with_rows])
        set_committed_value(event, "ticket", ticket)
        set_committed_value(event, "actor", actor)
        set_committed_value(ticket, "events", [event])
        outbox.enqueue([event.id])
        return event
    event = TicketEvent(ticket=ticket, **values)
    db.session.add(event)
    return event


def bump_version(ticket: Ticket) -> None:
    """Once per action: a persistent ticket's version goes up by one."""
    if sa.inspect(ticket).persistent:
        ticket.version += 1


def json_literal(value: dict):
    """A JSON payload as a SQL literal for set-based inserts."""
    text = json.dumps(value, ensure_ascii=False)
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.literal(text), postgresql.JSONB)
    return sa.literal(text)


def insert_from_select(select: sa.Select) -> None:
    """Many events at once (the scheduler): `select` yields SET_COLUMNS in order; their
    webhook deliveries are written in the same transaction."""
    stmt = sa.insert(TicketEvent).from_select(list(SET_COLUMNS), select)
    if not outbox.subscriptions():
        db.session.execute(stmt)
        return
    outbox.enqueue(db.session.execute(stmt.returning(TicketEvent.id)).scalars().all())
