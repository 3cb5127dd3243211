"""`db upgrade` on an empty database gives exactly the schema of the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hotline.extensions import db


def test_migrated_schema_matches_models(app):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == []


def test_the_rate_limit_counters_are_unlogged_on_postgresql(app, db_kind):
    import pytest
    import sqlalchemy as sa

    if db_kind != "postgresql":
        pytest.skip("SQLite has no unlogged tables")
    with db.engine.connect() as conn:
        persistence = dict(conn.execute(sa.text(
            "SELECT relname, relpersistence FROM pg_class WHERE relname IN ('rate_limit_hits', 'tickets')")).all())
    assert persistence == {"rate_limit_hits": "u", "tickets": "p"}


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


#: The schema production ran before this release's migrations (the last landed head).
PREVIOUS_RELEASE = "42b4b7faae9f"


def _rows(columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Every row of every table, as sorted tuples of the given columns (text, so that types
    that round-trip differently between drivers compare by value)."""
    import sqlalchemy as sa

    out = {}
    with db.engine.connect() as conn:
        for table, cols in columns.items():
            rows = conn.execute(sa.select(*(sa.column(c) for c in cols)).select_from(sa.table(table))).all()
            out[table] = sorted(tuple("" if v is None else str(v) for v in r) for r in rows)
    return out


def test_demo_data_survives_this_releases_migrations_both_ways(app):
    """A demo-shaped city (every state, role and twist) downgraded to the previous release's
    schema and upgraded again: every row and every column the previous release had is
    still there, unchanged, and the app still reads the city."""
    from flask_migrate import downgrade, upgrade

    from hotline.demo.loader import load_demo
    from hotline.tickets.models import Ticket

    load_demo(tickets=40, seed=7)
    db.session.commit()
    db.session.remove()
    downgrade(revision=PREVIOUS_RELEASE)
    inspector = db.inspect(db.engine)
    columns = {t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names()
               if t != "alembic_version"}
    before = _rows(columns)
    assert len(before["tickets"]) == 40 and before["ticket_events"] and before["assignment_versions"]
    upgrade()
    db.session.remove()
    assert _rows(columns) == before
    assert db.session.query(Ticket).count() == 40
