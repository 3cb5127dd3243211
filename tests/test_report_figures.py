"""Reports as of a moment: late generation reads the same, every figure's count equals its
drill-down, snapshots keep their revisions, pages open on the last finished period."""
import re
from datetime import date, datetime

import sqlalchemy as sa

from hotline.extensions import db
from hotline.reports.definitions import Definitions
from hotline.reports.metrics import METRICS
from hotline.reports.models import ReportSnapshot
from hotline.reports.rates import NEEDED, as_fraction, percent, unit_ranking
from hotline.reports.snapshots import build_report, diff, generate_report
from hotline.tickets.models import Ticket
from tests import svc
from tests.factories import at
from tests.test_pages import csrf_token, login
from tests.test_reports import W48, build, v


def _total(html: str) -> int:
    m = re.search(r"共 (\d+) 条", html)
    assert m, "the drill-down states its total"
    return int(m.group(1))


def _token(client) -> str:
    return csrf_token(client.get("/reports/weekly").get_data(as_text=True))


def _same_figures(a: dict, b: dict) -> None:
    assert a["rows"] == b["rows"]
    assert a["city"] == b["city"]
    assert a["ids"] == b["ids"]
    assert a["overdue"] == b["overdue"]


def test_a_late_report_counts_what_was_overdue_at_the_end_of_the_week(world):
    ids = build(world)
    at(datetime(2026, 11, 30, 8, 0))
    on_time = build_report("weekly", W48, ids=True)
    assert on_time["city"]["values"]["overdue_now"] == 1
    # the overdue ticket is answered and closed the next week; the scheduler was down
    at(datetime(2026, 12, 2, 10, 0))
    t = ids["water_overdue"]
    svc.reply(t, world.water_staff, v(t), "已办结。", contacted_citizen=True)
    at(datetime(2026, 12, 2, 11, 0))
    svc.review(t, world.dispatcher, v(t), accept=True)
    at(datetime(2026, 12, 2, 12, 0))
    svc.record_callback(t, world.callback_agent, v(t), reached=True, resolution="resolved", satisfaction="satisfied")
    assert db.session.get(Ticket, t).state.value == "closed"
    at(datetime(2026, 12, 7, 9, 0))
    late = build_report("weekly", W48, ids=True)
    _same_figures(on_time, late)
    (o,) = late["overdue"]
    assert o["ticket_id"] == t and o["days_overdue"] == 1
    # the week after shows the close, not week 48
    w49 = build_report("weekly", "2026-W49")
    assert w49["city"]["values"]["closed"] == 1 and w49["city"]["values"]["closed_late"] == 1


def test_overdue_days_started_or_whole(world):
    at(datetime(2026, 11, 23, 9, 0))
    t = world.signed(lead=world.water, request_type="consultation")
    due = t.lead_assignment.handle_due_at  # Thu 26 Nov 09:00
    assert due == datetime(2026, 11, 26, 9, 0)
    at(datetime(2026, 11, 30, 8, 0))
    whole = build_report("weekly", W48)["overdue"][0]
    assert whole["overdue_minutes"] == 9 * 60 + 9 * 60  # Thu 09-18, Fri 09-18
    assert whole["days_overdue"] == 2
    at(datetime(2026, 11, 26, 23, 0))  # the same ticket 9 working hours late, seen mid-week
    started = build_report("weekly", W48, defs=Definitions(overdue_days="started"))["overdue"][0]
    whole = build_report("weekly", W48)["overdue"][0]
    assert (started["days_overdue"], whole["days_overdue"]) == (1, 1)
    at(datetime(2026, 11, 26, 14, 0))  # 5 working hours late
    started = build_report("weekly", W48, defs=Definitions(overdue_days="started"))["overdue"][0]
    whole = build_report("weekly", W48)["overdue"][0]
    assert (started["days_overdue"], whole["days_overdue"]) == (1, 0)


def test_every_weekly_and_monthly_figure_drills_down_to_exactly_its_count(world, client):
    build(world)
    at(datetime(2026, 12, 1, 8, 0))
    login(client, "manager")
    for kind, key in (("weekly", W48), ("monthly", "2026-11")):
        assert client.get(f"/reports/{kind}/{key}").status_code == 200  # stores the snapshot
        snap = db.session.scalars(sa.select(ReportSnapshot).where(ReportSnapshot.kind == kind,
                                                                  ReportSnapshot.period == key)).one()
        rows = [(None, snap.data["city"]["values"])] + [(r["unit_id"], r["values"]) for r in snap.data["rows"]]
        checked = 0
        for metric in METRICS:
            for unit_id, values in rows:
                query = {"snapshot": snap.id, "metric": metric}
                if unit_id:
                    query["unit_id"] = unit_id
                html = client.get("/reports/drill", query_string=query).get_data(as_text=True)
                assert _total(html) == values[metric], (kind, metric, unit_id)
                checked += 1
        assert checked == len(METRICS) * len(rows)
        assert sum(snap.data["city"]["values"].values()) > 20  # the story fills the figures


