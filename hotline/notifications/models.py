"""In-app notices (the bell), optionally e-mailed to units."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hotline.enums import NotificationKind, enum_column
from hotline.extensions import db


class Notification(db.Model):
    """An in-app notice to a unit, a user or everyone holding a role; e-mailed optionally."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    role: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"))
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind, length=32))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    read_at: Mapped[datetime | None]
    read_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    emailed_at: Mapped[datetime | None]
    run_token: Mapped[str | None] = mapped_column(sa.String(32), index=True)
