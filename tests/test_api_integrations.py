"""The API for integrations: retries and hand-overs racing on PostgreSQL (one ticket),
the CTI screen pop and caller history, the directory (units, categories, routing) and the
reports as JSON."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime

import pytest
import sqlalchemy as sa

from hotline.api.models import IdempotencyKey
from hotline.api.schemas import (CallerHistory, CategoryOut, DashboardOut, RankingOut, ReportOut, RoutingSuggestion,
                                 ScreenPop, UnitOut)
from hotline.enums import Satisfaction
from hotline.extensions import db
from hotline.routing.models import RoutingRule
from hotline.tickets.models import Ticket
from tests import svc
from tests.api_util import Api, api_as, token_for
from tests.conftest import count
from tests.factories import at, later

URL = "/api/v1/tickets"


def body(world, **over) -> dict:
    return {k: v for k, v in world.draft(**over).items() if v is not None}


# --- races -------------------------------------------------------------------------------------------
def send_together(app, n, send):
    """send(client, i) in n threads released at once, each with its own app context (so its
    own session and connection); returns the responses' (status, json, headers)."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        with app.app_context():
            try:
                client = app.test_client()
                barrier.wait(timeout=10)
                r = send(client, i)
                results[i] = (r.status_code, r.json, dict(r.headers))
            except Exception as err:  # pragma: no cover - shown by the assertion
                results[i] = ("crash", repr(err), {})
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_ten_concurrent_retries_with_one_key_make_one_ticket(app, world):
    token, data = token_for(world.operator), body(world)
    db.session.commit()
    results = send_together(app, 10, lambda client, i: Api(client, token).post(
        URL, json=data, headers={"Idempotency-Key": "call-7781"}))
    assert all(r[0] == 201 for r in results), results
    assert len({r[1]["number"] for r in results}) == 1
    assert sum("Idempotent-Replayed" not in r[2] for r in results) == 1
    assert count(Ticket) == 1 and count(IdempotencyKey) == 1


def test_ten_concurrent_hand_overs_of_one_number_make_one_ticket(app, world):
    token = token_for(world.operator)
    data = body(world, external_source="province", external_number="SX-77", external_due_at="2026-11-27T17:00:00")
    db.session.commit()
    results = send_together(app, 10, lambda client, i: Api(client, token).post(
        URL, json=data, headers={"Idempotency-Key": f"try-{i}"}))
    assert sorted(r[0] for r in results) == [200] * 9 + [201], results
    assert len({r[1]["number"] for r in results}) == 1
    assert count(Ticket) == 1
    # each key remembers the one ticket, with the status it was answered with
    keys = db.session.scalars(sa.select(IdempotencyKey)).all()
    assert len(keys) == 10 and {k.ticket_id for k in keys} == {db.session.scalars(sa.select(Ticket.id)).one()}
    assert sorted(k.status for k in keys) == [200] * 9 + [201]


# --- screen pop and caller history -------------------------------------------------------------------
SKIPPED = ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE")


@contextmanager
def statements():
    """The SQL statements run meanwhile. Left out: transaction control and PRAGMAs, and the
    rate limiter's counters (on their own connection here; in Redis in production)."""
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(SKIPPED) and "rate_limit_hits" not in statement:
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


def caller_world(world):
    """A caller with tickets: one of 40 days ago (still open), one replied, one answered on
    the call (closed), one being handled, a confidential one; and someone else's."""
    at(datetime(2026, 10, 14, 10, 0))
    world.dispatched(title="四十天前")
    at(datetime(2026, 11, 20, 10, 0))
    world.replied(title="已答复的")
    later(minutes=5)
    t = world.record(title="直接答复")
    svc.answer_directly(t.id, world.operator, t.version, "已告知办理流程")
    later(minutes=5)
    world.dispatched(title="还在办")
    later(minutes=5)
    world.dispatched(title="保密的", confidential=True)
    world.record(title="别人的", caller_phone="13911112222")
    at(datetime(2026, 11, 23, 9, 30))


def test_screen_pop_shows_history_and_open_duplicates(world, client):
    caller_world(world)
    api = api_as(client, world.operator)
    r = api.get("/api/v1/screen-pop", query_string={"number": "+86 138 0000 1111"})
    assert r.status_code == 200, r.json
    pop = ScreenPop.model_validate(r.json)
    assert pop.phone == "13800001111" and pop.number == "+86 138 0000 1111" and pop.repeat_caller
    assert [t.title for t in pop.history] == ["保密的", "还在办", "直接答复", "已答复的", "四十天前"]
    # open and within 30 days: not the closed one, not the one of 40 days ago
    assert [t.title for t in pop.duplicates] == ["保密的", "还在办", "已答复的"]
    assert pop.history[0].caller.phone == "13800001111"  # the centre sees confidential callers


