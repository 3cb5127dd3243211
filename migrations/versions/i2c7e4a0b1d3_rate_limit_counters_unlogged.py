"""rate-limit counters unlogged on PostgreSQL

`rate_limit_hits` holds fixed-window request counts (a minute each). Written on every API
and Open311 request in its own autocommitted statement, a logged table made each request
wait for a second WAL flush beside its own transaction's. Unlogged, the count's commit
waits for no flush; what it gives up is the counts of the current windows after a crash
of the database server (the table comes back empty), which only lets a client start a
fresh window early once. Not replicated either: the limits are counted on the primary.
SQLite has no such tables and keeps its own.

Revision ID: i2c7e4a0b1d3
Revises: r11b4e8d2c6f1
Create Date: 2026-12-01 02:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "i2c7e4a0b1d3"
down_revision = "r11b4e8d2c6f1"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rate_limit_hits SET UNLOGGED")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rate_limit_hits SET LOGGED")
