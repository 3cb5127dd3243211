"""Supervision cases (督办单) and the units' weekly progress on them."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.enums import RequestState, SupervisionReason, SupervisionState, enum_column
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
    #: 督办编号 (DB-YYYY-NNNNNN): the number the sheet is known by.
    code: Mapped[str | None] = mapped_column(sa.String(24), unique=True)
    #: 催办 by the centre so far on this case (the second and third raise its level).
    urge_count: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Why the centre opened it, in words (for cases opened by hand).
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    unit: Mapped[Unit] = relationship(lazy="joined")


class SupervisionProgress(db.Model):
    """A unit's weekly progress report (周报进展) on a supervision case."""

    __tablename__ = "supervision_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("supervision_cases.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(sa.Text)


class Instruction(db.Model):
    """领导批示 on a ticket (and its supervision case, when it has one): the unit must
    acknowledge it (批示已阅) before it may reply, hand down or ask for more time."""

    __tablename__ = "instructions"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("supervision_cases.id"), index=True)
    #: The unit that must read it (the lead unit when it was given).
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    author_title: Mapped[str] = mapped_column(sa.String(50), default="")
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    author = relationship("User", foreign_keys=[author_id], lazy="joined")


class SupervisionUrge(db.Model):
    """催办 by the centre on a supervision case, with a note the unit sees."""

    __tablename__ = "supervision_urges"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("supervision_cases.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    number: Mapped[int]
    by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(sa.Text)
    #: The case level after this urging (raised by the second and third).
    level: Mapped[int] = mapped_column(sa.SmallInteger)


class Dispute(db.Model):
    """甄别: a unit disputes a 不满意 (unreasonable or unfair) with evidence; the supervisor
    decides, and an upheld dispute takes the 不满意 out of the unit's figures."""

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    callback_id: Mapped[int | None] = mapped_column(sa.ForeignKey("callbacks.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.Text)
    evidence: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[RequestState] = mapped_column(enum_column(RequestState), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
