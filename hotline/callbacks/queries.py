"""Read side of callbacks: the agents' queue, and the citizen's public status lookup."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from hotline.callbacks.models import Callback, StatusLookup
from hotline.clock import now as clock_now
from hotline.enums import TicketState
from hotline.extensions import db
from hotline.intake.cases import QUERY_CODE_LENGTH
from hotline.tickets.models import Reply, Ticket


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


class Throttle(NamedTuple):
    message: str
    retry_after: int  # seconds


def rate_limited(client: str, number: str = "") -> Throttle | None:
    """Whether this look-up must wait, and how long. Never a lock-out of the rightful
    citizen by others: failures are counted
    - per address (one address guessing across many numbers: refused for the window),
    - per number and address (one address guessing one number's digits: refused for the window),
    - per number only once failures come from several addresses (a distributed guess), and
      then as a back-off (each further try on that number waits 10 s, 20 s, 40 s … up to
      5 min after the last failure), not a lock: the citizen gets through after the wait.
    The limits are settings (STATUS_* in config)."""
    cfg = current_app.config
    window = timedelta(seconds=cfg["STATUS_WINDOW_SECONDS"])
    now = clock_now()
    since = now - window
    failed = sa.select(sa.func.count()).select_from(StatusLookup).where(
        StatusLookup.at >= since, StatusLookup.found.is_(False))
    too_many = "查询过于频繁，请 {} 分钟后再试".format(max(1, int(window.total_seconds()) // 60))
    if db.session.scalar(failed.where(StatusLookup.client == client)) >= cfg["STATUS_FAILURES_PER_ADDRESS"]:
        return Throttle(too_many, int(window.total_seconds()))
    number = (number or "").strip()[:24]
    if not number:
        return None
    on_number = sa.and_(StatusLookup.number == number, StatusLookup.at >= since, StatusLookup.found.is_(False))
    if db.session.scalar(failed.where(StatusLookup.number == number, StatusLookup.client == client)) \
            >= cfg["STATUS_FAILURES_PER_NUMBER_AND_ADDRESS"]:
        return Throttle(too_many, int(window.total_seconds()))
    addresses, last = db.session.execute(sa.select(
        sa.func.count(sa.distinct(StatusLookup.client)), sa.func.max(StatusLookup.at)).where(on_number)).one()
    free = cfg["STATUS_NUMBER_ADDRESSES_BEFORE_BACKOFF"]
    if addresses >= free and last is not None:
        wait = min(300, 10 * 2 ** min(addresses - free, 5))
        left = int((last + timedelta(seconds=wait) - now).total_seconds() + 0.999)
        if left > 0:
            return Throttle(f"该工单编号近期查询失败较多，为保护信息安全，请 {left} 秒后再试", left)
    return None


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
