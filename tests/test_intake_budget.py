"""Intake's cost in SQL statements (a budget each test enforces), the per-process reference
cache's invalidation across worker processes, and the rate limit on Open311.

Budgets, counted on the engine for one request after a warm-up (the reference cache is
loaded once per change, not per request); transaction control (BEGIN, COMMIT) is not
counted. On PostgreSQL the day's number, the ticket and its first event are one statement
(data-modifying WITHs), elsewhere three, so each budget is two less there:
- the intake page (POST /intake/new, logged in): 2 (4) — the user with unit, roles and
  the reference data's version; the day's number with the ticket and its event;
- POST /api/v1/tickets with an Idempotency-Key and the database's rate-limit counters:
  3 (6) — the two counts in one upsert, the token with its user, unit, roles and the
  reference version, the day's number with the ticket, its event and the key (elsewhere
  the number and three INSERTs); without a key 3 (5).
"""
from __future__ import annotations

import contextlib
import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from hotline import create_app, refcache
from hotline.admin.models import Setting
from hotline.categories.models import Category
from hotline.enums import TicketState
from hotline.extensions import db
from hotline.lifecycle import unit_of_work
from hotline.routing.models import RoutingRule
from hotline.tickets.models import Ticket, TicketEvent
from tests.api_util import api_as
from tests.conftest import IsolatedClient, count
from tests.factories import at
from tests.test_admin_pages import submit
from tests.test_pages import csrf_token, login
from tests.test_workbench import intake_data, page

FORM_BUDGET = 2
API_BUDGET = 3
API_BUDGET_WITHOUT_KEY = 3
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")


@contextlib.contextmanager
def statements(engine):
    """The SQL statements run on `engine` inside the block (transaction control left out)."""
    seen: list[str] = []

    def on_execute(conn, cursor, statement, params, context, executemany):
        text = " ".join(statement.split())
        if not text.upper().startswith(CONTROL):
            seen.append(text)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def show(seen) -> str:
    return "\n".join(s[:120] for s in seen)


def api_body(world, **over) -> dict:
    body = dict(channel="phone", request_type="help", category_id=world.category.id, urgency="normal",
                caller_name="张先生", caller_number="+86 138 0013 8000", address="幸福路 12 号",
                district_id=world.district.id, title="小区电梯故障", content="3 号楼电梯停运三天，请尽快维修。",
                call_id=uuid.uuid4().hex, agent="8101")
    body.update(over)
    return body


# --- the budgets ------------------------------------------------------------------------------
def budget(n: int, db_kind: str) -> int:
    """The budget on this database: the number, the ticket and its event are three
    statements but on PostgreSQL."""
    return n if db_kind == "postgresql" else n + 2


def writes(seen, table: str) -> int:
    return sum(s.count(f"INSERT INTO {table} ") for s in seen)


