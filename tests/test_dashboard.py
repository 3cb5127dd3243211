"""The dashboard (统计) and the CSV export, through the pages with CSRF on, on a known set
of tickets recorded with the clock set: every figure is checked exactly, and every figure's
drill-down link lists exactly the tickets it counts."""
from __future__ import annotations

import csv
import html
import io
import re
from collections import Counter
from datetime import datetime, timedelta

import pytest

from hotline.extensions import db
from tests import svc
from hotline.tickets.models import Ticket
from tests.factories import CategoryFactory, at
from tests.test_pages import login

NOW = datetime(2026, 11, 23, 9, 30)  # Monday; the default period is 2026-10-25 .. 2026-11-23


class Known:
    """Six tickets; A..E inside the default 30 days, F before it.

    A  11-02 help         phone   电梯故障   东城区  signed, never replied      -> overdue (open)
    B  11-03 consultation wechat  垃圾清运   西城区  lead 住建局, replied late  -> overdue (late)
    C  11-04 consultation website 电梯故障   (none)  replied on time
    D  11-20 complaint    phone   垃圾清运   东城区  not dispatched
    E  11-20 help         app     物业管理   东城区  dispatched, confidential, deadline ahead
    F  10-01 help         phone   电梯故障   东城区  recorded only (outside the period)
    """

    def __init__(self, world):
        self.w = world
        self.root2 = CategoryFactory(code="SR", name="市容环卫", full_name="市容环卫")
        self.garbage = CategoryFactory(code="SR-LJ", name="垃圾清运", full_name="市容环卫 › 垃圾清运",
                                       parent=self.root2)
        self.mid = world.category.parent
        db.session.commit()
        at(datetime(2026, 10, 1, 10, 0))
        self.F = world.record(request_type="help", channel="phone", title="F 工单")
        at(datetime(2026, 11, 2, 10, 0))
        self.A = world.signed(request_type="help", channel="phone", address="幸福路 12 号", title="A 工单",
                              caller_phone="13800000001")
        at(datetime(2026, 11, 3, 10, 0))
        b = world.signed(lead=world.housing, request_type="consultation", channel="wechat",
                         category_id=self.garbage.id, district_id=world.other_district.id, address="人民路 1 号",
                         title="B 工单")
        at(b.lead_assignment.handle_due_at + timedelta(hours=2))
        svc.reply(b.id, world.housing_staff, b.version, "已清运")
        self.B = db.session.get(Ticket, b.id)
        at(datetime(2026, 11, 4, 10, 0))
        self.C = world.replied(request_type="consultation", channel="website", district_id=None, address="",
                               title="C 工单")
        at(datetime(2026, 11, 20, 10, 0))
        self.D = world.record(request_type="complaint", channel="phone", category_id=self.garbage.id,
                              address="幸福路 12 号", title="D 工单")
        at(datetime(2026, 11, 20, 15, 0))
        self.E = world.dispatched(request_type="help", channel="app", category_id=self.mid.id,
                                  address="幸福路 12 号", confidential=True, caller_phone="13912345678",
                                  title="E 工单")
        db.session.commit()
        at(NOW)

    def due_day(self, ticket):
        return db.session.get(Ticket, ticket.id).lead_assignment.handle_due_at.date().isoformat()


@pytest.fixture
def known(world):
    return Known(world)


def figures(page: str, name: str) -> dict[str, tuple[int, str]]:
    """label -> (value, drill-down href) of one figure table on the page."""
    m = re.search(rf'<table class="list figures" data-figure="{name}">(.*?)</table>', page, re.S)
    assert m, f"no table {name}"
    rows = re.findall(r'<tr data-label="([^"]*)"><td>[^<]*</td><td class="num"><a href="([^"]+)">(\d+)</a>',
                      m.group(1))
    return {html.unescape(label): (int(value), html.unescape(href)) for label, href, value in rows}


def values(page: str, name: str) -> dict[str, int]:
    return {label: v for label, (v, _) in figures(page, name).items()}


