"""The webhook outbox: a delivery row for every subscription that wants an event, written in
the transaction that writes the event, so a rolled-back action leaves no delivery.

Three paths, one builder (`enqueue`):
- events written by `hotline.lifecycle.events.record()` (the ORM): an `after_flush` hook on
  every session picks up the new TicketEvent rows (their ids are known by then) and writes
  their deliveries through the same connection;
- a new ticket's first event, which `record(write_now=True)` writes at once with the
  ticket outside the unit of work (受理's hot path): it calls `enqueue` with the event's id;
- scheduler notices written set-based (`events.insert_from_select`: 预警, 催办, 超期, 升级 …):
  that writer returns the new ids to `enqueue` when anything is subscribed at all.

A subscription wants an event when its `event_types` list the event's action value (or are
empty: every event) and its `source` is empty or equals the ticket's `external_source`.
The active subscriptions are read once per transaction (`subscriptions()`, from the
per-process reference cache), and not at all by a transaction that records no event.

The payload carries only what may leave the building: the event (id, type, time), the
ticket's number, state, closure and platform reference, the acting unit and the event's
note with the caller's name and phone (and any mobile number) masked. A reply's note is its
internal result, so 办结反馈 and 协办反馈 carry no note; 办结反馈 carries the reply's public
text (公开答复) instead, which may be empty: as on the status page and in Open311, only
text written for the public goes out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from hotline import refcache
from hotline.clock import TZ
from hotline.clock import now as clock_now
from hotline.enums import EventAction
from hotline.extensions import db
from hotline.tickets.models import Reply, Ticket, TicketEvent
from hotline.units.models import Unit
from hotline.webhooks.models import WebhookDelivery, WebhookSubscription

_CACHE_KEY = "hotline_webhook_subscriptions"
CHUNK = 500
MASK = "***"
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


@dataclass(frozen=True)
class Wanted:
    """What one active subscription wants."""
    id: int
    event_types: frozenset | None  # None: every event
    source: str | None  # None: every ticket

    def wants(self, action: str, external_source: str | None) -> bool:
        return ((self.event_types is None or action in self.event_types)
                and (self.source is None or self.source == external_source))


@refcache.part("webhook_subscriptions")
def _active(session: Session) -> list[Wanted]:
    rows = session.connection().execute(
        sa.select(WebhookSubscription.id, WebhookSubscription.event_types, WebhookSubscription.source)
        .where(WebhookSubscription.active.is_(True)).order_by(WebhookSubscription.id)).all()
    return [Wanted(sid, frozenset(types) if types else None, source or None) for sid, types, source in rows]


def subscriptions(session: Session | None = None) -> list[Wanted]:
    """The active subscriptions, once per transaction (from the per-process reference
    cache, hotline.refcache: a changed subscription bumps its version)."""
    session = session or db.session()
    cached = session.info.get(_CACHE_KEY)
    if cached is None:
        cached = session.info[_CACHE_KEY] = _active(session)
    return cached


def forget(session: Session | None = None) -> None:
    """Drop the cached subscriptions (after the admin changed one in this transaction)."""
    (session or db.session()).info.pop(_CACHE_KEY, None)


def _mask(text: str, secrets: tuple) -> str:
    for value in secrets:
        if value:
            text = text.replace(value, MASK)
    return MOBILE.sub(MASK, text)


def _closure(row):
    closure = (row.payload or {}).get("closure")
    if closure is None and row.closure is not None and row.to_state.value == "closed":
        closure = row.closure.value
    return closure


def build_payload(row, public_text: str | None) -> dict:
    """The JSON one event is delivered as (see the module's docstring)."""
    secrets = tuple(v for v in (row.caller_name, row.caller_phone, row.caller_number_raw) if v and len(v) >= 2)
    internal = row.action in (EventAction.REPLY, EventAction.CO_REPLY)  # the note is the unit's result
    payload = {
        "event": {"id": row.id, "type": row.action.value, "label": row.action.label,
                  "at": row.at.replace(tzinfo=TZ).isoformat()},
        "ticket": {"number": row.number, "state": row.to_state.value, "state_label": row.to_state.label,
                   "closure": _closure(row), "external_source": row.external_source,
                   "external_number": row.external_number},
        "unit": {"id": row.unit_id, "code": row.unit_code, "name": row.unit_name} if row.unit_id else None,
        "note": "" if internal else _mask(row.note or "", secrets),
    }
    if row.action is EventAction.REPLY:
        payload["reply"] = {"public_text": _mask(public_text or "", secrets)}
    return payload


def _event_rows(conn, ids):
    return conn.execute(
        sa.select(TicketEvent.id, TicketEvent.ticket_id, TicketEvent.action, TicketEvent.at, TicketEvent.to_state,
                  TicketEvent.note, TicketEvent.payload, Ticket.number, Ticket.closure, Ticket.external_source,
                  Ticket.external_number, Ticket.caller_name, Ticket.caller_phone, Ticket.caller_number_raw,
                  Unit.id.label("unit_id"), Unit.code.label("unit_code"), Unit.name.label("unit_name"))
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .outerjoin(Unit, Unit.id == TicketEvent.actor_unit_id)
        .where(TicketEvent.id.in_(ids)).order_by(TicketEvent.id)).all()


def _public_texts(conn, rows) -> dict:
    """Reply id -> the reply's public text, for the 办结反馈 events among `rows`."""
    reply_ids = [(r.payload or {}).get("reply_id") for r in rows if r.action is EventAction.REPLY]
    reply_ids = [i for i in reply_ids if i]
    if not reply_ids:
        return {}
    return dict(conn.execute(sa.select(Reply.id, Reply.public_text).where(Reply.id.in_(reply_ids))).all())


def enqueue(event_ids, session: Session | None = None) -> int:
    """Write the deliveries of the events `event_ids` (flushed, same transaction); returns
    how many were written."""
    session = session or db.session()
    wanted = subscriptions(session)
    if not wanted or not event_ids:
        return 0
    conn = session.connection()
    now = clock_now()
    written = 0
    ids = list(event_ids)
    for start in range(0, len(ids), CHUNK):
        rows = _event_rows(conn, ids[start:start + CHUNK])
        texts = _public_texts(conn, rows)
        deliveries = []
        for row in rows:
            targets = [w.id for w in wanted if w.wants(row.action.value, row.external_source)]
            if not targets:
                continue
            payload = build_payload(row, texts.get((row.payload or {}).get("reply_id")))
            deliveries += [dict(subscription_id=sid, event_id=row.id, ticket_id=row.ticket_id,
                                event_type=row.action.value, payload=payload, state="pending", attempts=0,
                                next_attempt_at=now, created_at=now) for sid in targets]
        if deliveries:
            conn.execute(sa.insert(WebhookDelivery.__table__), deliveries)
            written += len(deliveries)
    return written


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context) -> None:
    # `session.new` still lists what this flush inserted, now with ids
    ids = [obj.id for obj in session.new if isinstance(obj, TicketEvent)]
    if ids:
        enqueue(sorted(ids), session)


@event.listens_for(Session, "after_transaction_end")
def _end(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction: the next one reads afresh
        session.info.pop(_CACHE_KEY, None)
