"""Read side of callbacks: the agents' queue, and the citizen's public status lookup."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from hotline.callbacks.models import Callback, StatusLookup
from hotline.clock import now as clock_now
from hotline.enums import TicketState
from hotline.extensions import db
from hotline.intake.cases import QUERY_CODE_LENGTH
from hotline.tickets.models import Reply, Ticket

LOOKUP_WINDOW = timedelta(minutes=10)
LOOKUP_LIMIT = 10  # failed lookups per client address per window


def callback_queue():
    """Tickets reviewed and waiting for callback, oldest deadline first."""
    return (sa.select(Ticket).where(Ticket.state == TicketState.REVIEWED)
            .options(joinedload(Ticket.lead_unit)).order_by(Ticket.callback_due_at, Ticket.id))


def queue_details(tickets: list[Ticket]) -> tuple[dict, dict]:
    """The lead unit's latest reply and the callback attempts, for a page of the queue."""
    ids = [t.id for t in tickets]
    if not ids:
        return {}, {}
    replies = {}
    for r in db.session.scalars(sa.select(Reply).where(Reply.ticket_id.in_(ids)).order_by(Reply.id)):
        if r.unit_id == next((t.lead_unit_id for t in tickets if t.id == r.ticket_id), None):
            replies[r.ticket_id] = r
    attempts = dict(db.session.execute(
        sa.select(Callback.ticket_id, sa.func.count()).join(Ticket, Ticket.id == Callback.ticket_id)
        .where(Callback.ticket_id.in_(ids), Callback.reached.is_(False), Callback.round == Ticket.reopen_count)
        .group_by(Callback.ticket_id)).all())
    return replies, attempts


@dataclass
class PublicStatus:
    number: str
    state: str
    received: datetime
    closed: datetime | None
    category: str
    reply: str | None


def rate_limited(client: str, number: str = "") -> bool:
    """Too many failed lookups from this client address, or for this ticket number (which
    stops guessing one number's last four digits from many addresses)."""
    since = clock_now() - LOOKUP_WINDOW
    failed = sa.select(sa.func.count()).select_from(StatusLookup).where(
        StatusLookup.at >= since, StatusLookup.found.is_(False))
    if db.session.scalar(failed.where(StatusLookup.client == client)) >= LOOKUP_LIMIT:
        return True
    number = (number or "").strip()[:24]
    return bool(number) and db.session.scalar(failed.where(StatusLookup.number == number)) >= LOOKUP_LIMIT


def _matches(ticket: Ticket | None, secret: str) -> bool:
    """The phone's last 4 digits, or the anonymous ticket's query code (constant-time)."""
    if ticket is None:
        return False
    if len(secret) == 4 and secret.isdigit():
        phone = ticket.caller_phone or ""
        return len(phone) >= 4 and hmac.compare_digest(phone[-4:], secret)
    if len(secret) == QUERY_CODE_LENGTH and secret.isascii() and secret.isalnum():
        code = ticket.query_code or ""
        return bool(code) and hmac.compare_digest(code.encode(), secret.upper().encode())
    return False


def lookup_status(number: str, phone_tail: str, client: str) -> PublicStatus | None:
    """The public view of a ticket, or None. `phone_tail` is the phone's last 4 digits or
    the query code (查询码) of an anonymous request. A wrong number and a wrong secret give
    the same None (no enumeration); every attempt is recorded for the rate limit (flushed;
    the page commits it)."""
    number, phone_tail = (number or "").strip(), (phone_tail or "").strip()
    ticket = db.session.scalars(sa.select(Ticket).where(Ticket.number == number)).first() if number else None
    ok = _matches(ticket, phone_tail)
    db.session.add(StatusLookup(client=client[:64], number=number[:24], at=clock_now(), found=ok))
    db.session.flush()
    if not ok:
        return None
    # Only text written for the public: the operator's direct answer or the unit's 公开答复.
    text = ticket.direct_answer or public_replies([ticket.id]).get(ticket.id)
    top_category = ticket.category.full_name.split(" › ")[0]
    return PublicStatus(ticket.number, _public_state(ticket), ticket.created_at, ticket.closed_at, top_category, text)


def public_replies(ticket_ids) -> dict[int, str]:
    """The 公开答复 per ticket: the public text of the last reply the centre accepted
    (only the lead unit's replies are reviewed); tickets whose last accepted reply has
    none are left out. Also Open311's status_notes (hotline.open311)."""
    latest: dict[int, str] = {}
    if ticket_ids:
        rows = db.session.execute(sa.select(Reply.ticket_id, Reply.public_text).where(
            Reply.ticket_id.in_(list(ticket_ids)), Reply.review_ok.is_(True)).order_by(Reply.id))
        for ticket_id, text in rows:
            latest[ticket_id] = text
    return {tid: text for tid, text in latest.items() if text}


def _public_state(ticket: Ticket) -> str:
    if ticket.state is TicketState.CLOSED:
        return "已办结"
    if ticket.state in (TicketState.PENDING_DISPATCH, TicketState.SENT_BACK, TicketState.RETURNED):
        return "已受理，正在转办"
    if ticket.state in (TicketState.REVIEWED,):
        return "已答复，等待回访"
    return "办理中"
