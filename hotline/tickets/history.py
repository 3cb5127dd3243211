"""The history of every assignment: what its state and deadlines were at any moment.

Reports count as of a moment ("overdue at the end of the week", "signed before its
deadline as it stood then"), and an assignment's row only holds its present. So each
change of the columns a report reads is kept as a version with the interval it held:
[valid_from, valid_to). A version is written whenever an assignment is inserted or one of
`TRACKED` changes, by a flush hook, so no operation has to remember it; `valid_from` is
the clock's now (the action's time), the dispatch time for a new assignment.

The version in force at moment T is the one with valid_from < T <= valid_to (or valid_to
NULL): a change made exactly at T is not yet seen at T, as an event at T belongs to the
period that starts at T.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.clock import now as clock_now
from hotline.enums import AssignmentRole, AssignmentState, enum_column
from hotline.extensions import db
from hotline.tickets.models import Assignment

TRACKED = ("unit", "unit_id", "role", "state", "active", "round", "signed_at", "replied_at", "sign_due_at", "handle_due_at")


class AssignmentVersion(db.Model):
    __tablename__ = "assignment_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"))
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    role: Mapped[AssignmentRole] = mapped_column(enum_column(AssignmentRole))
    state: Mapped[AssignmentState] = mapped_column(enum_column(AssignmentState))
    active: Mapped[bool]
    round: Mapped[int]
    dispatched_at: Mapped[datetime]
    signed_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    sign_due_at: Mapped[datetime]
    handle_due_at: Mapped[datetime]

    __table_args__ = (
        sa.Index("ix_assignment_versions_assignment", "assignment_id", "valid_from"),
        # "open at T" scans only versions that were open and ended after T (or still hold)
        sa.Index("ix_assignment_versions_open", "valid_to", "handle_due_at",
                 postgresql_where=sa.text("state IN ('dispatched', 'signed') AND active"),
                 sqlite_where=sa.text("state IN ('dispatched', 'signed') AND active")),
        # ... and the ones still holding (valid_to NULL) alone: the planner expects millions
        # of those (open state x present version), this index's size tells it a few thousand
        sa.Index("ix_assignment_versions_current_open", "handle_due_at",
                 postgresql_where=sa.text("valid_to IS NULL AND state IN ('dispatched', 'signed') AND active"),
                 sqlite_where=sa.text("valid_to IS NULL AND state IN ('dispatched', 'signed') AND active")),
        # the reports' "dispatched in the period" reads the versions alone (the role and the
        # dispatch time are copied into each)
        sa.Index("ix_assignment_versions_dispatched", "role", "dispatched_at"),
    )


def as_of(version, moment):
    """SQL condition: `version` (the class or an alias) is the one in force at `moment`."""
    return sa.and_(version.valid_from < moment, sa.or_(version.valid_to.is_(None), version.valid_to >= moment))


def as_left(version, moment):
    """SQL condition: `version` is the one in force right after `moment`, with every change
    made at `moment` applied (what an action at `moment` left behind)."""
    return sa.and_(version.valid_from <= moment, sa.or_(version.valid_to.is_(None), version.valid_to > moment))


def _snapshot(a: Assignment, at: datetime) -> dict:
    return {"assignment_id": a.id, "ticket_id": a.ticket_id, "valid_from": at, "valid_to": None,
            "unit_id": a.unit_id, "role": a.role, "state": a.state, "active": bool(a.active), "round": a.round or 1,
            "dispatched_at": a.dispatched_at, "signed_at": a.signed_at, "replied_at": a.replied_at,
            "sign_due_at": a.sign_due_at, "handle_due_at": a.handle_due_at}


def _changed(a: Assignment) -> bool:
    state = sa.inspect(a)
    return any(state.attrs[name].history.has_changes() for name in TRACKED)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context, instances) -> None:
    pending = session.info.setdefault("assignment_versions", {})
    for obj in session.new:
        if isinstance(obj, Assignment):
            pending[id(obj)] = (obj, True)
    for obj in session.dirty:
        if isinstance(obj, Assignment) and _changed(obj) and id(obj) not in pending:
            pending[id(obj)] = (obj, False)


@event.listens_for(Session, "after_flush")
def _write(session: Session, flush_context) -> None:
    pending = session.info.pop("assignment_versions", None)
    if not pending:
        return
    now = clock_now()
    rows = []
    for a, new in pending.values():
        if sa.inspect(a).deleted or a.id is None:
            continue
        rows.append(_snapshot(a, min(a.dispatched_at, now) if new else now))
    if not rows:
        return
    conn = session.connection()
    ids = [r["assignment_id"] for r in rows]
    table = AssignmentVersion.__table__
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        conn.execute(table.update().where(table.c.assignment_id.in_(part), table.c.valid_to.is_(None))
                     .values(valid_to=now))
    conn.execute(table.insert(), rows)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    session.info.pop("assignment_versions", None)
