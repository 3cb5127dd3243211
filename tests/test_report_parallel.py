"""A report's family queries run on several connections at once on PostgreSQL, all reading
one exported snapshot: the figures are those of one connection alone, a write committed
while they run is in none of them, and a transaction that has written something it has
not committed counts alone (the other connections could not see its rows)."""
from datetime import datetime

import pytest
import sqlalchemy as sa

from hotline.extensions import db
from hotline.reports import queries
from hotline.reports.snapshots import build_report
from hotline.tickets.models import Ticket
from tests.factories import at
from tests.test_reports import W48, build


@pytest.fixture
def snapshots(monkeypatch):
    """The snapshot ids the reports exported (None: counted on the session alone)."""
    seen = []
    real = queries._shared_snapshot

    def spy(conn):
        seen.append(real(conn))
        return seen[-1]

    monkeypatch.setattr(queries, "_shared_snapshot", spy)
    return seen


def _report(app, workers: int) -> dict:
    app.config["REPORTS_QUERY_WORKERS"] = workers
    try:
        return build_report("weekly", W48, ids=True)
    finally:
        app.config["REPORTS_QUERY_WORKERS"] = 2
        db.session.rollback()


def test_figures_counted_on_several_connections_equal_one_connection(app, world, db_kind, snapshots):
    build(world)
    at(datetime(2026, 11, 30, 8, 0))
    alone = _report(app, 1)
    assert snapshots == []  # one worker: nothing to share
    together = _report(app, 3)
    assert together == alone
    if db_kind == "postgresql":
        assert snapshots and all(isinstance(s, str) for s in snapshots), "the queries shared an exported snapshot"
    else:
        assert snapshots == [None] * len(snapshots), "SQLite counts on its one connection"


def test_the_workers_read_the_snapshot_not_a_later_commit(app, world, db_kind, monkeypatch):
    if db_kind != "postgresql":
        pytest.skip("snapshots are shared between connections on PostgreSQL only")
    build(world)
    at(datetime(2026, 11, 30, 8, 0))
    stmt = sa.select(sa.func.count()).select_from(Ticket)
    before = db.session.scalar(stmt)
    db.session.rollback()
    real = queries._shared_snapshot

    def export_then_commit_elsewhere(conn):
        snapshot = real(conn)
        with db.engine.begin() as other:  # another worker's commit after the report began
            other.execute(sa.update(Ticket).where(Ticket.id == db.session.scalar(sa.select(sa.func.min(Ticket.id))))
                          .values(title="改后"))
            other.execute(sa.delete(Ticket).where(sa.false()))
        return snapshot

    monkeypatch.setattr(queries, "_shared_snapshot", export_then_commit_elsewhere)
    app.config["REPORTS_QUERY_WORKERS"] = 3
    try:
        rows = queries.run_many([stmt, sa.select(sa.func.count()).select_from(Ticket).where(Ticket.title == "改后"),
                                 stmt])
    finally:
        app.config["REPORTS_QUERY_WORKERS"] = 2
        db.session.rollback()
    assert [r[0][0] for r in rows] == [before, 0, before], "every statement read the exported snapshot"


def test_uncommitted_writes_are_counted_on_the_session_alone(app, world, db_kind, snapshots):
    build(world)
    at(datetime(2026, 11, 30, 8, 0))
    committed = build_report("weekly", W48)["city"]["values"]["calls"]
    db.session.rollback()
    snapshots.clear()
    first = db.session.scalar(sa.select(Ticket).order_by(Ticket.id).limit(1))
    copy = Ticket(**{c.key: getattr(first, c.key) for c in Ticket.__table__.columns
                     if c.key not in ("id", "number", "external_number", "call_id")},
                  number="12345-20261124-9999999")
    copy.created_at = datetime(2026, 11, 24, 9, 0)
    db.session.add(copy)
    db.session.flush()  # written in this transaction, not committed
    try:
        values = build_report("weekly", W48)["city"]["values"]
    finally:
        db.session.rollback()
    assert values["calls"] == committed + 1
    assert snapshots and all(s is None for s in snapshots)
