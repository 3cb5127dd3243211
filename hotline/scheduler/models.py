"""What the scheduler records: alert facts, escalation steps and job runs, each under a
unique key so every job is safe to run twice, late or in two processes."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.enums import AlertClock, AlertKind, AlertSubject, EscalationReason, enum_column
from hotline.extensions import db
from hotline.units.models import Unit


class Alert(db.Model):
    """A fact the scheduler recorded once: a warning, urge or overdue mark for one deadline.

    The unique key makes every job safe to run twice, late or concurrently: a second
    insert of the same fact does nothing (INSERT ... ON CONFLICT DO NOTHING). A deadline
    that moves (extension, reopen) is a new fact.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[AlertSubject] = mapped_column(enum_column(AlertSubject))
    subject_id: Mapped[int]
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    clock: Mapped[AlertClock] = mapped_column(enum_column(AlertClock))
    kind: Mapped[AlertKind] = mapped_column(enum_column(AlertKind))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    run_token: Mapped[str] = mapped_column(sa.String(32), index=True)

    __table_args__ = (sa.UniqueConstraint("subject", "subject_id", "clock", "kind", "due_at", name="uq_alert_fact"),)


class Escalation(db.Model):
    """One step up the supervision chain for an overdue assignment or supervision case."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[AlertSubject] = mapped_column(enum_column(AlertSubject))
    subject_id: Mapped[int]
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    level: Mapped[int] = mapped_column(sa.SmallInteger)
    from_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    to_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    reason: Mapped[EscalationReason] = mapped_column(enum_column(EscalationReason, length=32))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    run_token: Mapped[str] = mapped_column(sa.String(32), index=True)

    to_unit: Mapped[Unit | None] = relationship(foreign_keys=[to_unit_id])

    __table_args__ = (sa.UniqueConstraint("subject", "subject_id", "level", "due_at", name="uq_escalation_step"),)


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
