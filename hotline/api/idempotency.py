"""Idempotency keys on create: a client that retries (a timeout, a lost answer) sends the
same `Idempotency-Key` and gets the ticket of its first request, never a second ticket.

A key belongs to one token and remembers the SHA-256 of the request's canonical JSON
(keys sorted, no spaces), the ticket it made and the status it was answered with. The
same key with another body is refused (409 IDEMPOTENCY_CONFLICT).

Races: the key row is written with the new ticket and its event (`key_row`, one
statement on PostgreSQL; hotline.intake.operations.record_ticket's `with_rows`), or, for
a platform's ticket sent again, by one INSERT … ON CONFLICT DO NOTHING RETURNING
(`claim`). On PostgreSQL a concurrent request with the same key waits (on the day's
number, or on the unique index (token_id, key)) until the first commits; then its key
row is refused (IntegrityError) or not inserted; it rolls back its ticket (the day's
number is handed back) and answers with the stored key's ticket (`Used`). A request refused by validation looks the
key up too, so a retry whose first attempt succeeded is answered with its ticket even if
the category has been deactivated since. SQLite runs one write transaction at a time
(BEGIN IMMEDIATE), so there the second simply conflicts.
"""
from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from hotline.api.errors import ApiError
from hotline.api.models import ApiToken, IdempotencyKey
from hotline.clock import now as clock_now
from hotline.extensions import db
from hotline.tickets.models import Ticket

HEADER = "Idempotency-Key"
MAX_KEY = 200


def request_hash(data) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_key(key: str | None) -> str | None:
    key = (key or "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY or not key.isprintable():
        raise ApiError(422, "VALIDATION", f"{HEADER} 应为不超过 {MAX_KEY} 个可见字符",
                       {HEADER: "格式不正确"})
    return key


def stored(token: ApiToken, key: str, digest: str) -> IdempotencyKey | None:
    """The key's earlier answer, if this token used the key before; 409 when the body
    differs from the one the key was first used with."""
    row = db.session.scalars(sa.select(IdempotencyKey).where(IdempotencyKey.token_id == token.id,
                                                             IdempotencyKey.key == key)).first()
    if row is not None and row.request_hash != digest:
        raise ApiError(409, "IDEMPOTENCY_CONFLICT", "该幂等键已用于内容不同的请求，请换一个新的幂等键",
                       {HEADER: "已用于另一请求"})
    return row


class Used(Exception):
    """The key was used before with this body: answer with its ticket and status (the
    create's transaction rolls back)."""

    def __init__(self, number: str, status: int):
        super().__init__(number)
        self.number, self.status = number, status


def replay_if_used(token: ApiToken, key: str, digest: str) -> None:
    """Raise Used (or the 409 of another body) when the key has been used; else nothing."""
    row = stored(token, key, digest)
    if row is not None and row.ticket_id is not None:
        number = db.session.scalar(sa.select(Ticket.number).where(Ticket.id == row.ticket_id))
        raise Used(number, row.status)


def key_row(token, key: str, digest: str, status: int) -> IdempotencyKey:
    """The key's row for a ticket about to be recorded (its ticket_id is set when the
    ticket's row is written; a key already taken refuses the whole insert)."""
    return IdempotencyKey(token_id=token.id, key=key, request_hash=digest, status=status, created_at=clock_now())


def claim(token: ApiToken, key: str, digest: str, ticket_id: int, status: int) -> bool:
    """Store the key with the ticket it made, unless the key is taken (False): one INSERT
    … ON CONFLICT DO NOTHING RETURNING, the create's last statement."""
    row = db.session.execute(CLAIM, dict(token_id=token.id, key=key, request_hash=digest, ticket_id=ticket_id,
                                         status=status, created_at=clock_now())).first()
    return row is not None


#: Text, so it is compiled once (SQLAlchemy does not cache the dialects' ON CONFLICT
#: constructs); the same SQL on PostgreSQL and SQLite.
CLAIM = sa.text("INSERT INTO idempotency_keys (token_id, key, request_hash, ticket_id, status, created_at) "
                "VALUES (:token_id, :key, :request_hash, :ticket_id, :status, :created_at) "
                "ON CONFLICT (token_id, key) DO NOTHING RETURNING id").bindparams(
    sa.bindparam("created_at", type_=sa.DateTime()))
