"""API tokens and idempotency keys.

A token acts as one user (a person, or an integration's own account such as the CTI
switch or a provincial platform with the roles it needs); only its SHA-256 is stored, and
its first characters so the admin can tell tokens apart. An idempotency key remembers the
request it answered, so a retried create returns the same ticket and never a second one.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.auth.models import User
from hotline.extensions import db

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(sa.ForeignKey("api_tokens.id"))
    key: Mapped[str] = mapped_column(sa.String(200))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"))
    status: Mapped[int] = mapped_column(default=201)
    created_at: Mapped[datetime]

    __table_args__ = (sa.UniqueConstraint("token_id", "key", name="uq_idempotency_keys_token_key"),)
