"""reports: the things that happened in a period found by the time they happened

Replies, returns, extension requests and supervision cases (opened, closed) get an index
on their time, so a report reads a period's rows instead of scanning the whole table; the
lead assignments that missed their handle deadline (the dashboard's 超期趋势 and its
drill-down) a partial index by deadline; a ticket's lead unit at a moment (办结 and 回访
are attributed to it) is read from a partial index of the lead versions alone.

Revision ID: r11b4e8d2c6f1
Revises: c3f9a1e5b2d7
Create Date: 2026-12-01 02:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "r11b4e8d2c6f1"
down_revision = "c3f9a1e5b2d7"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_replies_created_at", "replies", "created_at"),
    ("ix_ticket_returns_returned_at", "ticket_returns", "returned_at"),
    ("ix_extension_requests_requested_at", "extension_requests", "requested_at"),
    ("ix_supervision_cases_opened_at", "supervision_cases", "opened_at"),
    ("ix_supervision_cases_closed_at", "supervision_cases", "closed_at"),
]


MISSED_HANDLE = ("role = 'lead' AND active IS {true} AND (state IN ('dispatched', 'signed') "
                 "OR replied_at > handle_due_at)")


def upgrade():
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])
    op.create_index("ix_assignments_missed_handle", "assignments", ["handle_due_at"],
                    postgresql_include=["ticket_id"],
                    postgresql_where=sa.text(MISSED_HANDLE.format(true="true")),
                    sqlite_where=sa.text(MISSED_HANDLE.format(true="1")))
    op.create_index("ix_assignment_versions_lead_at", "assignment_versions", ["ticket_id", "valid_from"],
                    postgresql_include=["valid_to", "unit_id", "assignment_id", "replied_at", "handle_due_at"],
                    postgresql_where=sa.text("role = 'lead' AND active IS true"),
                    sqlite_where=sa.text("role = 'lead' AND active IS 1"))


def downgrade():
    op.drop_index("ix_assignment_versions_lead_at", table_name="assignment_versions")
    op.drop_index("ix_assignments_missed_handle", table_name="assignments")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