def test_every_ranking_figure_drills_down_to_exactly_its_count(world, client):
    build(world)
    at(datetime(2026, 11, 30, 8, 0))
    data = unit_ranking(date(2026, 11, 23), date(2026, 11, 29), level=2)
    login(client, "manager")
    q = {"start": data["start"], "end": data["end"], "as_of": data["as_of"]}
    assert data["rows"]
    for row in data["rows"]:
        for metric in NEEDED:
            html = client.get("/reports/drill", query_string={"metric": metric, "unit_id": row["unit_id"], **q}
                              ).get_data(as_text=True)
            assert _total(html) == row["counts"][metric], (row["unit"], metric)


def test_rates_are_exact_and_rounded_once(world):
    assert percent([13, 14]) == "92.9%"  # 92.857…: rounded once, not 92.8
    assert percent([1, 8]) == "12.5%" and percent([1, 3]) == "33.3%" and percent(None) == "—"
    build(world)
    at(datetime(2026, 11, 30, 8, 0))
    row = {r["unit"]: r for r in unit_ranking(date(2026, 11, 23), date(2026, 11, 29))["rows"]}["东城区人民政府"]
    assert row["rates"]["sign_rate"] == [2, 3]  # 4 / 6 kept exact
    assert row["parts"]["sign_rate"] == "4 / 6"


