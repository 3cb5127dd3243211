"""`db upgrade` on an empty database gives exactly the schema of the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hotline.extensions import db


def test_migrated_schema_matches_models(app):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == []


def test_upgrade_seeds_designs_default_policy_and_downgrade_round_trips(app):
    from flask_migrate import downgrade, upgrade

    from hotline.deadlines.models import TimeLimitPolicy
    from hotline.deadlines.services import DEFAULT_POLICY, default_limit

    db.session.remove()
    downgrade(revision="base")
    assert "tickets" not in db.inspect(db.engine).get_table_names()
    upgrade()
    rows = db.session.query(TimeLimitPolicy).all()
    assert len(rows) == sum(len(v) for v in DEFAULT_POLICY.values())
    for row in rows:
        expected = default_limit(row.clock, row.request_type, row.urgency)
        assert (None if row.amount is None else (row.amount, row.unit)) == expected