def listed(client, href: str) -> tuple[int, str]:
    page = client.get(href).get_data(as_text=True)
    total = re.search(r"共 (\d+) 条", page)
    assert total, href
    return int(total.group(1)), page


def dashboard(client, query: str = "") -> str:
    resp = client.get("/dashboard" + query)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_dashboard_counts_the_known_tickets_exactly(known, client):
    login(client, "manager")
    page = dashboard(client)
    assert re.search(r'id="total"[^>]*>\s*<span>受理总量（2026-10-25 至 2026-11-23）</span>'
                     r'<span class="queue-count">5</span>', page)

    per_day = values(page, "by_day")
    assert len(per_day) == 30 and min(per_day) == "2026-10-25" and max(per_day) == "2026-11-23"
    assert {d: n for d, n in per_day.items() if n} == {"2026-11-02": 1, "2026-11-03": 1, "2026-11-04": 1,
                                                        "2026-11-20": 2}
    assert values(page, "by_type") == {"咨询": 2, "求助": 2, "投诉": 1, "举报": 0, "建议": 0, "表扬": 0, "其他": 0}
    assert values(page, "by_channel") == {"电话": 2, "网站": 1, "微信": 1, "APP": 1, "信件": 0, "领导批示": 0,
                                          "其他": 0}
    assert values(page, "by_top_category") == {"城乡建设": 3, "市容环卫": 2}
    assert list(values(page, "top_categories").items()) == [
        ("城乡建设 › 物业管理 › 电梯故障", 2), ("市容环卫 › 垃圾清运", 2), ("城乡建设 › 物业管理", 1)]
    assert values(page, "by_district") == {"东城区人民政府": 3, "西城区人民政府": 1, "未填写区县": 1}

    overdue = values(page, "overdue_by_day")
    assert len(overdue) == 30
    expected = Counter([known.due_day(known.A), known.due_day(known.B)])
    assert {d: n for d, n in overdue.items() if n} == dict(expected)
    assert re.search(r'id="overdue-total"[^>]*>\s*<span>期间办理超期</span><span class="queue-count">2</span>', page)
    assert "超期趋势：按主办单位当前办理时限的到期日统计" in page

    assert "本周热点（2026-11-17 至 2026-11-23）" in page
    assert values(page, "hot_categories") == {"城乡建设 › 物业管理": 1, "市容环卫 › 垃圾清运": 1}
    assert values(page, "hot_addresses") == {"幸福路 12 号": 2}


def test_charts_are_inline_svg_with_the_same_numbers_and_links(known, client):
    login(client, "manager")
    page = dashboard(client)
    assert page.count('<svg class="chart"') == 9
    content = page[page.index("<h1>统计</h1>"):page.index("</main>")]
    assert "<script" not in content and "cdn" not in content.lower()  # drawn on the server, nothing to load
    by_type = page[page.index('aria-label="按诉求类型"'):]
    by_type = by_type[:by_type.index("</svg>")]
    assert '<title>咨询：2</title>' in by_type and '<title>投诉：1</title>' in by_type
    assert re.search(r'<a href="/tickets\?date_from=2026-10-25&amp;date_to=2026-11-23&amp;request_type=complaint" '
                     r'aria-label="投诉：1"><title>投诉：1</title><rect class="bar"', by_type)
    assert 'role="img"' not in page  # the charts' links are reachable and announced (a named group)
    assert re.search(r'<text class="value"[^>]*>2</text>', by_type)
    per_day = page[page.index('aria-label="每日受理量"'):]
    assert per_day[:per_day.index("</svg>")].count('<circle class="point"') == 30


def test_every_figure_drills_down_to_exactly_its_tickets(known, client):
    login(client, "manager")
    page = dashboard(client)
    checked = 0
    for name in ("by_type", "by_channel", "by_top_category", "top_categories", "by_district", "overdue_by_day",
                 "hot_categories", "hot_addresses"):
        for label, (value, href) in figures(page, name).items():
            assert href.startswith("/tickets?")
            total, _ = listed(client, href)
            assert total == value, (name, label, href)
            checked += 1
    for day, (value, href) in figures(page, "by_day").items():
        if value or day in ("2026-10-25", "2026-11-23"):
            assert listed(client, href)[0] == value, day
            checked += 1
    assert checked > 40
    _, total_href = re.search(r'id="(total)" href="([^"]+)"', page).groups()
    assert listed(client, html.unescape(total_href))[0] == 5


