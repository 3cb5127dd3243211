"""Supervision cases (督办单) and the units' weekly progress on them."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.units.models import Unit
from hotline.enums import SupervisionReason, SupervisionState, enum_column
from hotline.extensions import db
from hotline.units.models import Unit


class SupervisionCase(db.Model):
    __tablename__ = "supervision_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    reason: Mapped[SupervisionReason] = mapped_column(enum_column(SupervisionReason))
    state: Mapped[SupervisionState] = mapped_column(enum_column(SupervisionState), index=True)
    #: A SupervisionLevel (1..3); its name is a setting (hotline.supervision.levels).
    level: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    opened_at: Mapped[datetime]
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    due_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    close_note: Mapped[str | None] = mapped_column(sa.Text)
    #: 领导批示: a leader's instruction the unit must read (and acknowledge) first.
    instruction: Mapped[str | None] = mapped_column(sa.Text)
    instruction_at: Mapped[datetime | None]
    instruction_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    instruction_seen_at: Mapped[datetime | None]
    instruction_seen_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship(lazy="joined")


class SupervisionProgress(db.Model):
    """A unit's weekly progress report (周报进展) on a supervision case."""

    __tablename__ = "supervision_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("supervision_cases.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(sa.Text)
