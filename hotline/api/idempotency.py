"""Idempotency keys on create: a client that retries (a timeout, a lost answer) sends the
same `Idempotency-Key` and gets the ticket of its first request, never a second ticket.

A key belongs to one token and remembers the SHA-256 of the request's canonical JSON
(keys sorted, no spaces), the ticket it made and the status it was answered with. The
same key with another body is refused (409 IDEMPOTENCY_CONFLICT).

Races: the key row is inserted (and flushed) first in the create's transaction, so on
PostgreSQL a concurrent request with the same key waits on the unique index
(token_id, key) until the first commits, then fails with IntegrityError; the route then
runs once more in a fresh transaction and finds the stored key. SQLite runs one write
transaction at a time (BEGIN IMMEDIATE), so there the second simply finds it.
"""
from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from hotline.api.errors import ApiError
from hotline.api.models import ApiToken, IdempotencyKey
from hotline.clock import now as clock_now
from hotline.extensions import db

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


def claim(token: ApiToken, key: str, digest: str) -> IdempotencyKey:
    """Take the key for this request (flushed at once, so a concurrent request with the
    same key waits on it); the caller sets the ticket and status before committing."""
    row = IdempotencyKey(token_id=token.id, key=key, request_hash=digest, created_at=clock_now())
    db.session.add(row)
    db.session.flush()
    return row