def test_drill_down_lists_name_the_right_tickets(known, client):
    login(client, "manager")
    page = dashboard(client)
    _, overdue_a = listed(client, figures(page, "overdue_by_day")[known.due_day(known.A)][1])
    assert known.A.number in overdue_a and known.C.number not in overdue_a
    assert "主办单位办理时限于" in overdue_a  # the list says why it is narrowed
    _, late_b = listed(client, figures(page, "overdue_by_day")[known.due_day(known.B)][1])
    assert known.B.number in late_b
    _, mid_only = listed(client, figures(page, "top_categories")["城乡建设 › 物业管理"][1])
    assert known.E.number in mid_only and known.A.number not in mid_only  # subcategories left out
    _, top = listed(client, figures(page, "by_top_category")["城乡建设"][1])
    assert all(t.number in top for t in (known.A, known.C, known.E))
    _, none = listed(client, figures(page, "by_district")["未填写区县"][1])
    assert known.C.number in none and known.A.number not in none
    _, addr = listed(client, figures(page, "hot_addresses")["幸福路 12 号"][1])
    assert known.D.number in addr and known.E.number in addr and known.A.number not in addr  # A is older


def test_unit_filter_and_custom_period(known, client, world):
    login(client, "manager")
    housing = dashboard(client, f"?unit_id={world.housing.id}")
    assert values(housing, "by_type") == {"咨询": 1, "求助": 0, "投诉": 0, "举报": 0, "建议": 0, "表扬": 0, "其他": 0}
    assert {d: n for d, n in values(housing, "overdue_by_day").items() if n} == {known.due_day(known.B): 1}
    value, href = figures(housing, "by_channel")["微信"]
    assert value == 1 and f"unit_id={world.housing.id}" in href and listed(client, href)[0] == 1
    district = dashboard(client, f"?unit_id={world.district.id}")
    assert sum(values(district, "by_channel").values()) == 3  # A, C, E (D is not dispatched)

    october = dashboard(client, "?date_from=2026-10-01&date_to=2026-10-31")
    per_day = values(october, "by_day")
    assert len(per_day) == 31 and per_day["2026-10-01"] == 1 and sum(per_day.values()) == 1
    assert values(october, "by_type")["求助"] == 1
    assert "本周热点（2026-10-25 至 2026-10-31）" in october
    assert values(october, "hot_addresses") == {}

    wrong = dashboard(client, "?date_from=2026-11-10&date_to=2026-11-01")
    assert "起始日期晚于截止日期" in wrong and len(values(wrong, "by_day")) == 30


@pytest.mark.parametrize("username", ["d1staff", "operator", "callback"])
def test_dashboard_is_refused_to_other_roles(world, client, username):
    login(client, username)
    assert client.get("/dashboard").status_code == 403
    assert 'href="/dashboard"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("username", ["manager", "supervisor", "dispatcher", "admin"])
def test_dashboard_is_open_to_managing_roles_with_a_nav_link(world, client, username):
    login(client, username)
    assert client.get("/dashboard").status_code == 200
    assert '<a href="/dashboard">统计</a>' in client.get("/").get_data(as_text=True)


def test_dashboard_needs_login(world, client):
    assert client.get("/dashboard").status_code == 302


# --- CSV export -------------------------------------------------------------------------
def export(client, query: str = ""):
    resp = client.get("/tickets/export.csv" + query)
    assert resp.status_code == 200
    assert resp.is_streamed
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    raw = resp.get_data()
    assert raw.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    return rows[0], {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}, [r[0] for r in rows[1:]]


