"""dashboard: covering index of tickets by period

The dashboard counts tickets of a period per day, request type, channel, category and
district; with every column it reads in one index, PostgreSQL and SQLite answer those
GROUP BYs from the index alone instead of reading the wide ticket rows (bench/reports_1m.py:
30-day dashboard on 1 000 000 tickets 0.49 s -> 0.15 s of queries on PostgreSQL).

Revision ID: 6f47c693dfc4
Revises: 935159979f19
Create Date: 2026-11-26 03:42:18.363983

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '6f47c693dfc4'
down_revision = '935159979f19'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_dashboard',
                              ['created_at', 'request_type', 'channel', 'category_id', 'district_id', 'id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_dashboard')
