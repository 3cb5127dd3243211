"""The weekly overdue report and the unit ranking, figure by figure, on a known set of
tickets built with the clock set."""
from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest
import sqlalchemy as sa

from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.reports.models import ReportSnapshot as WeeklyReport
from hotline.reports.periods import parse_week
from hotline.reports.rates import as_fraction, unit_ranking
from hotline.reports.snapshots import build_report, generate_report


def build_weekly_report(week):
    return build_report("weekly", week)


def generate_weekly_report(week, **kw):
    return generate_report("weekly", week, **kw)
from tests import svc
from hotline.tickets.models import Ticket
from tests.factories import at
from tests.test_pages import login

W48 = "2026-W48"  # Monday 23 Nov - Sunday 29 Nov 2026


def v(tid):
    db.session.expire_all()
    return db.session.get(Ticket, tid).version


def close_satisfied(w, tid, when, satisfaction="satisfied"):
    at(when)
    svc.review(tid, w.dispatcher, v(tid), accept=True)
    svc.record_callback(tid, w.callback_agent, v(tid), reached=True, resolution="resolved",
                        satisfaction=satisfaction)


def build(w):
    """The story of week 48; returns ticket ids by name."""
    ids = {}
    at(datetime(2026, 11, 22, 23, 0))  # Sunday night of week 47
    ids["prev_week"] = w.dispatched().id
    at(datetime(2026, 11, 23, 9, 30))
    t = w.dispatched(request_type="help")
    svc.sign(t.id, w.district_staff, t.version)  # on time
    ids["signed_on_time"] = t.id
    at(datetime(2026, 11, 23, 10, 0))
    t = w.dispatched(lead=w.street)
    ids["street_signed_late"] = t.id
    at(datetime(2026, 11, 25, 10, 0))
    svc.sign(t.id, w.street_staff, v(t.id))  # sign due 24 Nov 10:00: late
    at(datetime(2026, 11, 23, 11, 0))
    t = w.dispatched(lead=w.housing, request_type="consultation")
    svc.sign(t.id, w.housing_staff, v(t.id))
    ids["housing_on_time"] = t.id
    at(datetime(2026, 11, 24, 15, 0))
    svc.reply(t.id, w.housing_staff, v(t.id), "已答复。", contacted_citizen=True)
    close_satisfied(w, t.id, datetime(2026, 11, 25, 9, 0))
    at(datetime(2026, 11, 23, 11, 0))
    t = w.dispatched(lead=w.water, request_type="consultation")  # handle due Thu 26 Nov 11:00
    svc.sign(t.id, w.water_staff, v(t.id))
    ids["water_overdue"] = t.id
    at(datetime(2026, 11, 23, 14, 0))
    t = w.dispatched(lead=w.water, request_type="consultation")  # due 26 Nov 14:00, replied late
    svc.sign(t.id, w.water_staff, v(t.id))
    at(datetime(2026, 11, 27, 9, 0))
    svc.reply(t.id, w.water_staff, v(t.id), "已处理。")
    close_satisfied(w, t.id, datetime(2026, 11, 27, 10, 0), satisfaction="basically")
    ids["water_closed_late"] = t.id
    at(datetime(2026, 11, 24, 9, 0))
    t = w.dispatched()
    ret = svc.return_ticket(t.id, w.district_staff, t.version, "not_our_duty", "")
    svc.overrule_return(t.id, w.dispatcher, v(t.id), ret.id, "属本单位职责")
    ids["returned_overruled"] = t.id
    t = w.signed()
    req = svc.request_extension(t.id, w.district_staff, t.version, t.lead_assignment.handle_due_at + timedelta(days=3),
                                "需协调")
    svc.approve_extension(t.id, w.dispatcher, v(t.id), req.id)
    ids["extended"] = t.id
    t = w.reviewed()
    svc.record_callback(t.id, w.callback_agent, v(t.id), reached=True, resolution="unresolved",
                        satisfaction="unsatisfied")  # reopens at once, with a supervision case
    ids["reopened"] = t.id
    t = w.reviewed()
    for _ in range(3):
        svc.record_callback(t.id, w.callback_agent, v(t.id), reached=False)
    svc.close(t.id, w.callback_agent, v(t.id), "unreachable")
    ids["unreachable"] = t.id
    at(datetime(2026, 11, 30, 0, 0))  # Monday of week 49: outside week 48
    ids["next_week"] = w.dispatched().id
    return ids


def row(data, unit_name):
    return next(r for r in data["rows"] if r["unit"] == unit_name)["values"]


