"""reports as of any moment: assignment versions, report snapshots with revisions, the
closure recorded with each closing event

Assignment versions keep what a report reads of an assignment (state, active, unit,
role, signed/replied times and both deadlines) with the interval each held. Existing
assignments get their history rebuilt from what the rows still tell: dispatched at
dispatch (deadline: the first extension's old deadline, when there was one), signed at
signing, replied at the reply, and the present row from the time it last changed.
Weekly snapshots move into report_snapshots as revision 1 (marked legacy: they hold
no ids). Closing events get the closure of their ticket in their payload.

Revision ID: d41f7a2c9e18
Revises: c8529b68ca0c
Create Date: 2026-11-30 20:20:00
"""
import json

from alembic import op
import sqlalchemy as sa


revision = "d41f7a2c9e18"
down_revision = "c8529b68ca0c"
branch_labels = None
depends_on = None

ROLES = ("lead", "co")
STATES = ("dispatched", "signed", "returned", "replied", "cancelled", "done")
BATCH = 2000


def _json():
    return sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _versions(a, extension_old_due, returned_at, closed_at):
    """The versions an assignment row still tells of, oldest first."""
    first_due = extension_old_due or a.handle_due_at
    base = {"assignment_id": a.id, "ticket_id": a.ticket_id, "unit_id": a.unit_id, "role": a.role,
            "active": True, "round": a.round or 1, "dispatched_at": a.dispatched_at, "signed_at": None,
            "replied_at": None, "sign_due_at": a.sign_due_at, "handle_due_at": first_due}
    steps = [(a.dispatched_at, {**base, "state": "dispatched"})]
    if a.signed_at is not None and a.signed_at >= a.dispatched_at:
        steps.append((a.signed_at, {**base, "state": "signed", "signed_at": a.signed_at,
                                    "handle_due_at": a.handle_due_at}))
    if a.replied_at is not None and a.replied_at >= steps[-1][0]:
        steps.append((a.replied_at, {**steps[-1][1], "state": "replied", "replied_at": a.replied_at,
                                     "handle_due_at": a.handle_due_at}))
    present = {**base, "state": a.state, "active": bool(a.active), "signed_at": a.signed_at,
               "replied_at": a.replied_at, "handle_due_at": a.handle_due_at}
    if present != steps[-1][1]:
        at = {"returned": returned_at, "done": closed_at}.get(a.state) or a.updated_at or steps[-1][0]
        steps.append((max(at, steps[-1][0]), present))
    rows = []
    for i, (at, values) in enumerate(steps):
        nxt = steps[i + 1][0] if i + 1 < len(steps) else None
        rows.append({**values, "valid_from": at, "valid_to": nxt})
    return rows


def _backfill_versions(bind) -> None:
    m = sa.MetaData()
    a = sa.Table("assignments", m, autoload_with=bind)
    t = sa.Table("tickets", m, autoload_with=bind)
    x = sa.Table("extension_requests", m, autoload_with=bind)
    r = sa.Table("ticket_returns", m, autoload_with=bind)
    v = sa.Table("assignment_versions", m, autoload_with=bind)
    last_id = 0
    while True:
        batch = bind.execute(sa.select(a, t.c.updated_at, t.c.closed_at).join(t, t.c.id == a.c.ticket_id)
                             .where(a.c.id > last_id).order_by(a.c.id).limit(BATCH)).all()
        if not batch:
            return
        ids = [row.id for row in batch]
        old_due = dict(bind.execute(sa.select(x.c.assignment_id, sa.func.min(x.c.old_due_at))
                                    .where(x.c.assignment_id.in_(ids), x.c.state == "approved")
                                    .group_by(x.c.assignment_id)).all())
        returned = dict(bind.execute(sa.select(r.c.assignment_id, sa.func.max(r.c.returned_at))
                                     .where(r.c.assignment_id.in_(ids)).group_by(r.c.assignment_id)).all())
        rows = []
        for row in batch:
            rows.extend(_versions(row, old_due.get(row.id), returned.get(row.id), row.closed_at))
        bind.execute(v.insert(), rows)
        last_id = ids[-1]


def _backfill_closures(bind) -> None:
    m = sa.MetaData()
    e = sa.Table("ticket_events", m, sa.Column("id", sa.Integer, primary_key=True), sa.Column("ticket_id", sa.Integer),
                 sa.Column("from_state", sa.String), sa.Column("to_state", sa.String), sa.Column("payload", _json()))
    t = sa.Table("tickets", m, sa.Column("id", sa.Integer, primary_key=True), sa.Column("closure", sa.String))
    last_id = 0
    while True:
        batch = bind.execute(sa.select(e.c.id, e.c.payload, t.c.closure).join(t, t.c.id == e.c.ticket_id)
                             .where(e.c.to_state == "closed", sa.or_(e.c.from_state.is_(None), e.c.from_state != "closed"),
                                    e.c.id > last_id, t.c.closure.is_not(None))
                             .order_by(e.c.id).limit(BATCH)).all()
        if not batch:
            return
        for row in batch:
            payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload or "{}")
            if "closure" not in payload:
                payload["closure"] = row.closure
                bind.execute(e.update().where(e.c.id == row.id).values(payload=payload))
        last_id = batch[-1].id


