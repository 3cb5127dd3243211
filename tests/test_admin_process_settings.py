"""The admin's process settings page: the values the process reads, stored and used."""
from __future__ import annotations

from hotline.deadlines.services import CO_UNIT_DAYS_BEFORE_LEAD
from hotline.dispatch.coordination import COORDINATION_AFTER_RETURNS, FALLBACK_UNIT_ID
from hotline.enums import TicketState
from hotline.extensions import db
from hotline.intake.cases import refusal_reasons
from hotline.review.signoff import SIGNOFF_GATE
from hotline.settings import value
from hotline.tickets.models import Ticket
from tests import svc
from tests.test_pages import csrf_token, login
from tests.test_transitions_support import make

REASONS = "litigation|涉法涉诉|已进入诉讼程序，请依法解决。\nno_substance|无实质内容|请说明具体诉求。"


def _form(client):
    resp = client.get("/admin/process")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    return html, {"csrf_token": csrf_token(html)}


def test_admin_sets_the_process_and_the_process_follows(world, client):
    login(client, "admin")
    html, data = _form(client)
    assert "流程设置" in html and "领导签批" in html
    data.update({"signoff_min_level": "2", "signoff_request_types": "complaint", "co_unit_days_before_lead": "0",
                 "coordination_after_returns": "3", "fallback_unit_id": str(world.water.id),
                 "refusal_reasons": REASONS})  # signoff_enabled unchecked
    resp = client.post("/admin/process", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.expire_all()
    assert value(SIGNOFF_GATE, {}) == {"enabled": False, "min_level": 2, "request_types": ["complaint"]}
    assert value(CO_UNIT_DAYS_BEFORE_LEAD, 1) == 0
    assert value(COORDINATION_AFTER_RETURNS, 2) == 3
    assert value(FALLBACK_UNIT_ID, None) == world.water.id
    assert [r["key"] for r in refusal_reasons()] == ["litigation", "no_substance"]
    # the process reads them: co-units now share the lead's deadline
    t = world.dispatched(cos=[world.housing])
    db.session.expire_all()
    lead, co = sorted(db.session.get(Ticket, t.id).active_assignments(), key=lambda a: a.role.value != "lead")
    assert co.handle_due_at == lead.handle_due_at
    # ... and the sign-off gate is off: a re-handled reply goes straight to callback
    c = make(world, "reopened")
    svc.reply(c.t, world.district_staff, c.v, "已彻底修复")
    svc.review(c.t, world.dispatcher, c.v, True)
    assert db.session.get(Ticket, c.t).state is TicketState.REVIEWED


def test_bad_refusal_lines_are_refused_in_chinese_with_the_input_kept(world, client):
    login(client, "admin")
    _, data = _form(client)
    bad = "litigation|涉法涉诉|话术\nBad Key|名称|话术"
    data.update({"signoff_enabled": "y", "signoff_min_level": "1", "co_unit_days_before_lead": "11",
                 "coordination_after_returns": "2", "fallback_unit_id": "", "refusal_reasons": bad})
    resp = client.post("/admin/process", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "第 2 行的代码只能用小写字母、数字和下划线" in html and "须为 0–10 之间的整数" in html
    assert "Bad Key|名称|话术" in html  # the input is kept
    assert value(COORDINATION_AFTER_RETURNS, 2) == 2  # nothing stored


def test_only_the_admin_may_set_the_process(world, client):
    login(client, "dispatcher")
    assert client.get("/admin/process").status_code == 403
    html = client.get("/").get_data(as_text=True)
    resp = client.post("/admin/process", data={"csrf_token": csrf_token(html), "coordination_after_returns": "9"})
    assert resp.status_code == 403
    assert value(COORDINATION_AFTER_RETURNS, 2) == 2
