"""sessions, passwords and the audit trail: users.session_gen and
users.must_change_password; the append-only audit_log (on PostgreSQL a trigger refuses
UPDATE and DELETE unless the retention purge sets hotline.audit_purge; on SQLite a
trigger refuses UPDATE)

Revision ID: a7d1e5c0f3b2
Revises: 42b4b7faae9f
Create Date: 2026-11-30 23:20:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'a7d1e5c0f3b2'
down_revision = '42b4b7faae9f'
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('hotline.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END
$$ LANGUAGE plpgsql
"""


def upgrade():
    # Plain ALTER TABLE … ADD COLUMN: a batch copy of `users` (which every other table refers
    # to) would fail on SQLite's foreign keys once there are rows.
    op.add_column('users', sa.Column('session_gen', sa.Integer(), server_default='0', nullable=False))
    op.add_column('users', sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                     nullable=False))
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), server_default='', nullable=False),
    sa.Column('address', sa.String(length=64), server_default='', nullable=False),
    sa.Column('object_type', sa.String(length=64), server_default='', nullable=False),
    sa.Column('object_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('path', sa.String(length=255), server_default='', nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
    else:
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))
    op.drop_table('audit_log')
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+ too): a batch copy of `users` would have
    # to drop the table every other table refers to, which SQLite's foreign keys refuse.
    op.drop_column('users', 'must_change_password')
    op.drop_column('users', 'session_gen')