def _move_weekly(bind) -> None:
    m = sa.MetaData()
    w = sa.Table("weekly_reports", m, autoload_with=bind)
    s = sa.Table("report_snapshots", m, autoload_with=bind)
    for row in bind.execute(sa.select(w)).all():
        data = row.data if isinstance(row.data, dict) else json.loads(row.data)
        data["legacy"] = True
        bind.execute(s.insert().values(kind="weekly", period=row.week, revision=1, start=row.start, end=row.end,
                                       as_of=row.as_of, generated_at=row.generated_at, generated_by_id=None,
                                       reason="升级前生成（无下钻明细）", data=data))


def upgrade():
    op.create_table(
        "assignment_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.Enum(*ROLES, name="assignmentrole", native_enum=False, create_constraint=False, length=16),
                  nullable=False),
        sa.Column("state", sa.Enum(*STATES, name="assignmentstate", native_enum=False, create_constraint=False,
                                   length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.Column("sign_due_at", sa.DateTime(), nullable=False),
        sa.Column("handle_due_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"],
                                name=op.f("fk_assignment_versions_assignment_id_assignments")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_assignment_versions_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_assignment_versions_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_versions")),
    )
    op.create_index("ix_assignment_versions_ticket_id", "assignment_versions", ["ticket_id"])
    op.create_index("ix_assignment_versions_assignment", "assignment_versions", ["assignment_id", "valid_from"])
    op.create_index("ix_assignment_versions_open", "assignment_versions", ["valid_to", "handle_due_at"],
                    postgresql_where=sa.text("state IN ('dispatched', 'signed') AND active"),
                    sqlite_where=sa.text("state IN ('dispatched', 'signed') AND active"))
    op.create_table(
        "report_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("generated_at", sa.DateTime(), nullable=False),
        sa.Column("generated_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.ForeignKeyConstraint(["generated_by_id"], ["users.id"], name=op.f("fk_report_snapshots_generated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshots")),
        sa.UniqueConstraint("kind", "period", "revision", name="uq_report_snapshots_revision"),
    )
    op.create_index("ix_ticket_events_ticket_action_at", "ticket_events", ["ticket_id", "action", "at"])
    op.create_index("ix_assignments_dispatched", "assignments", ["dispatched_at", "role"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.create_check_constraint("ck_assignment_versions_role", "assignment_versions",
                                   "role IS NULL OR role IN ('lead', 'co')")
        op.create_check_constraint("ck_assignment_versions_state", "assignment_versions",
                                   "state IS NULL OR state IN (" + ", ".join(f"'{s}'" for s in STATES) + ")")
        op.create_check_constraint("ck_report_snapshots_kind", "report_snapshots", "kind IN ('weekly', 'monthly')")
    _backfill_versions(bind)
    _backfill_closures(bind)
    _move_weekly(bind)
    op.drop_table("weekly_reports")


def downgrade():
    op.create_table(
        "weekly_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("generated_at", sa.DateTime(), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weekly_reports")),
        sa.UniqueConstraint("week", name=op.f("uq_weekly_reports_week")),
    )
    bind = op.get_bind()
    m = sa.MetaData()
    s = sa.Table("report_snapshots", m, autoload_with=bind)
    w = sa.Table("weekly_reports", m, autoload_with=bind)
    latest = {}
    for row in bind.execute(sa.select(s).where(s.c.kind == "weekly").order_by(s.c.revision)).all():
        latest[row.period] = row
    for row in latest.values():
        bind.execute(w.insert().values(week=row.period, start=row.start, end=row.end, as_of=row.as_of,
                                       generated_at=row.generated_at, data=row.data))
    op.drop_table("report_snapshots")
    op.drop_index("ix_assignments_dispatched", table_name="assignments")
    op.drop_index("ix_ticket_events_ticket_action_at", table_name="ticket_events")
    op.drop_index("ix_assignment_versions_open", table_name="assignment_versions")
    op.drop_index("ix_assignment_versions_assignment", table_name="assignment_versions")
    op.drop_index("ix_assignment_versions_ticket_id", table_name="assignment_versions")
    op.drop_table("assignment_versions")
