"""A unit's applications about its ticket: 挂起 (stop the clocks for a while) and 申请终止
(the ticket cannot be handled), each decided by the centre."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hotline.enums import RequestState, TicketState, enum_column
from hotline.extensions import db


class Suspension(db.Model):
    """挂起: asked by the unit with a reason and an expected date, approved by the
    dispatcher; while it runs every clock of the ticket stands still, and on resumption
    the open deadlines move by the working time it lasted."""

    __tablename__ = "suspensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignments.id"))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.Text)
    expected_resume_on: Mapped[date | None] = mapped_column(sa.Date)
    state: Mapped[RequestState] = mapped_column(enum_column(RequestState), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    #: The state the ticket resumes in.
    prior_state: Mapped[TicketState | None] = mapped_column(enum_column(TicketState))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: Working minutes the clocks stood still (the deadlines moved by this much).
    working_minutes: Mapped[int | None]


class Termination(db.Model):
    """申请终止: the unit asks to end a ticket that cannot be handled; the centre decides."""

    __tablename__ = "terminations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignments.id"))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[RequestState] = mapped_column(enum_column(RequestState), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
