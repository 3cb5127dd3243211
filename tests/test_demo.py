"""The demo data (`flask demo load`): every state reached through the real services, every
role with a working login, and a second load that changes nothing."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from hotline.categories.models import Category
from hotline.units.models import Unit
from hotline.auth.models import User, UserRole
from hotline.clock import TZ
from hotline.demo import city
from hotline.demo.loader import ALREADY_LOADED, load_demo
from hotline.demo.logins import LOGINS_FILE, logins_markdown
from hotline.enums import (AssignmentRole, Channel, Closure, EventAction, ExtensionState, RequestType,
                           ReturnDecision, Role, TicketState, Urgency)
from hotline.extensions import db
from hotline.tickets.models import Assignment, ExtensionRequest, Ticket, TicketEvent, TicketReturn
from tests.conftest import count

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
#: Every user action of the lifecycle (the scheduler's notices are not part of the demo).
LIFECYCLE_ACTIONS = {
    EventAction.RECORD, EventAction.ANSWER, EventAction.DISPATCH, EventAction.SIGN, EventAction.HAND_DOWN,
    EventAction.RETURN, EventAction.REDISPATCH, EventAction.OVERRULE_RETURN, EventAction.REQUEST_EXTENSION,
    EventAction.APPROVE_EXTENSION, EventAction.REFUSE_EXTENSION, EventAction.REPLY, EventAction.CO_REPLY,
    EventAction.REVIEW_ACCEPT, EventAction.REVIEW_REJECT, EventAction.CALLBACK, EventAction.REOPEN,
    EventAction.MERGE, EventAction.CLOSE,
}


def _quiet(*args, **kwargs):
    pass


def _snapshot() -> dict:
    return {m.__name__: count(m) for m in (Unit, Category, User, UserRole, Ticket, TicketEvent, Assignment)}


def test_demo_covers_every_state_role_and_twist(app):
    summary = load_demo(tickets=200, echo=_quiet)
    assert summary.startswith("演示数据已加载")
    real_now = datetime.now(TZ).replace(tzinfo=None)

    tickets = db.session.scalars(sa.select(Ticket)).all()
    assert len([t for t in tickets if t.split_from_id is None]) == 200  # and the parts split off them
    assert {t.state for t in tickets} == set(TicketState)
    assert {t.closure for t in tickets if t.closure} == set(Closure)
    assert all((t.closure is None) == (t.state is not TicketState.CLOSED) for t in tickets)
    assert {t.request_type for t in tickets} == set(RequestType)
    assert {t.channel for t in tickets} == set(Channel)
    assert {t.urgency for t in tickets} == set(Urgency)
    assert any(t.confidential for t in tickets)
    assert len({t.number for t in tickets}) == len(tickets)

    # every ticket has a history that ends in its state, in time order, before now
    events = defaultdict(list)
    for e in db.session.scalars(sa.select(TicketEvent).order_by(TicketEvent.id)):
        events[e.ticket_id].append(e)
    for t in tickets:
        history = events[t.id]
        assert history, t.number
        assert history[0].action is (EventAction.SPLIT if t.split_from_id else EventAction.RECORD)
        assert history[-1].to_state is t.state, t.number
        assert [e.at for e in history] == sorted(e.at for e in history), t.number
        assert history[-1].at < real_now
    created = sorted(t.created_at for t in tickets)
    assert (created[-1] - created[0]).days >= 20  # spread over about a month

    # the twists of the lifecycle all appear
    actions = {e.action for history in events.values() for e in history}
    assert actions >= LIFECYCLE_ACTIONS
    assert {r.decision for r in db.session.scalars(sa.select(TicketReturn))} == set(ReturnDecision)
    assert {x.state for x in db.session.scalars(sa.select(ExtensionRequest))} == set(ExtensionState)
    assert count(Assignment, Assignment.role == AssignmentRole.CO) > 0
    handed = db.session.scalars(sa.select(Assignment).where(Assignment.handler_unit_id.is_not(None))).all()
    assert {a.handler_unit.level for a in handed} == {3, 4}

    # organisation
    units = db.session.scalars(sa.select(Unit)).all()
    assert {u.level for u in units} == {1, 2, 3, 4}
    assert len({u.code for u in units}) == len(units)
    for u in units:
        assert u.path.endswith(f"/{u.id}/")
        assert u.parent is None or u.path.startswith(u.parent.path)
    assert count(Category) >= 30
    assert {r.role for r in db.session.scalars(sa.select(UserRole))} == set(Role)
    staff_units = {u.unit.level for u in db.session.scalars(sa.select(User)) if u.has_role(Role.UNIT_STAFF)}
    assert staff_units == {2, 3, 4}

    # the logins file matches the data and the load is refused the second time
    assert LOGINS_FILE.read_text(encoding="utf-8").endswith(logins_markdown())
    before = _snapshot()
    assert load_demo(tickets=200, echo=_quiet) == ALREADY_LOADED
    assert _snapshot() == before


def test_every_demo_login_works_with_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    lines = []
    load_demo(tickets=40, echo=lambda *a, **k: lines.append(" ".join(map(str, a))))
    printed = "\n".join(lines)

    # without the token the form is refused
    anonymous = app.test_client()
    resp = anonymous.post("/login", data={"username": "operator", "password": "operator123"})
    assert resp.status_code == 400  # CSRFProtect: the CSRF token is missing
    assert anonymous.get("/").status_code == 302

    for username, password, display_name, roles, unit_code in city.USERS:
        assert username in printed and password in printed
        client = app.test_client()
        page = client.get("/login")
        assert page.status_code == 200
        token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
        resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert resp.status_code == 302, username
        home = client.get("/")
        assert home.status_code == 200, username
        assert display_name in home.get_data(as_text=True), username


def test_demo_makes_every_page_non_empty(app):
    """A newcomer logging in as each role finds work on every page."""
    from hotline.notifications.models import Notification
    from hotline.intake.models import KnowledgeArticle
    from hotline.routing.models import RoutingRule
    from tests.test_pages import login

    load_demo(tickets=120, echo=_quiet)
    assert count(RoutingRule) > 10 and count(KnowledgeArticle) > 3 and count(Notification) > 0
    placeholders = re.compile(r"\{[a-z0-9]+\}")
    raw = [a.title for a in db.session.scalars(sa.select(KnowledgeArticle))
           if placeholders.search(a.title) or placeholders.search(a.body)]
    assert raw == [], "the knowledge base shows raw template placeholders"
    assert "小学学区划分及一年级报名时间" in {a.title for a in db.session.scalars(sa.select(KnowledgeArticle))}
    pages = {
        "operator": ["/", "/intake/new", "/intake/kb?q=申请", "/tickets"],
        "dispatcher": ["/", "/tickets?queue=pending_dispatch", "/tickets?queue=returned", "/tickets?queue=to_review",
                       "/tickets?queue=extensions"],
        "callback": ["/", "/tickets?queue=to_callback"],
        "supervisor": ["/", "/tickets?queue=supervised", "/tickets?queue=unsatisfied"],
        "dongcheng": ["/", "/tickets", "/notifications"],
        "admin": ["/admin/", "/admin/users", "/admin/units", "/admin/categories", "/admin/routing",
                  "/admin/time-limits", "/admin/holidays", "/admin/knowledge"],
    }
    passwords = {"dongcheng": "unit12345"}
    for user, urls in pages.items():
        client = app.test_client()
        login(client, user, passwords.get(user, f"{user}123"))
        for url in urls:
            resp = client.get(url)
            html = resp.get_data(as_text=True)
            assert resp.status_code == 200, (user, url)
            assert "没有符合条件的工单" not in html and "没有通知" not in html, (user, url)
            if url.startswith("/tickets"):
                assert re.search(r"共 [1-9]\d* 条", html), (user, url)


def test_every_link_a_role_sees_answers_without_a_server_error(app):
    """Crawl three levels of links from each role's home on the demo data: no 500 anywhere."""
    from tests.test_pages import login

    load_demo(tickets=60, echo=_quiet)
    logins = {"operator": "operator123", "dispatcher": "dispatcher123", "callback": "callback123",
              "supervisor": "supervisor123", "manager": "manager123", "admin": "admin123",
              "dongcheng": "unit12345", "xingfu": "unit12345"}
    skip = ("/logout", "/static/", ".csv", ".xlsx", "/attachments/", "javascript:", "http")
    for user, password in logins.items():
        client = app.test_client()
        login(client, user, password)
        seen, frontier = set(), ["/"]
        for _ in range(3):
            nxt = []
            for url in frontier:
                if url in seen or len(seen) > 120:
                    continue
                seen.add(url)
                resp = client.get(url)
                assert resp.status_code < 500, (user, url, resp.status_code)
                if resp.status_code == 200 and resp.mimetype == "text/html":
                    for href in re.findall(r'href="([^"#]+)"', resp.get_data(as_text=True)):
                        href = href.replace("&amp;", "&")
                        if href.startswith("/") and not any(s in href for s in skip):
                            nxt.append(href)
            frontier = nxt
        assert len(seen) >= 5, user