def test_export_streams_all_columns_with_a_bom(known, client):
    login(client, "manager")
    header, rows, order = export(client)
    assert header == ["工单编号", "受理时间", "渠道", "诉求类型", "紧急程度", "分类", "标题", "状态", "主办单位",
                      "所属区县", "办结时间", "联系电话"]
    assert set(rows) == {t.number for t in (known.A, known.B, known.C, known.D, known.E, known.F)}
    b = rows[known.B.number]
    assert b == {"工单编号": known.B.number, "受理时间": "2026-11-03 10:00:00", "渠道": "微信", "诉求类型": "咨询",
                 "紧急程度": "一般", "分类": "市容环卫 › 垃圾清运", "标题": "B 工单", "状态": "待审核",
                 "主办单位": "市住房和城乡建设局", "所属区县": "西城区人民政府", "办结时间": "",
                 "联系电话": "13800001111"}
    assert rows[known.D.number]["主办单位"] == "" and rows[known.D.number]["状态"] == "待派单"
    assert rows[known.C.number]["所属区县"] == ""
    assert rows[known.E.number]["联系电话"] == "13912345678"  # the centre sees confidential callers
    ids = {t.number: t.id for t in (known.A, known.B, known.C, known.D, known.E, known.F)}
    assert order == sorted(ids, key=lambda n: -ids[n])  # newest first, as the search lists them


def test_export_follows_the_search_filters_and_order(known, client):
    login(client, "manager")
    _, rows, _ = export(client, "?request_type=help&date_from=2026-10-25")
    assert set(rows) == {known.A.number, known.E.number}
    _, rows, _ = export(client, f"?district_id={known.w.district.id}&channel=phone")
    assert set(rows) == {known.A.number, known.D.number, known.F.number}
    _, _, order = export(client, "?sort=created_asc")
    assert order[0] == known.F.number and order[-1] == known.E.number
    _, rows, _ = export(client, "?queue=pending_dispatch")
    assert set(rows) == {known.D.number, known.F.number}


def test_export_keeps_unit_staff_to_their_tickets_without_confidential_phones(known, client):
    login(client, "d1staff")
    _, rows, _ = export(client)
    assert set(rows) == {known.A.number, known.C.number, known.E.number}
    assert rows[known.E.number]["联系电话"] == ""
    assert rows[known.A.number]["联系电话"] == "13800000001"
    _, rows, _ = export(client, "?phone=13912345678")
    assert rows == {}


def test_export_guards_against_spreadsheet_formulas(world, client):
    world.record(title="=HYPERLINK(\"http://x\",\"点我\")", caller_phone="+86-138-0000-1111")
    login(client, "manager")
    _, rows, _ = export(client)
    (row,) = rows.values()
    assert row["标题"].startswith("'=HYPERLINK")
    assert row["联系电话"] == "+86-138-0000-1111"


def test_search_page_links_the_export_with_its_query(known, client):
    login(client, "manager")
    page = client.get("/tickets?request_type=help&channel=phone&page=1").get_data(as_text=True)
    assert 'href="/tickets/export.csv?request_type=help&amp;channel=phone">导出 CSV</a>' in page


def test_search_keeps_its_behaviour_without_the_new_filters(known, client, world):
    login(client, "manager")
    total, page = listed(client, f"/tickets?category_id={world.category.parent.parent.id}")
    assert total == 4  # A, C, E and F: the category and everything below it
    assert "统计下钻条件" not in page


def test_charts_escape_labels_and_use_round_axes():
    from hotline.reports import charts

    svg = charts.hbar_chart([charts.Mark("<b>&", 3, "/tickets?a=1&b=2")], title="图<")
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg and 'href="/tickets?a=1&amp;b=2"' in svg
    assert 'aria-label="图&lt;"' in svg
    assert charts.nice_max(7) == (8, 2) and charts.nice_max(3) == (3, 1) and charts.nice_max(1) == (1, 1)
    assert charts.nice_max(0) == (1, 1) and charts.nice_max(930) == (1000, 250)
    empty = charts.line_chart([], title="空")
    assert empty.startswith('<svg class="chart"')
