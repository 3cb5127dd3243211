"""The audit trail: who did what, from where, when, to what; append-only (no update or
delete through the ORM; on PostgreSQL a trigger refuses them too, except the retention
purge, which sets `hotline.audit_purge` for its own transaction)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hotline.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    #: login, login_failed, login_locked, logout, password_changed, refused, download,
    #: report_generated, admin_create, admin_update, admin_delete, audit_purge …
    action: Mapped[str] = mapped_column(sa.String(40), index=True)
    user_id: Mapped[int | None] = mapped_column()
    username: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    address: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    object_type: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    object_id: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    path: Mapped[str] = mapped_column(sa.String(255), default="", server_default="")
    #: For changes: {"field": [old, new], …}; otherwise what else is worth keeping.
    detail: Mapped[dict | None] = mapped_column(sa.JSON)
