"""pages: the active assignments by ticket, with what the unit scopes and queues ask

Every list a unit sees (its tickets, its queues, its searches) and the dispatcher's
"unit subtree" search keep the tickets that have an active assignment to a set of units:
PostgreSQL joins tickets to assignments in ticket id order, and read each assignment's
row from the heap to check its units (about 300 ms to count a district's first 10 000 at
1M tickets). `ix_assignments_active_ticket` carries the units beside the ticket id, so
that check is read from the index alone. `ix_assignments_open_ticket` does the same for
the open assignments (dispatched, signed: a few percent) with their state and deadlines,
for the assignment queues (待签收, 办理中, 即将超期, 已超期) listed newest first.
IF NOT EXISTS: a large database may get them beforehand, by hand, with CREATE INDEX
CONCURRENTLY under the same names (the 1M benchmark database did).

Revision ID: p14a1c5e7d9b2
Revises: i2c7e4a0b1d3
Create Date: 2026-12-01 05:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "p14a1c5e7d9b2"
down_revision = "i2c7e4a0b1d3"
branch_labels = None
depends_on = None

OPEN = "active AND state IN ('dispatched', 'signed')"


def upgrade():
    op.create_index("ix_assignments_active_ticket", "assignments", ["ticket_id"], if_not_exists=True,
                    postgresql_include=["unit_id", "handler_unit_id"],
                    postgresql_where=sa.text("active"), sqlite_where=sa.text("active"))
    op.create_index("ix_assignments_open_ticket", "assignments", ["ticket_id"], if_not_exists=True,
                    postgresql_include=["state", "unit_id", "handler_unit_id", "sign_due_at", "handle_due_at"],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade():
    op.drop_index("ix_assignments_open_ticket", table_name="assignments")
    op.drop_index("ix_assignments_active_ticket", table_name="assignments")