def test_the_intake_page_records_a_ticket_in_two_statements(world, client, db_kind):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    token = csrf_token(html)
    first = client.post("/intake/new", data=intake_data(html, world))  # warm: loads the reference cache
    assert first.status_code == 302
    data = {**intake_data(html, world, title="楼道灯不亮"), "csrf_token": token}
    with statements(db.engine) as seen:  # the request's own statements only
        resp = client.post("/intake/new", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert len(seen) <= budget(FORM_BUDGET, db_kind), show(seen)
    assert writes(seen, "tickets") == 1 and writes(seen, "ticket_events") == 1
    if db_kind == "postgresql":  # the day's row is locked by the last statement before the commit
        assert "INSERT INTO ticket_sequences" in seen[-1] and "INSERT INTO tickets " in seen[-1], show(seen)
    assert not any(s.startswith("SELECT tickets.") for s in seen), "the ticket is not read back after the commit"
    t = db.session.scalars(sa.select(Ticket).where(Ticket.title == "楼道灯不亮")).one()
    assert t.state is TicketState.PENDING_DISPATCH and count(TicketEvent, TicketEvent.ticket_id == t.id) == 1
    follow = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"工单 {t.number} 已保存，等待派单" in follow


@pytest.mark.parametrize("with_key", [True, False], ids=["idempotency-key", "no-key"])
def test_the_api_records_a_ticket_within_its_budget(world, client, with_key, db_kind):
    api = api_as(client, world.operator)
    headers = lambda: {"Idempotency-Key": uuid.uuid4().hex} if with_key else {}  # noqa: E731
    assert api.post("/api/v1/tickets", json=api_body(world), headers=headers()).status_code == 201  # warm
    body, extra = api_body(world, title="楼道灯不亮"), headers()
    with statements(db.engine) as seen:  # the request's own statements only
        resp = api.post("/api/v1/tickets", json=body, headers=extra)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    limit = budget(API_BUDGET if with_key else API_BUDGET_WITHOUT_KEY, db_kind)
    if with_key and db_kind != "postgresql":
        limit += 1  # the key's row is a third INSERT there
    assert len(seen) <= limit, show(seen)
    assert writes(seen, "idempotency_keys") == (1 if with_key else 0)
    assert writes(seen, "tickets") == 1 and writes(seen, "ticket_events") == 1
    assert not any(s.startswith("SELECT tickets.") for s in seen), "the answer is built without reading back"
    # the answer built from the session is the one a later read gives
    body = resp.get_json()
    again = api.get(f"/api/v1/tickets/{body['number']}").get_json()
    assert body == again
    assert resp.headers["ETag"] == '"1"' and resp.headers["Location"] == f"/api/v1/tickets/{body['number']}"
    assert body["category"]["id"] == world.category.id and body["district"]["name"] == world.district.name
    assert [e["action"]["value"] for e in body["events"]] == ["record"] and body["assignments"] == []


def test_a_retry_is_answered_from_its_key_even_when_the_world_changed_since(world, client):
    api = api_as(client, world.operator)
    key = {"Idempotency-Key": "call-42"}
    body = api_body(world)
    first = api.post("/api/v1/tickets", json=body, headers=key)
    assert first.status_code == 201
    world.category.active = False  # the admin deactivates the category between the two tries
    db.session.commit()
    retry = api.post("/api/v1/tickets", json=body, headers=key)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json()["number"] == first.get_json()["number"]
    other = api.post("/api/v1/tickets", json={**body, "title": "另一件事"}, headers=key)
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert count(Ticket) == 1


# --- the reference cache across worker processes ---------------------------------------------
@pytest.fixture
def second_worker(app):
    """Another app on the same database: its own process-wide reference cache, as a second
    gunicorn worker has."""
    other = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    other.test_client_class = IsolatedClient
    yield other
    with other.app_context():
        db.engine.dispose()


def test_an_admin_change_is_seen_by_every_worker_on_its_next_request(world, client, second_worker):
    other = api_as(second_worker.test_client(), world.operator)
    r = other.post("/api/v1/tickets", json=api_body(world))
    assert r.status_code == 201 and r.get_json()["lead_unit"] is None  # the other worker's cache is warm
    login(client, "admin")
    # routing: a certain rule and auto-dispatch, saved on this worker's admin pages
    assert submit(client, "/admin/routing/new", dict(category_id=world.category.id, district_id=world.district.id,
                                                      lead_unit_id=world.housing.id, certain="y", active="y"),
                  form_page="/admin/routing/new").status_code == 302
    assert submit(client, "/admin/routing/settings", dict(auto_dispatch="y"), form_page="/admin/routing").status_code == 302
    r = other.post("/api/v1/tickets", json=api_body(world))
    assert r.status_code == 201
    assert r.get_json()["lead_unit"]["id"] == world.housing.id and r.get_json()["state"]["value"] == "dispatched"
    # the category deactivated: the other worker refuses it at once
    assert submit(client, f"/admin/categories/{world.category.id}/deactivate", {},
                  form_page="/admin/categories").status_code == 302
    r = other.post("/api/v1/tickets", json=api_body(world))
    assert r.status_code == 422 and r.get_json()["error"]["fields"] == {"category_id": "请选择有效的诉求分类"}
    category_id = world.category.id
    db.session.commit()  # SQLite: one writer at a time (BEGIN IMMEDIATE)
    with second_worker.app_context():  # and its intake page no longer offers it
        assert category_id not in dict(refcache.category_choices())


def test_a_rolled_back_change_leaves_no_trace_in_the_cache(world):
    name = world.category.full_name
    assert refcache.category(world.category.id).full_name == name
    db.session.commit()
    cat = db.session.get(Category, world.category.id)
    cat.full_name = "改名未保存"
    assert refcache.category(world.category.id).full_name == "改名未保存"  # this transaction sees its own change
    db.session.rollback()
    assert refcache.category(world.category.id).full_name == name  # the others (and it, after) never do


def test_the_time_limit_policy_and_the_calendar_are_cached_per_process_until_changed(world, app, second_worker):
    from datetime import date

    from hotline.deadlines.models import HolidayOverride, TimeLimitPolicy
    from hotline.deadlines.services import calendar, limit_for
    from hotline.enums import DeadlineClock, LimitUnit, RequestType, Urgency

    monday = date(2026, 11, 30)  # a plain working day
    handle = (DeadlineClock.HANDLE, RequestType.COMPLAINT, Urgency.NORMAL)
    db.session.commit()

    def read():  # one request's reads, in a worker of its own
        with second_worker.app_context():
            with statements(db.engine) as seen:
                found = calendar().is_workday(monday), limit_for(*handle)
            db.session.remove()
        return found, [s for s in seen if "holiday_overrides" in s or "calendar_years" in s
                       or "time_limit_policies" in s]

    first, _ = read()  # loads them (the worker's cache is cold)
    assert first == (True, (15, LimitUnit.WORKING_DAYS))
    again, reads = read()
    assert again == first and reads == []  # the second request reads neither
    # the admin makes the day a holiday and the complaint limit 10 working days
    db.session.add(HolidayOverride(day=monday, is_workday=False))
    row = db.session.scalars(sa.select(TimeLimitPolicy).where(
        TimeLimitPolicy.clock == handle[0], TimeLimitPolicy.request_type == handle[1],
        TimeLimitPolicy.urgency == handle[2])).one()
    row.amount = 10
    db.session.commit()
    changed, reads = read()
    assert changed == (False, (10, LimitUnit.WORKING_DAYS)) and reads  # read afresh once
    assert read() == (changed, [])


def test_set_based_statements_on_reference_tables_bump_the_version_too(world, client):
    api = api_as(client, world.operator)
    assert api.post("/api/v1/tickets", json=api_body(world)).status_code == 201
    with unit_of_work():
        db.session.execute(sa.update(Category).where(Category.id == world.category.id).values(active=False))
    r = api.post("/api/v1/tickets", json=api_body(world))
    assert r.status_code == 422
    with unit_of_work():
        db.session.add(RoutingRule(category_id=world.category.id, district_id=None, lead_unit_id=world.water.id,
                                   certain=True))
        db.session.add(Setting(key="auto_dispatch", value="1"))
        db.session.execute(sa.update(Category).where(Category.id == world.category.id).values(active=True))
    r = api.post("/api/v1/tickets", json=api_body(world))
    assert r.status_code == 201 and r.get_json()["lead_unit"]["id"] == world.water.id


# --- Open311 is rate-limited like the API ----------------------------------------------------
@pytest.fixture
def limits(app, monkeypatch):
    def set_(per_token=0, per_address=0, window=60):
        monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_TOKEN", per_token)
        monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_ADDRESS", per_address)
        monkeypatch.setitem(app.config, "API_RATE_LIMIT_WINDOW_SECONDS", window)
    return set_


def test_open311_reading_is_limited_per_address_in_its_own_error_format(world, client, limits):
    limits(per_address=2)
    at(datetime(2026, 11, 23, 10, 0, 50))
    ok = [client.get("/open311/v2/services.json") for _ in range(2)]
    assert [r.status_code for r in ok] == [200, 200]
    assert [r.headers["X-RateLimit-Remaining"] for r in ok] == ["1", "0"]
    refused = client.get("/open311/v2/services.xml")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"
    assert refused.content_type == "text/xml; charset=utf-8" and b"<code>429</code>" in refused.get_data()
    refused = client.get("/open311/v2/services.json")
    assert refused.status_code == 429
    (error,) = refused.get_json()
    assert error["code"] == 429 and "每个来源地址每 60 秒最多 2 次" in error["description"]


def test_open311_filing_is_limited_per_api_key_and_refused_filings_store_nothing(world, client, limits):
    from hotline.api.auth import create_token

    limits(per_token=1)
    world.category.public = True
    _, key = create_token(world.operator, "Open311 应用")
    db.session.commit()
    form = dict(api_key=key, service_code=world.category.code, address_string="幸福路 12 号",
                description="电梯停运", phone="13800001111")
    assert client.post("/open311/v2/requests.json", data=form).status_code == 201
    refused = client.post("/open311/v2/requests.json", data=form)
    assert refused.status_code == 429 and "每个令牌" in refused.get_json()[0]["description"]
    assert count(Ticket) == 1
    # the same token on the API shares the budget
    r = client.get("/api/v1/categories", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 429
    # reading without a key is not counted against the token
    assert client.get("/open311/v2/services.json").status_code == 200


# --- the pool pings only idle connections ----------------------------------------------------
def test_a_connection_is_pinged_only_after_idling_and_a_dead_one_is_replaced(world, app, monkeypatch):
    from hotline import database

    pings = []
    real = db.engine.dialect.do_ping
    monkeypatch.setattr(db.engine.dialect, "do_ping", lambda conn: pings.append(conn) or real(conn))
    db.session.remove()
    # an empty pool: the tests before this one may have left several idle connections, and
    # the pool hands out the one idle longest first, not the one this test just returned
    db.engine.dispose()
    with db.engine.connect() as conn:  # used a moment ago: handed out without a ping
        first = conn.connection.dbapi_connection
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() if db.engine.dialect.name == "postgresql" \
            else None
    with db.engine.connect() as conn:
        assert conn.connection.dbapi_connection is first and pings == []
    clock_now = [database.time.monotonic()]
    monkeypatch.setattr(database.time, "monotonic", lambda: clock_now[0])
    with db.engine.connect():
        pass
    if pid is not None:  # the server ends that connection's process (a restart, an idle timeout)
        with sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool).connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    clock_now[0] += app.config["DATABASE_PING_IDLE_SECONDS"] + 0.5  # now idle for longer than the threshold
    with db.engine.connect() as conn:  # pinged; a dead connection is replaced before it is used
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    assert pings and pings[0] is first
    if pid is not None:
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid


def test_the_api_create_statement_stays_in_psycopgs_query_cache(world, client, db_kind):
    """The ticket, its event and the key in one statement have more parameters than
    psycopg caches the conversion of by default (50): hotline.database raises that limit,
    or every create would convert its query again."""
    if db_kind != "postgresql":
        pytest.skip("psycopg's query cache")
    from psycopg import _queries

    api = api_as(client, world.operator)
    headers = lambda: {"Idempotency-Key": uuid.uuid4().hex}  # noqa: E731
    assert api.post("/api/v1/tickets", json=api_body(world), headers=headers()).status_code == 201
    with statements(db.engine) as seen:
        assert api.post("/api/v1/tickets", json=api_body(world), headers=headers()).status_code == 201
    (chain,) = [s for s in seen if "INSERT INTO tickets " in s]
    assert chain.count("%(") <= _queries.MAX_CACHED_STATEMENT_PARAMS
    assert len(chain.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
