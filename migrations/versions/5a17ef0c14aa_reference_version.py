"""reference data version: one counter row bumped by every change to categories, units,
routing rules, settings, webhook subscriptions, time-limit policies and the calendar; each
worker process keeps its reference cache while the counter is unchanged (hotline.refcache)

Revision ID: 5a17ef0c14aa
Revises: r11a7c0f3e5d9
Create Date: 2026-11-30 23:00:00

"""
import secrets

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '5a17ef0c14aa'
down_revision = "r11a7c0f3e5d9"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('reference_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_version'))
    )
    # a random start: two databases (or one rebuilt) never share a version
    op.bulk_insert(table, [{'id': 1, 'version': secrets.randbits(62)}])


def downgrade():
    op.drop_table('reference_version')
