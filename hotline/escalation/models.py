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


class Alert(db.Model):
    """A fact the scheduler recorded once: a warning, urge or overdue mark for one deadline.

    The unique key makes every job safe to run twice, late or concurrently: a second
    insert of the same fact does nothing (INSERT ... ON CONFLICT DO NOTHING). A deadline
    that moves (extension, reopen) is a new fact.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(16))  # assignment | ticket | case
    subject_id: Mapped[int]
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    clock: Mapped[str] = mapped_column(sa.String(16))  # sign | handle | callback | progress
    kind: Mapped[str] = mapped_column(sa.String(16))  # warning | urge | overdue
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    run_token: Mapped[str] = mapped_column(sa.String(32), index=True)

    __table_args__ = (sa.UniqueConstraint("subject", "subject_id", "clock", "kind", "due_at", name="uq_alert_fact"),)


class Escalation(db.Model):
    """One step up the supervision chain for an overdue assignment or supervision case."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(16))  # assignment | case
    subject_id: Mapped[int]
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    level: Mapped[int] = mapped_column(sa.SmallInteger)
    from_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    to_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    reason: Mapped[str] = mapped_column(sa.String(32))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    run_token: Mapped[str] = mapped_column(sa.String(32), index=True)

    to_unit: Mapped[Unit | None] = relationship(foreign_keys=[to_unit_id])

    __table_args__ = (sa.UniqueConstraint("subject", "subject_id", "level", "due_at", name="uq_escalation_step"),)


class Notification(db.Model):
    """An in-app notice to a unit, a user or everyone holding a role; e-mailed optionally."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    role: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    read_at: Mapped[datetime | None]
    read_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    emailed_at: Mapped[datetime | None]
    run_token: Mapped[str | None] = mapped_column(sa.String(32), index=True)


class JobRun(db.Model):
    """One run of a scheduled job per due time; the unique key lets only one process run it."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(32))
    due_at: Mapped[datetime]
    holder: Mapped[str] = mapped_column(sa.String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(sa.Text, default="")

    __table_args__ = (sa.UniqueConstraint("job", "due_at", name="uq_job_run_due"),)