def test_regenerating_keeps_the_earlier_revision_and_shows_the_difference(world, client):
    ids = build(world)
    at(datetime(2026, 11, 30, 8, 0))
    first = generate_report("weekly", W48)
    db.session.commit()
    login(client, "manager")
    # no reason: refused in Chinese, input kept, nothing stored
    resp = client.post("/reports/weekly", data={"period": W48, "force": "1", "reason": "",
                                                "csrf_token": _token(client)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "重新生成须写明原因" in html and f'value="{W48}"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportSnapshot)) == 1
    # an admin changes the definitions: the new revision counts by them, the old stays
    from hotline.reports.definitions import save
    save(Definitions(sign_returns="include"))
    db.session.commit()
    resp = client.post("/reports/weekly", data={"period": W48, "force": "1", "reason": "按新口径复核",
                                                "csrf_token": _token(client)})
    assert resp.status_code == 302
    revs = db.session.scalars(sa.select(ReportSnapshot).order_by(ReportSnapshot.revision)).all()
    assert [r.revision for r in revs] == [1, 2] and revs[1].reason == "按新口径复核"
    assert revs[1].generated_by.username == "manager" and revs[0].data == first.data
    html = client.get(f"/reports/weekly/{W48}").get_data(as_text=True)
    assert "第 2 版" in html and "与第 1 版相比的变化" in html and "按新口径复核" in html and "统计口径" in html
    assert client.get(f"/reports/weekly/{W48}?revision=1").status_code == 200
    assert client.get(f"/reports/weekly/{W48}?revision=9").status_code == 404
    changes = diff(revs[0].data, revs[1].data)
    assert any(c["key"] == "definitions" for c in changes)
    # sign_returns="include" changes no figure here (the week's only return was overruled)
    assert [c for c in changes if c["key"] != "definitions"] == []


def test_pages_open_on_the_last_finished_period(world, client):
    build(world)
    at(datetime(2026, 12, 2, 10, 0))  # Wednesday of week 49
    login(client, "manager")
    html = client.get("/reports/weekly").get_data(as_text=True)
    assert "12345热线周报 2026-W48" in html and "东城区人民政府" in html
    html = client.get("/reports/monthly").get_data(as_text=True)
    assert "12345热线月度通报 2026-11" in html and "环比" in html
    html = client.get("/reports/rates").get_data(as_text=True)
    assert 'value="2026-11-23"' in html and 'value="2026-11-29"' in html and "市自来水公司" in html
    html = client.get("/reports/rates?date_from=2026-13-01").get_data(as_text=True)
    assert "格式不正确" in html
    assert client.get("/reports/weekly/2026-W99").status_code == 404
    assert client.get("/reports/yearly").status_code == 404


def test_monthly_bulletin_compares_with_the_previous_month(world):
    at(datetime(2026, 10, 12, 10, 0))
    world.dispatched()
    at(datetime(2026, 11, 10, 10, 0))
    world.dispatched()
    world.dispatched(lead=world.water)
    at(datetime(2026, 12, 1, 8, 0))
    data = build_report("monthly", "2026-11")
    assert data["city"]["values"]["received"] == 2
    assert data["previous"]["period"] == "2026-10" and data["previous"]["values"]["received"] == 1
    from hotline.scheduler.jobs import monthly_report
    assert monthly_report()["period"] == "2026-11"


def test_co_units_are_counted_on_their_own_deadlines_apart_from_lead_work(world):
    at(datetime(2026, 11, 23, 9, 0))
    t = world.dispatched(cos=(world.water,))
    co = next(a for a in t.assignments if a.unit_id == world.water.id)
    at(datetime(2026, 11, 23, 10, 0))
    svc.act("sign", t.id, world.water_staff, v(t.id), target=co.id)
    at(datetime(2026, 11, 30, 8, 0))
    data = build_report("weekly", W48)
    water = next(r for r in data["rows"] if r["unit"] == "市自来水公司")["values"]
    assert (water["received"], water["co_received"], water["co_signed_on_time"]) == (0, 1, 1)
    assert water["co_should_reply"] == 1 and water["co_overdue_now"] == 1  # its co-unit deadline passed
    assert water["overdue_now"] == 0  # lead work only
    assert as_fraction(next(r for r in data["rows"] if r["unit"] == "市自来水公司")["rates"]["co_sign_rate"]) == 1


def test_close_is_judged_against_each_tickets_own_first_deadline(world):
    """Each ticket's own first reopen (not the first reopen of any ticket) fixes the
    deadline 按时办结 is judged by under the default definition."""
    w = world
    at(datetime(2026, 11, 2, 9, 0))  # an earlier ticket reopened first
    x = w.reviewed().id
    at(datetime(2026, 11, 2, 9, 30))
    svc.record_callback(x, w.callback_agent, v(x), reached=True, resolution="unresolved", satisfaction="unsatisfied")
    at(datetime(2026, 11, 23, 9, 0))
    y = w.signed(request_type="consultation").id  # first deadline Thu 26 Nov 09:00
    at(datetime(2026, 11, 24, 9, 0))
    svc.reply(y, w.district_staff, v(y), "已答复。")
    at(datetime(2026, 11, 24, 10, 0))
    svc.review(y, w.dispatcher, v(y), accept=True)
    at(datetime(2026, 11, 24, 11, 0))
    svc.record_callback(y, w.callback_agent, v(y), reached=True, resolution="unresolved", satisfaction="unsatisfied")
    at(datetime(2026, 11, 27, 9, 0))  # after the first deadline, within the redo's
    svc.reply(y, w.district_staff, v(y), "重新办理完毕。")
    at(datetime(2026, 11, 27, 10, 0))
    svc.review(y, w.dispatcher, v(y), accept=True)
    at(datetime(2026, 11, 27, 10, 30))
    svc.act("signoff_approve", y, w.leader, v(y), words="同意")  # 领导签批 of a supervised redo
    at(datetime(2026, 11, 27, 11, 0))
    svc.record_callback(y, w.callback_agent, v(y), reached=True, resolution="resolved", satisfaction="satisfied")
    at(datetime(2026, 11, 30, 8, 0))
    first = build_report("weekly", W48, ids=True)
    assert first["ids"]["closed"] == {str(w.district.id): [y]}
    assert first["ids"]["closed_late"] == {str(w.district.id): [y]} and first["ids"]["closed_on_time"] == {}
    by_round = build_report("weekly", W48, defs=Definitions(close_basis="round"), ids=True)
    assert by_round["ids"]["closed_on_time"] == {str(w.district.id): [y]}


def test_repeat_calls_take_the_latest_earlier_call_of_the_number_within_the_window(world):
    """重复来电 as both databases count it (PostgreSQL by a window over the number's calls,
    SQLite by a probe per call): calls at the same second are not earlier than each other,
    the previous call may lie before the week but must be within the window's days of the
    call itself, and a call without a number is never a repeat."""
    def call(moment, phone):
        at(moment)
        return world.record(caller_phone=phone).id

    call(datetime(2026, 10, 24, 0, 0), "13900000002")  # 30 days before the week: in the scan, too early
    call(datetime(2026, 10, 25, 10, 0), "13900000003")  # 29 days before Z's call below
    a = call(datetime(2026, 11, 24, 9, 0), "13900000001")
    b = call(datetime(2026, 11, 24, 9, 0), "13900000001")  # the same second as a: neither is earlier
    c = call(datetime(2026, 11, 24, 9, 0, 1), "13900000001")  # a second later: a repeat
    y = call(datetime(2026, 11, 23, 9, 0), "13900000002")
    z = call(datetime(2026, 11, 23, 9, 0), "13900000003")
    at(datetime(2026, 11, 30, 8, 0))
    listed = build_report("weekly", W48, ids=True)
    repeats = {i for per in listed["ids"]["repeat_calls"].values() for i in per}
    calls = {i for per in listed["ids"]["calls"].values() for i in per}
    assert {a, b, c, y, z} <= calls
    assert repeats == {c, z}
    assert build_report("weekly", W48)["city"]["values"]["repeat_calls"] == 2
