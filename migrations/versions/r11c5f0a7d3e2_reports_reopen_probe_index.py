"""reports: whether (and when first) a ticket was reopened, from a partial index of the
reopen events alone

办结 judges a reopened ticket against the deadline it had before its first reopen, so the
closed family asks, for every ticket closed in the period, for its first reopen. Reopens
are a few in a hundred events: a partial index of them by ticket stays small enough to
be read from memory, where the probe through every event of the ticket read the whole
events index.

Revision ID: r11c5f0a7d3e2
Revises: p14a1c5e7d9b2
Create Date: 2026-12-01 06:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "r11c5f0a7d3e2"
down_revision = "p14a1c5e7d9b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_ticket_events_ticket_reopen", "ticket_events", ["ticket_id", "at"],
                    postgresql_where=sa.text("action = 'reopen'"), sqlite_where=sa.text("action = 'reopen'"))


def downgrade():
    op.drop_index("ix_ticket_events_ticket_reopen", table_name="ticket_events")
