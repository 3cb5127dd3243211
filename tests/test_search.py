"""Keyword search: exactly the substring search on both databases (PostgreSQL narrows
with the character-gram index first), ranked by relevance then date; capped totals and
keyset pages on the ticket list."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hotline.extensions import db
from hotline.tickets import queries
from hotline.tickets.models import Ticket
from tests.conftest import START
from tests.factories import at
from tests.test_pages import csrf_token, login

TEXTS = [  # (title, content, address)
    ("小区电梯故障", "幸福小区 3 号楼电梯停运三天，请尽快维修。", "幸福路12号"),
    ("路灯不亮", "人民路与中山路交叉口路灯不亮，夜间出行不便", "中山路"),
    ("ABC物业乱收费", "3A栋业主反映物业公司ABC多收停车费。", "建设路 8 号"),
    ("噪音扰民", "楼下KTV营业到凌晨，噪音很大", "解放路100%广场"),
    ("占道经营", "早市摊贩占用人行道_盲道", "光明路'老街'"),
    ("停水", "昨晚起停水，没有通知\\公告", "滨江花园"),
    ("电", "梯", "灯"),
    ("网约车乱收费", "司机绕路多收费用，车牌 苏A12345", ""),
]

QUERIES = ["电梯", "梯", "电", "灯", "路灯", "中山路", "路与中", "幸福路12号", "幸福路1", "12号", "3a栋", "a栋", "abc",
           "ABC物业", "物业公司abc", "苏a12345", "a1", "ktv", "100%", "%", "_", "_盲", "'老街'", "'", "\\", "\\公",
           "障幸", "号楼", "修。", "。", "收费", "乱收费 物业", "收费 车牌", "停水 路灯", "不存在的词", "亮人",
           "z", "路 灯"]


def logout(client):
    html = client.get("/").get_data(as_text=True)
    if "csrf_token" in html:
        client.post("/logout", data={"csrf_token": csrf_token(html)})


def expected_ids(tickets, text):
    words = text.split()[:5]
    return {t.id for t, fields in tickets
            if all(any(w.lower() in f.lower() for f in fields) for w in words)}


def listed_ids(client, query: str) -> list[int]:
    resp = client.get("/tickets", query_string={"text": query})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    table = html[html.index('<table class="list">'):]
    return [int(i) for i in re.findall(r'href="/tickets/(\d+)"', table)]


@pytest.fixture
def tickets(world):
    out = []
    for i, (title, content, address) in enumerate(TEXTS):
        at(START + timedelta(minutes=i))
        t = world.record(title=title, content=content, address=address)
        out.append((t, (title, content, address)))
    return out


@pytest.mark.parametrize("query", QUERIES)
def test_keyword_search_finds_exactly_the_tickets_containing_it(tickets, client, query):
    login(client, "dispatcher")
    assert set(listed_ids(client, query)) == expected_ids(tickets, query)


def test_every_substring_of_every_text_finds_its_tickets(tickets, client, db_kind):
    """One- to four-character substrings at every position of every field (the bigram
    index must hold each of them), checked against the substring answer."""
    login(client, "dispatcher")
    probes = set()
    for _, fields in tickets:
        for f in fields:
            for n in (1, 2, 3, 4):
                probes.update(f[i:i + n] for i in range(0, max(len(f) - n + 1, 0), 3) if f[i:i + n].strip() == f[i:i + n])
    probes = sorted(p for p in probes if p and not p.isspace() and " " not in p)
    assert len(probes) > 100
    for probe in probes:
        assert set(listed_ids(client, probe)) == expected_ids(tickets, probe), probe


def test_results_rank_title_matches_first_then_newest(world, client):
    at(START)
    content_old = world.record(title="噪音", content="夜间施工有电钻声", address="")
    at(START + timedelta(hours=1))
    title_old = world.record(title="电钻噪音", content="无", address="")
    at(START + timedelta(hours=2))
    content_new = world.record(title="施工", content="电钻声音很大", address="")
    at(START + timedelta(hours=3))
    title_new = world.record(title="电钻扰民", content="电钻", address="")
    at(START + timedelta(hours=4))
    address_only = world.record(title="其他", content="无", address="电钻厂宿舍")
    world.record(title="无关", content="无关", address="")
    login(client, "dispatcher")
    assert listed_ids(client, "电钻") == [title_new.id, title_old.id, content_new.id, content_old.id,
                                         address_only.id]
    # an explicit order wins over relevance
    resp = client.get("/tickets", query_string={"text": "电钻", "sort": "created_asc"})
    html = resp.get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'href="/tickets/(\d+)"', html[html.index('<table class="list">'):])]
    assert ids == [content_old.id, title_old.id, content_new.id, title_new.id, address_only.id]


def test_unit_staff_search_stays_within_their_tickets(world, client):
    mine = world.dispatched(title="井盖缺失", content="人行道井盖缺失")
    world.dispatched(lead=world.housing, title="井盖松动", content="车道井盖松动")
    world.record(title="井盖破损", content="未派单")
    login(client, "d1staff")
    assert listed_ids(client, "井盖") == [mine.id]


def test_phone_search_is_exact_and_hides_confidential_tickets_from_units(world, client):
    a = world.dispatched(caller_phone="13912345678")
    secret = world.dispatched(caller_phone="13912345678", confidential=True)
    world.dispatched(caller_phone="13912345679")
    login(client, "dispatcher")
    html = client.get("/tickets?phone=13912345678").get_data(as_text=True)
    assert "共 2 条" in html and a.number in html and secret.number in html
    logout(client)
    login(client, "d1staff")
    html = client.get("/tickets?phone=13912345678").get_data(as_text=True)
    assert "共 1 条" in html and a.number in html and secret.number not in html


def test_search_index_follows_edits_and_bulk_loads(world, client, db_kind):
    t = world.record(title="旧标题甲乙", content="内容", address="")
    login(client, "dispatcher")
    assert listed_ids(client, "甲乙") == [t.id]
    t = db.session.get(Ticket, t.id)
    t.title = "新标题丙丁"
    db.session.commit()
    assert listed_ids(client, "甲乙") == [] and listed_ids(client, "丙丁") == [t.id]
    # a row written by the benchmark's bulk loader (COPY on PostgreSQL) is found too
    import sys
    import os
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from bench._data import bulk_insert

    row = {c.name: getattr(t, c.name) for c in Ticket.__table__.columns if c.name != "search_grams"}
    row.update(id=t.id + 1000, number="BULK-0001", title="批量戊己", external_source=None, external_number=None,
               open311_token=None, call_id=None)
    bulk_insert(Ticket.__table__, [row])
    db.session.commit()
    assert listed_ids(client, "戊己") == [t.id + 1000]
    if db_kind == "postgresql":
        grams = db.session.scalar(sa.text("SELECT search_grams::text FROM tickets WHERE id = :id"), {"id": t.id + 1000})
        assert "'戊己'" in grams and "'戊'" in grams


# --- pages of the list --------------------------------------------------------------
def _page(client, url):
    html = client.get(url).get_data(as_text=True)
    table = html[html.index('<table class="list">'):]
    ids = [int(i) for i in re.findall(r'href="/tickets/(\d+)"', table)]
    nav = html[html.index('<p class="pager">'):]
    links = dict((label, href.replace("&amp;", "&")) for href, label in
                 re.findall(r'<a href="([^"]+)">(上一页|下一页)</a>', nav))
    return html, ids, links


@pytest.mark.parametrize("sort", ["created_desc", "created_asc", "updated_desc"])
def test_walking_the_pages_shows_every_ticket_once_and_back(world, client, app, monkeypatch, sort):
    monkeypatch.setitem(app.config, "TICKETS_PER_PAGE", 3)
    made = []
    for i in range(8):
        at(START + timedelta(minutes=i))
        made.append(world.record(title=f"工单{i}").id)
    login(client, "dispatcher")
    url, seen, pages = f"/tickets?sort={sort}", [], []
    while url:
        html, ids, links = _page(client, url)
        assert "共 8 条" in html
        seen += ids
        pages.append(ids)
        url = links.get("下一页")
    expected = sorted(made, reverse=sort != "created_asc")
    assert seen == expected and len(pages) == 3
    if sort != "updated_desc":  # id orders page by the last id seen
        assert "after=" in client.get(f"/tickets?sort={sort}").get_data(as_text=True)
    # and back again from the last page
    html, ids, links = _page(client, f"/tickets?sort={sort}")
    _, ids2, links2 = _page(client, links["下一页"])
    _, ids3, links3 = _page(client, links2["下一页"])
    assert "下一页" not in links3
    _, back2, back_links = _page(client, links3["上一页"])
    assert back2 == ids2
    _, back1, _ = _page(client, back_links["上一页"])
    assert back1 == ids


def test_totals_over_the_cap_say_more_than(world, client, app, monkeypatch):
    monkeypatch.setattr(queries, "TOTAL_CAP", 4)
    monkeypatch.setitem(app.config, "KEYWORD_SEARCH_TOTAL_CAP", 4)
    for i in range(6):
        at(START + timedelta(minutes=i))
        world.record(title=f"电梯{i}", content="电梯" if i == 0 else "无")
    login(client, "dispatcher")
    html = client.get("/tickets").get_data(as_text=True)
    assert "超过 4 条" in html and "共 6 条" not in html
    # too many matches to rank: newest first instead
    html, ids, _ = _page(client, "/tickets?text=电梯")
    assert "超过 4 条" in html and ids == sorted(ids, reverse=True)
    monkeypatch.setitem(app.config, "KEYWORD_SEARCH_TOTAL_CAP", 10)
    html, ids, _ = _page(client, "/tickets?text=电梯")
    assert "共 6 条" in html and ids[0] == min(ids)  # the one with it in the content too ranks first


@pytest.mark.parametrize("newer", [0, 3, 4, 30], ids=["matches-newest", "mixed", "window", "matches-old"])
@pytest.mark.parametrize("sort", ["created_desc", "relevance", "created_asc"])
def test_a_keyword_search_counts_the_same_whether_the_newest_tickets_answer_or_the_index(
        world, client, app, monkeypatch, newer, sort):
    """keyword_search looks at the newest tickets first (a sample of 2 × cap ids, then
    a window of up to WINDOW_FACTOR × cap) and asks the index only when they do not
    settle it: the total, the "more than" and the rows must not depend on which one
    answered."""
    monkeypatch.setitem(app.config, "KEYWORD_SEARCH_TOTAL_CAP", 4)
    monkeypatch.setitem(app.config, "TICKETS_PER_PAGE", 50)
    monkeypatch.setattr(queries, "WINDOW_FACTOR", 4)  # a sample of the newest 8 ids, windows up to 16
    matching = []
    for i in range(6):
        at(START + timedelta(minutes=i))
        matching.append(world.record(title=f"井盖{i}", content="井盖缺失" if i % 2 else "无").id)
    for i in range(newer):
        at(START + timedelta(hours=1, minutes=i))
        world.record(title=f"其他{i}", content="路面破损")
    login(client, "dispatcher")
    html, ids, _ = _page(client, f"/tickets?text=井盖&sort={sort}")
    assert "超过 4 条" in html and "共 6 条" not in html
    assert sorted(ids) == sorted(matching)
    if sort != "created_asc":  # too many to rank: newest first
        assert ids == sorted(matching, reverse=True)
    # under the cap the exact total, and the ranking, whichever answered
    monkeypatch.setitem(app.config, "KEYWORD_SEARCH_TOTAL_CAP", 6)
    html, ids, _ = _page(client, f"/tickets?text=井盖&sort={sort}")
    assert "共 6 条" in html and sorted(ids) == sorted(matching)
    if sort == "relevance":
        assert ids[:3] == [matching[5], matching[3], matching[1]]  # in the content too, newest first
    # narrowed to a unit's scope, the rows it may see: none of these is dispatched
    logout(client)
    login(client, "d1staff")
    html, ids, _ = _page(client, f"/tickets?text=井盖&sort={sort}")
    assert ids == [] and "共 0 条" in html


def test_home_counts_match_the_queue_lists(world, client):
    """The home page counts each queue from the assignments side; the list behind each
    card filters tickets: both must agree, for the centre and for a unit."""
    world.record()
    world.dispatched()
    world.dispatched(lead=world.housing)
    s = world.signed()
    world.signed(lead=world.water)
    world.replied()
    world.reviewed()
    from tests import svc
    svc.hand_down(s.id, world.district_staff, s.version, world.street.id, "请街道办理")
    at(START + timedelta(days=40))  # everything open is overdue now
    for user in ("dispatcher", "d1staff", "s1staff", "housing", "supervisor"):
        logout(client)
        login(client, user)
        home = client.get("/").get_data(as_text=True)
        counts = {k: int(n) for k, n in re.findall(r'data-queue="(\w+)">(\d+)<', home)}
        assert counts
        for key, n in counts.items():
            listing, ids, _ = _page(client, f"/tickets?queue={key}")
            assert f"共 {n} 条" in listing and len(set(ids)) == n, (user, key, n, ids)
            # narrowed by another filter, the list counts its own rows: the same here
            listing = client.get(f"/tickets?queue={key}&date_from=2000-01-01").get_data(as_text=True)
            assert f"共 {n} 条" in listing, (user, key, n)
        if user == "dispatcher":
            assert counts["overdue"] == 4 and counts["to_sign"] == 2 and counts["handling"] == 2


def test_postgresql_connections_plan_each_statement_without_jit(app, db_kind):
    if db_kind != "postgresql":
        pytest.skip("PostgreSQL session settings")
    assert db.session.scalar(sa.text("SHOW jit")) == "off"
    assert db.session.scalar(sa.text("SHOW plan_cache_mode")) == "force_custom_plan"
