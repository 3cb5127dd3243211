"""reports: the assignment versions still open now in a partial index of their own

"Open at T" (the reports' 超期未办结 as of a moment) asks for the open versions that ended
after T or still hold (valid_to IS NULL). The planner multiplies "open state" (about half
of the versions) by "valid_to IS NULL" (every assignment's present version, about a
quarter) and expects millions of current open versions where a few thousand exist (a
closed ticket's present version is done): at 10 000 000 tickets it scanned all 38 M
versions (3.3 s of the weekly report). A partial index of exactly the current open
versions is as small as they are, and its size bounds the planner's cost of reading it:
the condition becomes a BitmapOr of it and ix_assignment_versions_open (38 ms).

Revision ID: k10a3f6c8d21
Revises: r11c5f0a7d3e2
Create Date: 2026-12-01 06:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "k10a3f6c8d21"
down_revision = "r11c5f0a7d3e2"
branch_labels = None
depends_on = None

WHERE = "valid_to IS NULL AND state IN ('dispatched', 'signed') AND active"


def upgrade():
    op.create_index("ix_assignment_versions_current_open", "assignment_versions", ["handle_due_at"],
                    postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))


def downgrade():
    op.drop_index("ix_assignment_versions_current_open", table_name="assignment_versions")