def test_screen_pop_runs_few_statements(world, client):
    caller_world(world)
    api = api_as(client, world.operator)
    api.get("/api/v1/units")  # the token's first use is noted once; the budget is for a call after that
    with statements() as seen:
        r = api.get("/api/v1/screen-pop", query_string={"number": "13800001111"})
    assert r.status_code == 200 and len(r.json["history"]) == 5
    # the token, its user with the unit, the user's roles; the history; the duplicates
    assert len(seen) <= 6, "\n".join(seen)


def test_screen_pop_for_a_unit_shows_only_its_tickets(world, client):
    caller_world(world)
    r = api_as(client, world.district_staff).get("/api/v1/screen-pop", query_string={"number": "13800001111"})
    # its dispatched tickets, but never a confidential one found by the caller's phone
    assert [t["title"] for t in r.json["history"]] == ["还在办", "已答复的", "四十天前"]
    assert [t["title"] for t in r.json["duplicates"]] == ["还在办", "已答复的"]


def test_screen_pop_refuses_a_number_it_cannot_read(world, client):
    api = api_as(client, world.operator)
    for q in ({"number": "anonymous"}, {}):
        r = api.get("/api/v1/screen-pop", query_string=q)
        assert r.status_code == 422 and "number" in r.json["error"]["fields"]
    assert client.get("/api/v1/screen-pop?number=13800001111").status_code == 401


def test_caller_history_masks_confidential_callers(world, client):
    caller_world(world)
    centre = api_as(client, world.dispatcher).get("/api/v1/callers/0086 13800001111/tickets").json
    history = CallerHistory.model_validate(centre)
    assert history.phone == "13800001111" and len(history.items) == 5
    assert {t.title: t.caller is not None for t in history.items}["保密的"] is True
    unit = api_as(client, world.district_staff).get("/api/v1/callers/13800001111/tickets?limit=1").json
    assert [t["title"] for t in unit["items"]] == ["还在办"] and unit["items"][0]["caller"]["phone"] == "13800001111"
    # a confidential ticket the unit handles: found by number, caller hidden
    t = world.dispatched(title="保密件", confidential=True, caller_phone="13700000000")
    r = api_as(client, world.district_staff).get(f"{URL}/{t.number}").json
    assert r["caller"] is None
    assert api_as(client, world.district_staff).get("/api/v1/callers/13700000000/tickets").json["items"] == []
    other = api_as(client, world.other_staff).get("/api/v1/callers/13800001111/tickets").json
    assert other["items"] == []
    r = api_as(client, world.dispatcher).get("/api/v1/callers/hidden/tickets")
    assert r.status_code == 422 and "phone" in r.json["error"]["fields"]


# --- directory -----------------------------------------------------------------------------------
def test_units_and_categories(world, client):
    api = api_as(client, world.district_staff)
    units = [UnitOut.model_validate(u) for u in api.get("/api/v1/units").json]
    by_code = {u.code: u for u in units}
    assert by_code["D1S1"].parent_id == world.district.id and by_code["D1S1"].kind.value == "street"
    assert units[0].code == "CENTRE" and len(units) == 7
    world.water.active = False
    db.session.commit()
    assert "WATER" not in {u["code"] for u in api.get("/api/v1/units").json}
    assert "WATER" in {u["code"] for u in api.get("/api/v1/units?include_inactive=true").json}
    cats = [CategoryOut.model_validate(c) for c in api.get("/api/v1/categories").json]
    leaf = next(c for c in cats if c.code == "CJ-WY-DT")
    assert leaf.name == "城乡建设 › 物业管理 › 电梯故障" and leaf.short_name == "电梯故障"
    assert leaf.parent_id == next(c.id for c in cats if c.code == "CJ-WY")
    assert next(c for c in cats if c.code == "CJ").parent_id is None


def test_routing_suggestion(world, client):
    api = api_as(client, world.dispatcher)
    q = {"category_id": world.category.id, "district_id": world.district.id}
    none = RoutingSuggestion.model_validate(api.get("/api/v1/routing/suggestion", query_string=q).json)
    assert none.lead is None and not none.certain and "没有匹配" in none.explanation
    root = db.session.scalars(sa.select(world.category.__class__).where(world.category.__class__.code == "CJ")).one()
    db.session.add(RoutingRule(category_id=root.id, district_id=world.district.id, lead_unit_id=world.street.id,
                               co_unit_ids=[world.water.id], certain=True, active=True))
    db.session.commit()
    s = api.get("/api/v1/routing/suggestion", query_string=q).json
    assert s["lead"]["code"] == "D1S1" and [u["code"] for u in s["co_units"]] == ["WATER"] and s["certain"]
    r = api.get("/api/v1/routing/suggestion", query_string={"category_id": 999999})
    assert r.status_code == 422 and "category_id" in r.json["error"]["fields"]
    r = api.get("/api/v1/routing/suggestion")
    assert r.status_code == 422 and r.json["error"]["fields"] == {"category_id": "必填"}


