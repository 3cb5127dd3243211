"""Bearer tokens: created for a user (a person or an integration's account), shown once,
stored as SHA-256 (the token itself is 256 random bits, so a fast hash is enough), with
the time each was last used; the admin lists and revokes them."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import g, request
from sqlalchemy.orm import joinedload

from hotline import refcache
from hotline.api.errors import ApiError
from hotline.api.models import ApiToken
from hotline.auth.models import User
from hotline.clock import now as clock_now
from hotline.extensions import db
from hotline.ops.logs import note_user

PREFIX = "hl_"
#: last_used_at is written at most this often per token (not on every request)
TOUCH_EVERY = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: str, by: User | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token text (shown once). Flushes."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ApiError(422, "VALIDATION", "令牌名称必填，且不超过 100 字", {"name": "必填"})
    text = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, user_id=user.id, token_hash=digest(text), prefix=text[:10], created_at=clock_now(),
                   created_by_id=by.id if by is not None else None)
    db.session.add(row)
    db.session.flush()
    return row, text


def revoke(row: ApiToken, at: datetime | None = None) -> None:
    if row.revoked_at is None:
        row.revoked_at = at or clock_now()
        db.session.flush()


#: The token's id and use, with its user, unit and roles and the reference data's version
#: (built once). The token itself is read as plain columns: the request needs its id and
#: times only, and an ORM token object joined to its user cost more than the statement.
TOKEN_BY_HASH = (sa.select(User, ApiToken.id.label("token_id"), ApiToken.revoked_at, ApiToken.last_used_at,
                           refcache.version_column())
                 .join(ApiToken, ApiToken.user_id == User.id)
                 .where(ApiToken.token_hash == sa.bindparam("token_hash"))
                 .options(joinedload(User.role_rows)))


@dataclass(frozen=True)
class TokenUse:
    """The token a request came with: its id (idempotency keys are per token) and times."""
    id: int
    revoked_at: datetime | None
    last_used_at: datetime | None


def token_user(token: str) -> tuple[TokenUse, User]:
    """The token and its user, or ApiError 401 (unknown, revoked, user deactivated).
    Notes the use (commits that alone). Also Open311's api_key (hotline.open311)."""
    # the token, its user, the user's unit and roles in one query, with the reference
    # data's version (hotline.refcache)
    found = db.session.execute(TOKEN_BY_HASH, {"token_hash": digest(token)}).unique().first()
    if found is not None:
        refcache.note_version(found.reference_version)
    if found is None or found.revoked_at is not None:
        raise ApiError(401, "INVALID_TOKEN", "访问令牌无效或已吊销")
    row = TokenUse(found.token_id, found.revoked_at, found.last_used_at)
    user = found[0]
    if not user.active:
        raise ApiError(401, "INVALID_TOKEN", "令牌所属用户已停用")
    now = clock_now()
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        db.session.commit()
    return row, user


def bearer_token() -> str | None:
    """The token of the request's `Authorization: Bearer …` header, if it has one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def authenticate() -> User:
    """The user of the request's bearer token, or ApiError 401. Sets flask-login's current
    user for this request only (no session, no cookie)."""
    token = bearer_token()
    if token is None:
        raise ApiError(401, "UNAUTHENTICATED", "缺少访问令牌（Authorization: Bearer …）")
    row, user = token_user(token)
    g.api_token = row
    g._login_user = user  # flask-login's current user for this request
    note_user(user)
    return user