def test_weekly_report_every_figure(world):
    build(world)
    at(datetime(2026, 11, 30, 8, 0))
    data = build_weekly_report(W48)
    assert data["start"] == "2026-11-23T00:00:00" and data["as_of"] == "2026-11-30T00:00:00"
    d = row(data, "东城区人民政府")  # includes its street
    assert d["received"] == 6  # signed_on_time, street, returned, extended, reopened, unreachable
    assert d["signed_on_time"] == 4  # all but the street's late signature; the returned one never signed
    assert d["closed_on_time"] == 1 and d["closed_late"] == 0  # the unreachable one was replied in time
    assert d["returned"] == 1 and d["returns_overruled"] == 1
    assert d["extensions"] == 1 and d["reopened"] == 1
    assert d["cases_open"] == 1 and d["cases_closed"] == 0 and d["unreachable"] == 1
    assert d["overdue_now"] == 0
    s = row(data, "东华街道办事处")
    assert (s["received"], s["signed_on_time"]) == (1, 0)
    water = row(data, "市自来水公司")
    assert (water["received"], water["overdue_now"], water["closed_late"], water["closed_on_time"]) == (2, 1, 1, 0)
    housing = row(data, "市住房和城乡建设局")
    assert (housing["received"], housing["closed_on_time"]) == (1, 1)
    assert data["city"]["values"]["received"] == 9 and data["city"]["values"]["overdue_now"] == 1
    (o,) = data["overdue"]
    assert o["unit"] == "市自来水公司" and o["due_at"] == "2026-11-26T11:00:00"
    assert o["days_overdue"] == 1  # Fri 27 Nov 11:00 passed; Mon 30 Nov 11:00 is after the week


def test_week_boundaries_follow_iso_weeks(world):
    build(world)
    assert parse_week("2026-W48") == (datetime(2026, 11, 23), datetime(2026, 11, 30))
    at(datetime(2026, 12, 1))
    w47 = build_weekly_report("2026-W47")
    assert w47["city"]["values"]["received"] == 1  # the Sunday-night dispatch
    w49 = build_weekly_report("2026-W49")
    assert w49["city"]["values"]["received"] == 1  # Monday 00:00 belongs to the new week


def test_holiday_week_counts_overdue_days_in_working_days(world):
    at(datetime(2026, 9, 30, 10, 0))  # consultation, 3 working days: 8, 9, 10 (make-up Saturday) Oct
    t = world.signed(request_type="consultation")
    assert t.lead_assignment.handle_due_at == datetime(2026, 10, 10, 10, 0)
    at(datetime(2026, 10, 20))
    w40 = build_weekly_report("2026-W40")  # 28 Sep - 4 Oct: not yet due at its end
    assert w40["city"]["values"]["received"] == 1 and w40["city"]["values"]["overdue_now"] == 0
    w41 = build_weekly_report("2026-W41")  # 5 - 11 Oct: due Saturday 10 Oct
    (o,) = w41["overdue"]
    assert o["days_overdue"] == 0  # the next working day (Mon 12 Oct) has not come by 12 Oct 00:00
    w42 = build_weekly_report("2026-W42")
    assert w42["overdue"][0]["days_overdue"] == 5


def test_ticket_reopened_across_weeks_counts_in_the_week_of_the_reopen(world):
    at(datetime(2026, 11, 19, 10, 0))  # week 47
    t = world.reviewed()
    at(datetime(2026, 11, 24, 10, 0))  # week 48
    svc.record_callback(t.id, world.callback_agent, v(t.id), reached=True, resolution="unresolved",
                        satisfaction="unsatisfied")
    at(datetime(2026, 12, 2))
    assert build_weekly_report("2026-W47")["city"]["values"]["reopened"] == 0
    w48 = build_weekly_report("2026-W48")
    assert w48["city"]["values"]["reopened"] == 1 and w48["city"]["values"]["received"] == 0
    assert row(w48, "东城区人民政府")["reopened"] == 1