# --- reports ---------------------------------------------------------------------------------------
def a_closed_week(world):
    t = world.reviewed()
    svc.record_callback(t.id, world.callback_agent, t.version, reached=True, resolution="resolved",
                        satisfaction=Satisfaction.SATISFIED, citizen_words="好", request_reasonable=True)
    world.dispatched(title="还没签收")
    at(datetime(2026, 12, 1, 10, 0))  # the week 2026-W48 is over


def test_weekly_and_monthly_reports(world, client):
    a_closed_week(world)
    api = api_as(client, world.manager)
    r = api.get("/api/v1/reports/weekly/2026-W48")
    assert r.status_code == 200, r.json
    rep = ReportOut.model_validate(r.json)
    assert rep.period == "2026-W48" and rep.revision == 1 and not rep.live
    assert (r.json["start"], r.json["end"]) == ("2026-11-23T00:00:00+08:00", "2026-11-30T00:00:00+08:00")
    assert rep.city.values["received"] == 2
    sign = rep.city.rates["sign_rate"]
    assert sign.value[1] and sign.percent.endswith("%")
    satisfaction = rep.city.rates["satisfaction_rate"]
    assert satisfaction.value == (1, 1) and satisfaction.percent == "100.0%"
    assert {c.key for c in rep.columns} >= {"received", "closed_on_time"}
    d1 = next(row for row in rep.rows if row.unit_id == world.district.id)
    assert d1.values["received"] == 2
    # the same again: the stored snapshot, not a second one
    assert api.get("/api/v1/reports/weekly/2026-w48").json["revision"] == 1
    live = ReportOut.model_validate(api.get("/api/v1/reports/monthly/2026-12").json)
    assert live.live and live.revision == 0
    month = ReportOut.model_validate(api.get("/api/v1/reports/monthly/2026-11").json)
    assert month.city.values["received"] == 2 and not month.live
    r = api.get("/api/v1/reports/weekly/last-week")
    assert r.status_code == 422 and r.json["error"]["fields"] == {"week": r.json["error"]["message"]}


def test_ranking_and_dashboard(world, client):
    a_closed_week(world)
    api = api_as(client, world.supervisor)
    r = api.get("/api/v1/reports/ranking")  # the last full week by default
    assert r.status_code == 200, r.json
    ranking = RankingOut.model_validate(r.json)
    assert ranking.start.date().isoformat() == "2026-11-23" and ranking.level == 2
    d1 = next(row for row in ranking.rows if row.unit_id == world.district.id)
    assert d1.rank == 1 and d1.score is not None and d1.values["received"] == 2
    r = api.get("/api/v1/reports/ranking", query_string={"date_from": "2026-11-30", "date_to": "2026-11-01"})
    assert r.status_code == 422 and "date_to" in r.json["error"]["fields"]
    r = api.get("/api/v1/reports/ranking", query_string={"level": 7})
    assert r.status_code == 422 and "level" in r.json["error"]["fields"]
    r = api.get("/api/v1/reports/dashboard", query_string={"date_from": "2026-11-01", "date_to": "2026-11-30"})
    dash = DashboardOut.model_validate(r.json)
    assert dash.total == 2 and sum(f.value for f in dash.by_day) == 2
    assert {f.label for f in dash.by_type} >= {"求助"}
    r = api.get("/api/v1/reports/dashboard", query_string={"date_from": "2024-01-01", "date_to": "2026-11-30"})
    assert r.status_code == 422 and "date_from" in r.json["error"]["fields"]
    r = api.get("/api/v1/reports/dashboard", query_string={"date_from": "2026-11-30", "date_to": "2026-11-01"})
    assert r.status_code == 422 and "date_from" in r.json["error"]["fields"]


@pytest.mark.parametrize("who", ["operator", "district_staff", "callback_agent", "leader"])
def test_reports_are_for_managers_supervisors_dispatchers_and_admins(world, client, who):
    api = api_as(client, getattr(world, who))
    for path in ("/api/v1/reports/weekly/2026-W47", "/api/v1/reports/monthly/2026-10", "/api/v1/reports/ranking",
                 "/api/v1/reports/dashboard"):
        r = api.get(path)
        assert r.status_code == 403 and r.json["error"]["code"] == "FORBIDDEN_ROLE", path
    for reader in ("manager", "supervisor", "dispatcher", "admin"):
        assert api_as(client, getattr(world, reader)).get("/api/v1/reports/dashboard").status_code == 200
