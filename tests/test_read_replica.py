"""Reports on a read replica (REPORTS_DATABASE_URL): which engine runs which statement.

The "replica" here is a second app whose REPORTS_DATABASE_URL names the test database
itself, so its two engines (primary and reports) reach the same data and the routing is
proved by recording, per engine, every statement SQLAlchemy executes. The reports engine
is read-only (default_transaction_read_only / PRAGMA query_only), so a write routed to it
would fail the request, not pass unnoticed. A real streaming replica is started by
bench/replica.py.
"""
from __future__ import annotations

import re
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from hotline import create_app
from hotline.database import REPORTS_ENGINE, reading_reports, replica_for_request, reports_engine
from hotline.extensions import db
from hotline.reports.models import ReportSnapshot
from hotline.tickets.models import Ticket
from tests import svc
from tests.api_util import api_as
from tests.conftest import TEST_INSTANCE_DIR, IsolatedClient
from tests.factories import at
from tests.test_pages import login

W48, W47 = "2026-W48", "2026-W47"  # the running week at the tests' clock, and the last finished one
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)


@pytest.fixture(scope="module")
def replica_app(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    application = create_app("testing", SQLALCHEMY_DATABASE_URI=url, REPORTS_DATABASE_URL=url)
    application.instance_path = TEST_INSTANCE_DIR
    application.test_client_class = IsolatedClient
    yield application
    with application.app_context():
        db.engine.dispose()
    application.extensions[REPORTS_ENGINE].dispose()


class Recorder:
    """Every statement each engine of an app executes, in order."""

    def __init__(self, application):
        with application.app_context():
            self.engines = {"primary": db.engine, "replica": application.extensions[REPORTS_ENGINE]}
        self.log: list[tuple[str, str]] = []
        self._listeners = []
        for name, engine in self.engines.items():
            def on_execute(conn, cursor, statement, parameters, context, executemany, name=name):
                self.log.append((name, statement))
            event.listen(engine, "before_cursor_execute", on_execute)
            self._listeners.append((engine, on_execute))

    def clear(self):
        self.log.clear()

    def on(self, name: str) -> list[str]:
        return [s for n, s in self.log if n == name]

    def reads(self, name: str, table: str) -> list[str]:
        return [s for s in self.on(name) if re.search(rf"\bFROM\s+{table}\b|\bJOIN\s+{table}\b", s)]

    def writes(self, name: str) -> list[str]:
        return [s for s in self.on(name) if WRITE.match(s)]

    def close(self):
        for engine, fn in self._listeners:
            event.remove(engine, "before_cursor_execute", fn)


@pytest.fixture
def rec(replica_app):
    r = Recorder(replica_app)
    yield r
    r.close()


@pytest.fixture
def rclient(replica_app):
    return replica_app.test_client()


def some_tickets(world):
    at(datetime(2026, 11, 16, 10, 0))  # week 47
    world.signed(title="上周的工单")
    at(datetime(2026, 11, 23, 9, 0))  # week 48
    t = world.signed(title="本周的工单")
    at(datetime(2026, 11, 23, 9, 20))
    svc.reply(t.id, world.district_staff, db.session.get(Ticket, t.id).version, "已处理")
    world.dispatched(title="待签收的工单")
    at(datetime(2026, 11, 23, 9, 30))
    db.session.commit()


def test_a_running_week_is_counted_on_the_replica(world, rclient, rec):
    some_tickets(world)
    login(rclient, "manager")
    rec.clear()
    resp = rclient.get(f"/reports/weekly/{W48}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "本期尚未结束" in html
    # every figure is counted on the replica: its assignments, tickets, events …
    assert len(rec.reads("replica", "assignments")) >= 5 and rec.reads("replica", "tickets")
    assert rec.writes("replica") == []
    # the primary only served the signed-in user and the stored snapshots' list
    assert rec.reads("primary", "assignments") == [] and rec.reads("primary", "ticket_events") == []
    assert rec.reads("primary", "report_snapshots")
    # and the drill-down of a live figure too
    m = re.search(r'href="(/reports/drill\?[^"]*metric=received[^"]*)"', html)
    rec.clear()
    drill = rclient.get(m.group(1).replace("&amp;", "&"))
    assert drill.status_code == 200 and "共 2 条派件" in drill.get_data(as_text=True)
    assert rec.reads("replica", "assignments")
    # the primary only describes the page's 50 items by id (as fresh as can be)
    assert all("assignments.id IN" in s for s in rec.reads("primary", "assignments"))


def test_a_finished_week_is_counted_and_stored_on_the_primary(world, replica_app, rclient, rec):
    some_tickets(world)
    login(rclient, "manager")
    rec.clear()
    resp = rclient.get(f"/reports/weekly/{W47}")
    assert resp.status_code == 200 and "12345热线周报 2026-W47" in resp.get_data(as_text=True)
    assert rec.on("replica") == []
    assert [s for s in rec.writes("primary") if "report_snapshots" in s]
    assert rec.reads("primary", "assignments")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportSnapshot)) == 1
    db.session.commit()  # SQLite: the test's read holds the write lock (BEGIN IMMEDIATE)
    # the scheduler's job writes (and counts) on the primary as well
    from hotline.scheduler.jobs import monthly_report, weekly_report

    rec.clear()
    at(datetime(2026, 12, 1, 8, 0))
    with replica_app.app_context():
        weekly_report()
        monthly_report()
        db.session.commit()
    assert rec.on("replica") == [] and len([s for s in rec.writes("primary") if "report_snapshots" in s]) == 2


