"""Supervision cases (督办单)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.admin.models import Unit
from hotline.enums import SupervisionReason, SupervisionState, enum_column
from hotline.extensions import db


class SupervisionCase(db.Model):
    __tablename__ = "supervision_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    reason: Mapped[SupervisionReason] = mapped_column(enum_column(SupervisionReason))
    state: Mapped[SupervisionState] = mapped_column(enum_column(SupervisionState), index=True)
    #: 1 unit itself (单位主责), 2 supervising department (处室督导), 3 centre leadership (委级统筹).
    level: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    opened_at: Mapped[datetime]
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    due_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    close_note: Mapped[str | None] = mapped_column(sa.Text)

    unit: Mapped[Unit] = relationship(lazy="joined")
