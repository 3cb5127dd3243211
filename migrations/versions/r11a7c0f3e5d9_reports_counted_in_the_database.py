"""reports counted in the database: indexes for the report families

The versions by role and dispatch time (dispatched in a period), the closing events and
the reopens by time (partial), the tickets answered on the call (partial), the unreasonable 不满意 by time (partial); on PostgreSQL,
statistics on the day of a ticket's creation, so the dashboard's per-day counts are
hashed with the per-category and per-district ones in one scan instead of sorted.

Revision ID: r11a7c0f3e5d9
Revises: a7d1e5c0f3b2
Create Date: 2026-11-30 23:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "r11a7c0f3e5d9"
down_revision = "a7d1e5c0f3b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_assignment_versions_dispatched", "assignment_versions", ["role", "dispatched_at"])
    op.create_index("ix_ticket_events_closing_at", "ticket_events", ["at"],
                    postgresql_where=sa.text("to_state = 'closed'"), sqlite_where=sa.text("to_state = 'closed'"))
    op.create_index("ix_ticket_events_reopen_at", "ticket_events", ["at"],
                    postgresql_where=sa.text("action = 'reopen'"), sqlite_where=sa.text("action = 'reopen'"))
    op.create_index("ix_ticket_events_answer", "ticket_events", ["ticket_id", "at"],
                    postgresql_where=sa.text("action = 'answer'"), sqlite_where=sa.text("action = 'answer'"))
    op.create_index("ix_callbacks_unreasonable", "callbacks", ["created_at"],
                    postgresql_where=sa.text("reached IS true AND request_reasonable IS false"),
                    sqlite_where=sa.text("reached IS 1 AND request_reasonable IS 0"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE STATISTICS IF NOT EXISTS st_tickets_created_day ON (CAST(created_at AS DATE)) FROM tickets")
        op.execute("ANALYZE tickets")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_tickets_created_day")
    op.drop_index("ix_callbacks_unreasonable", table_name="callbacks")
    op.drop_index("ix_ticket_events_answer", table_name="ticket_events")
    op.drop_index("ix_ticket_events_reopen_at", table_name="ticket_events")
    op.drop_index("ix_ticket_events_closing_at", table_name="ticket_events")
    op.drop_index("ix_assignment_versions_dispatched", table_name="assignment_versions")