def test_dashboard_ranking_exports_and_api_read_the_replica(world, client, rclient, rec):
    """Each read path runs its counting on the replica and answers exactly what the app
    without a replica answers."""
    some_tickets(world)
    login(rclient, "manager")
    login(client, "manager")
    pages = ["/dashboard", "/reports/rates?date_from=2026-11-16&date_to=2026-11-23&level=2",
             "/tickets/export.csv", f"/reports/weekly/{W48}.csv"]
    for path in pages:
        rec.clear()
        resp = rclient.get(path)
        body = resp.data  # an export streams: its rows are read now
        assert resp.status_code == 200, path
        assert rec.reads("replica", "tickets") or rec.reads("replica", "assignments"), path
        assert rec.writes("replica") == [], path
        assert rec.reads("primary", "assignments") == [], path
        if path.endswith(".csv"):
            assert body == client.get(path).data, path
    # the API's report endpoints, compared with the same endpoints without a replica
    from hotline.auth.models import User

    manager = db.session.scalar(sa.select(User).where(User.username == "manager"))
    ours, theirs = api_as(rclient, manager), api_as(client, manager)
    for path in (f"/api/v1/reports/weekly/{W48}", "/api/v1/reports/dashboard",
                 "/api/v1/reports/ranking?date_from=2026-11-16&date_to=2026-11-23"):
        rec.clear()
        resp = ours.get(path)
        assert resp.status_code == 200, (path, resp.get_data(as_text=True))
        assert rec.reads("replica", "tickets") or rec.reads("replica", "assignments"), path
        assert rec.reads("primary", "assignments") == [] and rec.writes("replica") == [], path
        assert resp.get_json() == theirs.get(path).get_json(), path


def test_reads_route_to_the_replica_and_writes_to_the_primary(world, replica_app, rec):
    some_tickets(world)
    ticket_id = db.session.scalar(sa.select(Ticket.id).order_by(Ticket.id).limit(1))
    db.session.commit()
    with replica_app.app_context():
        with reading_reports() as replica:
            assert replica is reports_engine()
            rec.clear()
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 3
            assert len(rec.on("replica")) >= 1 and rec.on("primary") == []
            rec.clear()
            db.session.scalar(sa.select(Ticket.id).where(Ticket.id == ticket_id).with_for_update())
            assert rec.on("replica") == [] and rec.reads("primary", "tickets")
            t = db.session.get(Ticket, ticket_id)  # loaded from the replica
            rec.clear()
            t.title = "改过的标题"
            db.session.flush()
            db.session.execute(sa.update(Ticket).where(Ticket.id == ticket_id).values(address="改过的地址"))
            assert rec.on("replica") == [] and len(rec.writes("primary")) == 2
            db.session.rollback()
        rec.clear()
        db.session.scalar(sa.select(sa.func.count()).select_from(Ticket))  # outside: the primary
        assert rec.on("replica") == [] and rec.on("primary")
        db.session.rollback()