def test_snapshot_is_kept_and_reads_the_same_later(world, client):
    ids = build(world)
    at(datetime(2026, 11, 30, 8, 0))
    report = generate_weekly_report(W48)
    first = dict(report.data)
    at(datetime(2026, 12, 10))
    svc.reply(ids["water_overdue"], world.water_staff, v(ids["water_overdue"]), "终于办完")
    again = generate_weekly_report(W48)
    assert again.data == first and db.session.scalar(sa.select(sa.func.count()).select_from(WeeklyReport)) == 1
    login(client, "manager")
    html = client.get(f"/reports/weekly/{W48}").get_data(as_text=True)
    assert "12345热线周报 2026-W48" in html and "市自来水公司" in html
    csv_body = client.get(f"/reports/weekly/{W48}.csv").data.decode("utf-8-sig")
    assert "全市合计" in csv_body and "超期工作日" in csv_body
    xlsx = client.get(f"/reports/weekly/{W48}.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_weekly_figures_drill_down_to_their_tickets(world, client):
    ids = build(world)
    at(datetime(2026, 11, 30, 8, 0))
    data = build_weekly_report(W48)
    login(client, "manager")
    q = {"start": data["start"], "end": data["end"], "as_of": data["as_of"]}
    html = client.get("/reports/drill", query_string={"metric": "overdue_now", **q}).get_data(as_text=True)
    number = db.session.get(Ticket, ids["water_overdue"]).number
    assert number in html and "共 1 条派件" in html
    html = client.get("/reports/drill", query_string={"metric": "received", "unit_id": world.district.id, **q}
                      ).get_data(as_text=True)
    assert "共 6 条派件" in html
    assert db.session.get(Ticket, ids["prev_week"]).number not in html


def test_weekly_report_job_and_cli(app, world):
    build(world)
    at(datetime(2026, 11, 30, 8, 0))
    from hotline.scheduler.jobs import weekly_report

    assert weekly_report()["period"] == W48
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["reports", "weekly", "--week", "2026-W47"])
    assert result.exit_code == 0 and "weekly report 2026-W47 revision 1" in result.output
    bad = app.test_cli_runner().invoke(args=["reports", "weekly", "--week", "2026-48"])
    assert bad.exit_code != 0 and "周次格式" in bad.output


def test_unit_ranking_rates_are_exact(world, client):
    build(world)
    at(datetime(2026, 11, 30, 8, 0))
    data = unit_ranking(date(2026, 11, 23), date(2026, 11, 29), level=2)
    rows = {r["unit"]: r for r in data["rows"]}
    water = rows["市自来水公司"]
    r = {k: as_fraction(val) for k, val in water["rates"].items()}
    assert water["counts"]["callbacks_reached"] == 1 and r["satisfaction_rate"] == 1
    assert r["sign_rate"] == 1 and r["close_rate"] == 0
    assert r["contact_rate"] == 0 and r["response_rate"] == Fraction(1, 2)
    housing = rows["市住房和城乡建设局"]
    assert as_fraction(housing["rates"]["resolution_rate"]) == 1 and as_fraction(housing["rates"]["response_rate"]) == 1
    assert as_fraction(housing["avg_handle_hours"]) == 13  # Mon 11:00 to Tue 15:00: 7 + 6 working hours
    d = rows["东城区人民政府"]
    assert d["counts"]["callbacks_reached"] == 1  # the 不满意 (reasonable) counts
    assert as_fraction(d["rates"]["satisfaction_rate"]) == 0 and as_fraction(d["rates"]["reopen_rate"]) == 1
    # should sign: all 6 (the returned one was overruled, so it is no timely return, and never signed)
    assert as_fraction(d["rates"]["return_rate"]) == Fraction(1, 6)
    assert as_fraction(d["rates"]["sign_rate"]) == Fraction(4, 6)
    assert [r["unit"] for r in data["rows"] if r["mark"] == "red"][:1] == ["市住房和城乡建设局"]
    login(client, "manager")
    html = client.get("/reports/rates?date_from=2026-11-23&date_to=2026-11-29&level=2").get_data(as_text=True)
    assert "满意率 = （满意 + 基本满意） ÷ 回访联系上的工单" in html and "红榜" in html
    assert "66.7%" in html  # 4/6, rounded once


def test_unreasonable_unsatisfied_does_not_count_until_decided(world):
    t = world.reviewed()
    svc.record_callback(t.id, world.callback_agent, v(t.id), reached=True, resolution="unresolved",
                        satisfaction="unsatisfied", request_reasonable=False)
    today = date(2026, 11, 23)
    rows = {r["unit"]: r for r in unit_ranking(today, today)["rows"]}
    assert rows["东城区人民政府"]["counts"]["callbacks_reached"] == 0
    svc.reopen(t.id, world.supervisor, v(t.id), "裁定计入")
    rows = {r["unit"]: r for r in unit_ranking(today, today)["rows"]}
    assert rows["东城区人民政府"]["counts"]["callbacks_reached"] == 1


def test_reports_are_for_managers_not_units(world, client):
    login(client, "d1staff")
    assert client.get("/reports/rates").status_code == 403
    assert client.get(f"/reports/weekly/{W48}").status_code == 403


def test_a_running_week_is_shown_live_and_never_stored(world, client):
    build(world)
    at(datetime(2026, 11, 26, 10, 0))  # Thursday of week 48
    login(client, "manager")
    html = client.get(f"/reports/weekly/{W48}").get_data(as_text=True)
    assert "本期尚未结束" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WeeklyReport)) == 0
    with pytest.raises(ValidationFailed, match="尚未结束"):  # the service refuses too
        generate_weekly_report(W48)
    at(datetime(2026, 11, 30, 8, 0))
    client.get(f"/reports/weekly/{W48}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WeeklyReport)) == 1
