"""`POST /api/v1/tickets` (受理 through the API: CTI, other channels, platforms' hand-overs)
and `GET /api/v1/tickets` (the search page's list, a cursor at a time)."""
from __future__ import annotations

import base64
import binascii

import sqlalchemy as sa
from flask import g, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from hotline import refcache
from hotline.api import idempotency, serialize
from hotline.api.errors import ApiError
from hotline.api.schemas import TicketCreate, TicketListQuery, TicketOut, TicketPage
from hotline.api.spec import api_route, json_body
from hotline.api.views import bp, ticket_json
from hotline.errors import DomainError
from hotline.extensions import db
from hotline.intake.drafts import TICKET_FIELDS
from hotline.intake.origin import receive
from hotline.lifecycle.uow import unit_of_work
from hotline.tickets.models import Ticket
from hotline.tickets.queries import search_tickets

#: The body's fields that say where the ticket came from (hotline.intake.origin).
ORIGIN = {"call_id", "caller_number", "agent", "recording_ref", "external_source", "external_number",
          "external_due_at"}


@api_route(bp, "/tickets", "POST", summary="受理登记", body=TicketCreate, response=TicketOut, status=201,
           errors=(403, 409), headers={idempotency.HEADER: "幂等键：重试时带同一个键和同样的请求体，返回同一张工单"})
def create_ticket(body: TicketCreate):
    """Records a request as the intake page does (the same validation; 直接答复 with
    `answer`; auto-dispatch when a certain routing rule matches and it is switched on).
    Roles: 话务员 or 派单员 (a CTI switch's or a platform's account has one).

    Idempotent: with `Idempotency-Key` a retry with the same body returns the same ticket
    with the first answer's status (header `Idempotent-Replayed: true`); the same key
    with another body is 409 IDEMPOTENCY_CONFLICT. Keys are per token.

    上级转办: `external_source` + `external_number` make one ticket; sending them again
    returns that ticket with 200 (nothing changes). `external_due_at` binds the handle
    deadline at dispatch when it is earlier than the hotline's own."""
    user = current_user._get_current_object()
    key = idempotency.check_key(request.headers.get(idempotency.HEADER))
    digest = idempotency.request_hash(json_body()) if key else None
    draft = body.model_dump(include=set(TICKET_FIELDS))
    origin = body.model_dump(include=ORIGIN)
    for attempt in (1, 2):  # a lost race on a unique key: the second pass finds the winner's row
        try:
            with unit_of_work(keep_loaded=True):
                ticket, status = _create(user, key, digest, draft, origin, body.answer)
                snapshot = refcache.current()  # the reference data this transaction saw
            break
        except idempotency.Used as used:  # the key's first request was answered: its answer again
            return _replayed(used)
        except IntegrityError:
            if key:  # the key's row was refused: a request with the same key was recorded first
                try:
                    idempotency.replay_if_used(g.api_token, key, digest)
                except idempotency.Used as used:
                    return _replayed(used)
            if attempt == 2:
                raise
    # The answer: the ticket as written, from the session (kept loaded through the commit,
    # nothing read back) and the reference data the transaction saw; built after the
    # commit, so the day's number is not held locked meanwhile (every intake waits on it).
    with refcache.carried(snapshot):
        out = serialize.ticket(ticket, user)
    resp = jsonify(out)
    resp.status_code = status
    resp.headers["ETag"] = f'"{out["version"]}"'
    resp.headers["Location"] = url_for("api.get_ticket", number=ticket.number)
    return resp


def _replayed(used: idempotency.Used):
    resp = ticket_json(used.number, used.status)
    resp.headers["Location"] = url_for("api.get_ticket", number=used.number)
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _create(user, key, digest, draft, origin, answer) -> tuple[Ticket, int]:
    """(the ticket, status). With a key: a key already used is found only when the create
    cannot go on (refused, or its key row conflicts), so the common path spends nothing
    on it but its row, written with the new ticket and its event (one statement on
    PostgreSQL); idempotency.Used rolls back and replays. A platform's ticket sent again
    (not created) claims the key by its own INSERT (idempotency.claim)."""
    token = g.api_token
    rows = [(idempotency.key_row(token, key, digest, 201), "ticket_id")] if key else []
    try:
        ticket, created = receive(user, draft, origin, answer=answer, with_rows=rows)
    except DomainError:
        if key:
            idempotency.replay_if_used(token, key, digest)  # a retry whose world has changed since
        raise
    status = 201 if created else 200
    if key and not created and not idempotency.claim(token, key, digest, ticket.id, status):
        idempotency.replay_if_used(token, key, digest)
        raise RuntimeError("idempotency key conflict without a stored key")  # unreachable
    return ticket, status


# --- the list -------------------------------------------------------------------------------
def _cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"t{last_id}".encode()).decode().rstrip("=")


def _after(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text[:1] == "t" and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(422, "VALIDATION", "游标无效，请从第一页重新获取", {"cursor": "无效"})


@api_route(bp, "/tickets", "GET", summary="工单列表", query=TicketListQuery, response=TicketPage)
def list_tickets(query: TicketListQuery):
    """The search page's filters and visibility (a unit's token sees its own tickets), newest
    first by id. Pages by an opaque cursor: pass `next_cursor` back as `cursor`; `total` is
    the number of tickets matching the filters."""
    user = current_user._get_current_object()
    filters = query.model_dump(exclude={"limit", "cursor"})
    stmt = search_tickets(user, **filters).order_by(None)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    after = _after(query.cursor)
    if after is not None:
        stmt = stmt.where(Ticket.id < after)
    rows = db.session.scalars(stmt.order_by(Ticket.id.desc()).limit(query.limit + 1)).unique().all()
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    return {"items": [serialize.summary(t) for t in rows],
            "next_cursor": _cursor(rows[-1].id) if more else None, "total": total}