def test_the_replica_engine_is_read_only_with_the_apps_settings(replica_app, db_kind):
    with replica_app.app_context():
        engine = reports_engine()
        with engine.connect() as conn:
            with pytest.raises(sa.exc.DBAPIError, match="read-only|readonly"):
                conn.execute(sa.text("INSERT INTO report_snapshots (kind) VALUES ('weekly')"))
        if db_kind == "postgresql":
            with engine.connect() as conn:
                assert conn.scalar(sa.text("SHOW jit")) == "off"
                assert conn.scalar(sa.text("SHOW plan_cache_mode")) == "force_custom_plan"
                assert conn.scalar(sa.text("SHOW transaction_read_only")) == "on"
        # the primary engine of the same app is writable as before
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_a_lagging_replica_is_not_read(world, replica_app, rclient, rec, monkeypatch, caplog):
    """A replica that has not replayed what the primary committed would count a figure
    wrong: the request reads the primary instead (and says so in the log)."""
    import hotline.database as database

    some_tickets(world)
    login(rclient, "manager")
    seen = []

    def behind(primary, replica, max_wait):
        seen.append(max_wait)
        return False

    monkeypatch.setattr(database, "_replica_caught_up", behind)
    rec.clear()
    resp = rclient.get(f"/reports/weekly/{W48}")
    assert resp.status_code == 200 and "本期尚未结束" in resp.get_data(as_text=True)
    assert seen == [replica_app.config["REPORTS_REPLICA_MAX_WAIT_SECONDS"]]
    assert rec.on("replica") == [] and rec.reads("primary", "assignments")
    assert "behind the primary" in caplog.text


def test_caught_up_check_on_a_database_that_is_no_standby(replica_app, db_kind):
    """Not a standby (or SQLite): nothing to wait for; the request reads the replica."""
    import hotline.database as database

    with replica_app.app_context():
        assert database._replica_caught_up(db.engine, reports_engine(), 0.0) is True
        assert replica_for_request() is reports_engine()


def test_without_a_replica_reports_read_the_primary(app, world, client):
    with app.app_context():
        assert reports_engine() is None and replica_for_request() is None
        with reading_reports() as replica:
            assert replica is None
            assert db.session.get_bind() is db.engine


def test_check_reports_the_replica(app, replica_app, tmp_path, db_kind):
    """`flask check` looks at REPORTS_DATABASE_URL too: reachable, migrated like the primary,
    and a standby."""
    from hotline.ops.check import problems

    with replica_app.app_context():
        found = [m for _, m in problems(replica_app) if "REPORTS_DATABASE_URL" in m]
    # the test database is no standby: a warning on PostgreSQL, nothing to say on SQLite
    assert found == (["REPORTS_DATABASE_URL is not a standby: reports read it as it is, however old its copy"]
                     if db_kind == "postgresql" else [])
    empty = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       REPORTS_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with empty.app_context():
        found = problems(empty)
        db.engine.dispose()
    empty.extensions[REPORTS_ENGINE].dispose()
    assert any(level == "ERROR" and "REPORTS_DATABASE_URL not reachable or not migrated" in m for level, m in found)


def test_an_unreachable_replica_is_not_read(app, world, db_kind, caplog):
    """PostgreSQL: a replica that refuses connections costs the request its connection
    attempt; the report counts on the primary."""
    if db_kind != "postgresql":
        pytest.skip("the standby check (and its connection) is PostgreSQL's")
    down = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      REPORTS_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    down.test_client_class = IsolatedClient
    some_tickets(world)
    try:
        c = down.test_client()
        login(c, "manager")
        resp = c.get(f"/reports/weekly/{W48}")
        assert resp.status_code == 200 and "本期尚未结束" in resp.get_data(as_text=True)
        assert "reports replica unreachable" in caplog.text
    finally:
        with down.app_context():
            db.engine.dispose()
        down.extensions[REPORTS_ENGINE].dispose()
