"""受理 cases (hotline.intake.cases): 不予受理, 转应急处置, 回退 and 修改, 撤单, 匿名 with its
query code and the public status page; transitions on both databases, registry parity in
the situations these actions create, the pages with CSRF on, and the full loop."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from hotline.admin.models import Setting
from hotline.enums import AssignmentState, Closure, EmergencyLine, EventAction, NotificationKind, TicketState
from hotline.extensions import db
from hotline.intake.cases import DEFAULT_REFUSAL_REASONS, QUERY_CODE_ALPHABET, REFUSAL_REASONS, refusal_reasons
from hotline.lifecycle import available_actions
from hotline.notifications.models import Notification
from hotline.tickets.models import Assignment, Ticket
from tests import svc
from tests.conftest import count
from tests.factories import at
from tests.parity import check_parity, draft_of
from tests.test_pages import csrf_token, login
from tests.test_transitions_support import (NOW, ROLE, STALE, STATE, Ctx, applied, assignment_of, code, make,
                                            refused, snapshot)
from tests.test_transitions_support import invalid as bad
from tests.test_workbench import fresh, intake_data, page, post_action


# --- valid input of this step's actions, for the parity check ---------------------------


def last_event(tid):
    return snapshot(tid)["events"][-1]


def notices(**where):
    db.session.expire_all()
    stmt = sa.select(Notification)
    for k, v in where.items():
        stmt = stmt.where(getattr(Notification, k) == v)
    return list(db.session.scalars(stmt.order_by(Notification.id)))


# --- situations -------------------------------------------------------------------------
def _sent_back(w):
    c = make(w, "pending")
    svc.act("send_back", c.t, w.dispatcher, c.v, note="事发地址记录不全，请补充")
    return c


def _refused(w):
    c = make(w, "pending")
    svc.act("refuse_intake", c.t, w.operator, c.v, reason="petition")
    return c


def _transferred(w):
    c = make(w, "pending")
    svc.act("transfer", c.t, w.operator, c.v, line="119")
    return c


def _withdrawn(w):
    c = make(w, "signed")
    svc.act("withdraw", c.t, w.operator, c.v, note="诉求人来电表示电梯已修好，撤回诉求")
    return c


def _anonymous_letter(w):
    t = w.record(channel="letter", anonymous=True, caller_name="", caller_phone="")
    return Ctx(w, t.id)


def _anonymous_replied(w):
    t = w.replied(channel="website", anonymous=True, caller_name="", caller_phone="")
    return Ctx(w, t.id)


def _anonymous_reviewed(w):
    c = _anonymous_replied(w)
    svc.review(c.t, w.dispatcher, c.v, True)
    return c


SITUATIONS = {
    "sent_back": _sent_back,
    "refused": _refused,
    "transferred": _transferred,
    "withdrawn": _withdrawn,
    "anonymous_letter": _anonymous_letter,
    "anonymous_replied": _anonymous_replied,
    "anonymous_reviewed": _anonymous_reviewed,
}



@pytest.mark.parametrize("situation", sorted(SITUATIONS))
def test_parity_in_the_intake_situations(world, situation):
    master_id = world.record(caller_phone="13700003333").id
    c = SITUATIONS[situation](world)
    check_parity(world, c.t, master_id)


# --- 不予受理 ------------------------------------------------------------------------------
def test_operator_refuses_a_pending_ticket_with_a_reason_and_its_script(world):
    c = make(world, "pending")
    r = applied(c.t, lambda: svc.act("refuse_intake", c.t, world.operator, c.v, reason="litigation",
                                     note="已告知通过法院途径解决"))
    assert r.ticket["state"] is TicketState.CLOSED and r.ticket["closure"] is Closure.REFUSED
    assert r.ticket["refusal_reason"] == "litigation" and r.ticket["closed_at"] == NOW
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.REFUSE_INTAKE, TicketState.PENDING_DISPATCH, TicketState.CLOSED)
    litigation = DEFAULT_REFUSAL_REASONS[0]
    assert r.event["payload"] == {"reason": "litigation", "reason_label": "涉法涉诉", "script": litigation["script"],
                                  "closure": "refused"}  # the closure made, as reports count it later
    assert r.event["note"] == "已告知通过法院途径解决"


def test_dispatcher_refuses_a_sent_back_ticket(world):
    c = _sent_back(world)
    r = applied(c.t, lambda: svc.act("refuse_intake", c.t, world.dispatcher, c.v, reason="out_of_area"))
    assert r.ticket["closure"] is Closure.REFUSED and r.event["from_state"] is TicketState.SENT_BACK


def test_refusal_reasons_are_a_setting(world):
    assert [r["label"] for r in refusal_reasons()] == ["涉法涉诉", "信访事项", "非本行政区域", "无实质内容", "其他"]
    db.session.add(Setting(key=REFUSAL_REASONS, value='[{"key": "x1", "label": "重复诉求", "script": "已在办理"}]'))
    db.session.commit()
    assert refusal_reasons() == [{"key": "x1", "label": "重复诉求", "script": "已在办理"}]
    c = make(world, "pending")
    refused(c.t, lambda: svc.act("refuse_intake", c.t, world.operator, c.v, reason="litigation"), bad("reason"))
    r = applied(c.t, lambda: svc.act("refuse_intake", c.t, world.operator, c.v, reason="x1"))
    assert r.event["payload"]["script"] == "已在办理"


@pytest.mark.parametrize("situation, who, data, expect", [
    pytest.param("dispatched", "operator", {"reason": "litigation"}, STATE, id="dispatched"),
    pytest.param("answered", "operator", {"reason": "litigation"}, STATE, id="closed"),
    pytest.param("pending", "callback_agent", {"reason": "litigation"}, ROLE, id="callback_agent"),
    pytest.param("pending", "district_staff", {"reason": "litigation"}, ROLE, id="unit_staff"),
    pytest.param("pending", "operator", {"reason": ""}, bad("reason"), id="no_reason"),
    pytest.param("pending", "operator", {"reason": "nonsense"}, bad("reason"), id="unknown_reason"),
    pytest.param("pending", "operator", {"reason": "other", "note": " "}, bad("note"), id="other_without_note"),
])
def test_refusal_refused(world, situation, who, data, expect):
    c = make(world, situation)
    refused(c.t, lambda: svc.act("refuse_intake", c.t, getattr(world, who), c.v, **data), expect)


def test_refusal_on_a_stale_version_is_refused(world):
    c = make(world, "pending")
    refused(c.t, lambda: svc.act("refuse_intake", c.t, world.operator, c.v - 1 or 99, reason="litigation"), STALE)


# --- 转应急处置 ----------------------------------------------------------------------------
def test_transfer_defaults_to_now(world):
    c = make(world, "pending")
    r = applied(c.t, lambda: svc.act("transfer", c.t, world.operator, c.v, line="120"))
    assert r.ticket["state"] is TicketState.CLOSED and r.ticket["closure"] is Closure.TRANSFERRED
    assert r.ticket["transferred_to"] == "120" and r.ticket["transferred_at"] == NOW
    assert r.event["action"] is EventAction.TRANSFER
    assert r.event["payload"] == {"line": "120", "line_label": EmergencyLine.AMBULANCE.label,
                                  "transferred_at": NOW.isoformat(), "closure": "transferred"}


def test_transfer_keeps_the_moment_of_the_transfer(world):
    c = make(world, "pending")
    moment = NOW - timedelta(minutes=7)
    r = applied(c.t, lambda: svc.act("transfer", c.t, world.dispatcher, c.v, line="110", transferred_at=moment,
                                     note="疑似入室盗窃，已转110"))
    assert r.ticket["transferred_at"] == moment and r.ticket["closed_at"] == NOW


@pytest.mark.parametrize("situation, who, data, expect", [
    pytest.param("pending", "operator", {"line": "120", "transferred_at": NOW + timedelta(minutes=1)},
                 bad("transferred_at"), id="future_time"),
    pytest.param("pending", "operator", {"line": "999"}, bad("line"), id="unknown_line"),
    pytest.param("pending", "operator", {"line": ""}, bad("line"), id="no_line"),
    pytest.param("signed", "operator", {"line": "110"}, STATE, id="signed"),
    pytest.param("pending", "supervisor", {"line": "110"}, ROLE, id="supervisor"),
])
def test_transfer_refused(world, situation, who, data, expect):
    c = make(world, situation)
    refused(c.t, lambda: svc.act("transfer", c.t, getattr(world, who), c.v, **data), expect)


# --- 回退 and 修改 -------------------------------------------------------------------------
def test_dispatcher_sends_a_ticket_back_to_the_operator_who_recorded_it(world):
    c = make(world, "pending")
    r = applied(c.t, lambda: svc.act("send_back", c.t, world.dispatcher, c.v, note="事发地址记录不全"))
    assert r.ticket["state"] is TicketState.SENT_BACK and r.ticket["closure"] is None
    assert (r.event["action"], r.event["from_state"], r.event["to_state"], r.event["note"]) == (
        EventAction.SEND_BACK, TicketState.PENDING_DISPATCH, TicketState.SENT_BACK, "事发地址记录不全")
    [note] = notices(kind=NotificationKind.SENT_BACK)
    assert note.user_id == world.operator.id and note.ticket_id == c.t and note.body == "事发地址记录不全"
    offered = available_actions(fresh(c.t), world.operator)
    assert {"edit", "refuse_intake", "transfer", "withdraw"} <= set(offered)
    assert "dispatch" not in available_actions(fresh(c.t), world.dispatcher)


@pytest.mark.parametrize("situation, who, data, expect", [
    pytest.param("pending", "operator", {"note": "地址不全"}, ROLE, id="operator"),
    pytest.param("pending", "dispatcher", {"note": ""}, bad("note"), id="no_note"),
    pytest.param("dispatched", "dispatcher", {"note": "地址不全"}, STATE, id="dispatched"),
])
def test_send_back_refused(world, situation, who, data, expect):
    c = make(world, situation)
    refused(c.t, lambda: svc.act("send_back", c.t, getattr(world, who), c.v, **data), expect)


def test_send_back_twice_is_refused(world):
    c = _sent_back(world)
    refused(c.t, lambda: svc.act("send_back", c.t, world.dispatcher, c.v, note="再退"), STATE)


def test_operator_edits_a_sent_back_ticket_and_the_event_keeps_old_and_new(world):
    c = _sent_back(world)
    data = {**draft_of(fresh(c.t)), "address": "幸福路 12 号 3 号楼", "urgency": "urgent",
            "district_id": world.other_district.id}
    r = applied(c.t, lambda: svc.act("edit", c.t, world.operator, c.v, **data))
    assert r.ticket["state"] is TicketState.PENDING_DISPATCH
    assert r.ticket["address"] == "幸福路 12 号 3 号楼" and r.ticket["district_id"] == world.other_district.id
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.EDIT, TicketState.SENT_BACK, TicketState.PENDING_DISPATCH)
    assert r.event["payload"]["changes"] == {
        "urgency": ["normal", "urgent"], "address": ["幸福路 12 号", "幸福路 12 号 3 号楼"],
        "district_id": [world.district.id, world.other_district.id]}
    readable = {row[0]: row[1:] for row in r.event["payload"]["readable"]}
    assert readable["urgency"] == ["紧急程度", "一般", "紧急"]
    assert readable["district_id"] == ["所属区县", "东城区人民政府", "西城区人民政府"]


def test_edit_of_a_pending_ticket_by_the_dispatcher(world):
    c = make(world, "pending")
    r = applied(c.t, lambda: svc.act("edit", c.t, world.dispatcher, c.v,
                                     **{**draft_of(fresh(c.t)), "title": "电梯停运"}))
    assert r.ticket["state"] is TicketState.PENDING_DISPATCH
    assert r.event["payload"]["changes"] == {"title": ["小区电梯故障", "电梯停运"]}


def test_edit_to_anonymous_gets_a_query_code_and_drops_the_name(world):
    c = make(world, "pending")
    r = applied(c.t, lambda: svc.act("edit", c.t, world.operator, c.v,
                                     **{**draft_of(fresh(c.t)), "anonymous": True}))
    assert r.ticket["anonymous"] is True and r.ticket["caller_name"] == ""
    assert re.fullmatch(f"[{QUERY_CODE_ALPHABET}]{{8}}", r.ticket["query_code"])
    assert set(r.event["payload"]["changes"]) == {"anonymous", "caller_name"}


@pytest.mark.parametrize("situation, who, over, expect", [
    pytest.param("sent_back", "operator", {}, code("NOTHING_CHANGED"), id="nothing_changed"),
    pytest.param("sent_back", "operator", {"title": "  小区电梯故障  "}, code("NOTHING_CHANGED"), id="only_spaces"),
    pytest.param("sent_back", "operator", {"caller_phone": "abc"}, bad("caller_phone"), id="bad_phone"),
    pytest.param("sent_back", "operator", {"caller_phone": ""}, bad("caller_phone"), id="no_phone"),
    pytest.param("sent_back", "operator", {"category_id": 999999}, bad("category_id"), id="bad_category"),
    pytest.param("sent_back", "operator", {"title": ""}, bad("title"), id="no_title"),
    pytest.param("dispatched", "operator", {"title": "新标题"}, STATE, id="dispatched"),
    pytest.param("answered", "operator", {"title": "新标题"}, STATE, id="closed"),
    pytest.param("sent_back", "callback_agent", {"title": "新标题"}, ROLE, id="callback_agent"),
])
def test_edit_refused(world, situation, who, over, expect):
    c = _sent_back(world) if situation == "sent_back" else make(world, situation)
    data = {**draft_of(fresh(c.t)), **over}
    err = refused(c.t, lambda: svc.act("edit", c.t, getattr(world, who), c.v, **data), expect)
    if expect == code("NOTHING_CHANGED"):
        assert err.message == "没有修改任何内容，工单未变更"


# --- 撤单 ----------------------------------------------------------------------------------
def test_citizen_withdraws_a_signed_ticket(world):
    c = make(world, "signed_co")
    lead, co = assignment_of(c.t, world.district), assignment_of(c.t, world.housing)
    r = applied(c.t, lambda: svc.act("withdraw", c.t, world.operator, c.v, note="诉求人表示电梯已修好"))
    assert r.ticket["state"] is TicketState.CLOSED and r.ticket["closure"] is Closure.WITHDRAWN
    assert r.assignment(lead.id)["state"] is AssignmentState.DONE
    assert r.assignment(co.id)["state"] is AssignmentState.DONE
    assert (r.event["action"], r.event["from_state"], r.event["note"]) == (
        EventAction.WITHDRAW, TicketState.SIGNED, "诉求人表示电梯已修好")
    [note] = notices(kind=NotificationKind.WITHDRAWN)
    assert note.unit_id == world.district.id and note.ticket_id == c.t and "撤单" in note.title


def test_withdraw_before_dispatch_tells_no_unit(world):
    c = make(world, "pending")
    r = applied(c.t, lambda: svc.act("withdraw", c.t, world.dispatcher, c.v, note="打错了"))
    assert r.ticket["closure"] is Closure.WITHDRAWN and notices(kind=NotificationKind.WITHDRAWN) == []


def test_callback_agent_records_a_withdrawal_at_callback(world):
    c = make(world, "reviewed")
    r = applied(c.t, lambda: svc.act("withdraw", c.t, world.callback_agent, c.v, note="诉求人不再需要回访"))
    assert r.ticket["closure"] is Closure.WITHDRAWN and r.event["from_state"] is TicketState.REVIEWED


@pytest.mark.parametrize("situation, who, data, expect", [
    pytest.param("closed", "operator", {"note": "撤单"}, STATE, id="closed"),
    pytest.param("signed", "operator", {"note": ""}, bad("note"), id="no_note"),
    pytest.param("signed", "district_staff", {"note": "撤单"}, ROLE, id="unit_staff"),
    pytest.param("signed", "supervisor", {"note": "撤单"}, ROLE, id="supervisor"),
])
def test_withdraw_refused(world, situation, who, data, expect):
    c = make(world, situation)
    refused(c.t, lambda: svc.act("withdraw", c.t, getattr(world, who), c.v, **data), expect)


# --- 匿名 ----------------------------------------------------------------------------------
def test_anonymous_letter_without_phone_gets_a_query_code(world):
    t = svc.record_ticket(world.operator, world.draft(channel="letter", anonymous=True, caller_name="张先生",
                                                      caller_phone=""))
    row = snapshot(t.id)["ticket"]
    assert row["anonymous"] is True and row["caller_name"] == "" and row["caller_phone"] == ""
    assert re.fullmatch(f"[{QUERY_CODE_ALPHABET}]{{8}}", row["query_code"])
    assert not set(row["query_code"]) & set("01IOL")
    other = svc.record_ticket(world.operator, world.draft(channel="wechat", anonymous=True, caller_phone=""))
    assert other.query_code != row["query_code"]


def test_non_anonymous_ticket_has_no_query_code(world):
    assert world.record().query_code is None


@pytest.mark.parametrize("over", [
    pytest.param({"channel": "phone", "anonymous": True, "caller_phone": ""}, id="anonymous_call"),
    pytest.param({"channel": "letter", "anonymous": False, "caller_phone": ""}, id="named_letter"),
])
def test_phone_is_required_unless_an_anonymous_letter_or_web_message(world, over):
    refused(None, lambda: svc.record_ticket(world.operator, world.draft(**over)), bad("caller_phone"))


def test_anonymous_ticket_closes_at_review_without_callback(world):
    c = _anonymous_replied(world)
    r = applied(c.t, lambda: svc.review(c.t, world.dispatcher, c.v, True))
    assert r.ticket["state"] is TicketState.CLOSED and r.ticket["closure"] is Closure.ANONYMOUS
    assert r.ticket["callback_due_at"] is None
    assert (r.event["action"], r.event["to_state"]) == (EventAction.REVIEW_ACCEPT, TicketState.CLOSED)
    assert r.event["payload"]["closure"] == "anonymous"
    assert all(a["state"] is AssignmentState.DONE for a in r.after["assignments"])
    assert "callback" not in available_actions(fresh(c.t), world.callback_agent)


def test_supervised_anonymous_ticket_is_signed_off_first_then_closes_without_callback(world):
    t = world.signed(channel="app", anonymous=True, caller_name="", caller_phone="")
    svc.act("open_case", t.id, world.supervisor, fresh(t.id).version, reason="leader_assigned", level="1",
            note="领导交办")
    svc.reply(t.id, world.district_staff, fresh(t.id).version, "已修复")
    svc.review(t.id, world.dispatcher, fresh(t.id).version, True)
    assert fresh(t.id).state is TicketState.PENDING_SIGNOFF  # the leader's sign-off comes first
    r = applied(t.id, lambda: svc.act("signoff_approve", t.id, world.leader, fresh(t.id).version, words="同意"))
    assert r.ticket["state"] is TicketState.CLOSED and r.ticket["closure"] is Closure.ANONYMOUS
    assert (r.event["action"], r.event["to_state"]) == (EventAction.SIGNOFF_APPROVE, TicketState.CLOSED)
    assert r.ticket["callback_due_at"] is None


def test_named_ticket_still_goes_to_callback(world):
    t = world.reviewed()
    assert fresh(t.id).state is TicketState.REVIEWED and fresh(t.id).callback_due_at is not None


# --- recorded and ended on the intake page ---------------------------------------------
def test_record_with_a_refusal_ending_is_one_transaction(world):
    t = svc.record_ticket(world.operator, world.draft(), ending=("refuse_intake", {"reason": "no_substance"}))
    snap = snapshot(t.id)
    assert snap["ticket"]["closure"] is Closure.REFUSED and snap["ticket"]["version"] == 2
    assert [e["action"] for e in snap["events"]] == [EventAction.RECORD, EventAction.REFUSE_INTAKE]


def test_a_failing_ending_records_nothing(world):
    refused(None, lambda: svc.record_ticket(world.operator, world.draft(), ending=("transfer", {"line": "999"})),
            bad("line"))
    refused(None, lambda: svc.record_ticket(world.operator, world.draft(), ending=("dispatch", {})),
            code("UNKNOWN_ACTION"))


# --- pages (CSRF on) ---------------------------------------------------------------------
def test_refuse_on_the_ticket_page_keeps_bad_input_and_answers_in_chinese(world, client):
    t = world.record()
    login(client, "operator")
    _, html = page(client, f"/tickets/{t.id}")
    assert 'id="action-refuse_intake"' in html and "答复口径" in html and "已进入诉讼、仲裁程序" in html
    resp = post_action(client, t.id, "refuse_intake", reason="", note="诉求人情绪激动，坚持要求受理")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请选择不予受理的理由" in body
    assert "诉求人情绪激动，坚持要求受理" in body
    resp = post_action(client, t.id, "refuse_intake", reason="other", note="")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请填写说明" in body and '<option selected value="other">' in body
    assert fresh(t.id).state is TicketState.PENDING_DISPATCH
    resp = post_action(client, t.id, "refuse_intake", reason="petition", note="已告知信访途径")
    assert resp.status_code == 302
    t = fresh(t.id)
    assert t.closure is Closure.REFUSED and t.refusal_reason == "petition"
    _, html = page(client, f"/tickets/{t.id}")
    assert "不予受理理由" in html and "信访事项" in html


def test_refuse_without_csrf_token_is_refused(world, client):
    t = world.record()
    login(client, "operator")
    resp = client.post(f"/tickets/{t.id}/refuse_intake", data={"refuse_intake-version": str(t.version),
                                                              "refuse_intake-reason": "petition"})
    assert resp.status_code == 400 and fresh(t.id).state is TicketState.PENDING_DISPATCH


def test_intake_page_records_an_anonymous_letter_without_phone(world, client):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    assert "诉求人姓名" in html and "联系电话" in html and "来电人" not in html
    resp = client.post("/intake/new", data=intake_data(html, world, channel="letter", anonymous="y",
                                                       caller_phone="", caller_name="王某"))
    assert resp.status_code == 302
    t = db.session.scalars(sa.select(Ticket)).one()
    assert t.anonymous and t.caller_phone == "" and t.caller_name == "" and t.query_code
    _, html = page(client, resp.headers["Location"])
    assert t.query_code in html and "匿名查询码" in html
    _, html = page(client, f"/tickets/{t.id}")
    assert t.query_code in html and "（未留联系电话）" in html


def test_intake_page_requires_a_phone_for_an_anonymous_call(world, client):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    resp = client.post("/intake/new", data=intake_data(html, world, anonymous="y", caller_phone=""))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请填写联系电话" in body and count(Ticket) == 0
    assert "3 号楼电梯停运，请维修。" in body


def test_intake_page_refuses_and_transfers_as_endings_of_the_call(world, client):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    data = intake_data(html, world, refuse_now="不予受理并办结")
    del data["save"]
    resp = client.post("/intake/new", data=data)
    assert resp.status_code == 400 and "请选择不予受理的理由" in resp.get_data(as_text=True) and count(Ticket) == 0
    resp = client.post("/intake/new", data={**data, "refusal_reason": "out_of_area"})
    assert resp.status_code == 302
    t = db.session.scalars(sa.select(Ticket)).one()
    assert t.closure is Closure.REFUSED and t.refusal_reason == "out_of_area"

    _, html = page(client, "/intake/new")
    data = intake_data(html, world, transfer_now="转应急处置并办结", emergency_line="119",
                       transferred_at=(NOW - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M"))
    del data["save"]
    resp = client.post("/intake/new", data=data)
    assert resp.status_code == 302
    t = db.session.scalars(sa.select(Ticket).order_by(Ticket.id.desc())).first()
    assert t.closure is Closure.TRANSFERRED and t.transferred_to == "119"
    assert t.transferred_at == NOW - timedelta(minutes=3)
    future = (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    _, html = page(client, "/intake/new")
    resp = client.post("/intake/new", data={**data, "csrf_token": csrf_token(html), "transferred_at": future})
    assert resp.status_code == 400 and "转接时间不能晚于当前时间" in resp.get_data(as_text=True)
    assert count(Ticket) == 2


def test_operator_home_shows_sent_back_tickets(world, client):
    c = _sent_back(world)
    login(client, "operator")
    _, html = page(client, "/")
    assert "退回受理待修改" in html
    _, html = page(client, "/tickets?queue=sent_back")
    assert fresh(c.t).number in html


def test_edit_on_the_page_and_the_history_shows_old_and_new(world, client):
    c = _sent_back(world)
    login(client, "operator")
    _, html = page(client, f"/tickets/{c.t}")
    assert 'id="action-edit"' in html and "派单员退回说明：事发地址记录不全，请补充" in html
    fields = {k: ("y" if v is True else "" if v in (False, None) else str(v)) for k, v in draft_of(fresh(c.t)).items()}
    fields = {k: v for k, v in fields.items() if v != "" or k in ("caller_name", "address")}
    resp = post_action(client, c.t, "edit", **fields)
    assert resp.status_code == 409 and "没有修改任何内容" in resp.get_data(as_text=True)
    resp = post_action(client, c.t, "edit", **{**fields, "address": "幸福路 12 号 3 号楼 2 单元"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert fresh(c.t).state is TicketState.PENDING_DISPATCH
    _, html = page(client, f"/tickets/{c.t}")
    row = re.search(r'<tr data-field="address">(.*?)</tr>', html, re.S).group(1)
    assert "事发地址" in row and "幸福路 12 号<" in row and "幸福路 12 号 3 号楼 2 单元" in row


def test_history_hides_a_confidential_callers_changes_from_units(world, client):
    t = world.record(confidential=True, caller_phone="13911119999")
    svc.act("edit", t.id, world.operator, t.version, **{**draft_of(fresh(t.id)), "caller_phone": "13922228888"})
    t = fresh(t.id)
    svc.dispatch(t.id, world.dispatcher, t.version, world.district.id)
    login(client, "d1staff")
    _, html = page(client, f"/tickets/{t.id}")
    assert "13922228888" not in html and "13911119999" not in html and "（保密，已修改）" in html


# --- public status by query code ---------------------------------------------------------
def status(client, number, secret):
    _, html = page(client, "/status")
    return client.post("/status", data={"csrf_token": csrf_token(html), "number": number, "phone_tail": secret})


def test_status_page_accepts_the_query_code(world, client):
    c = _anonymous_letter(world)
    t = fresh(c.t)
    resp = status(client, t.number, t.query_code)
    assert resp.status_code == 200 and 'id="status-result"' in resp.get_data(as_text=True)
    assert status(client, t.number, t.query_code.lower()).status_code == 200
    wrong = "".join("A" if ch != "A" else "B" for ch in t.query_code)
    body = status(client, t.number, wrong).get_data(as_text=True)
    assert "未找到匹配的工单" in body and 'id="status-result"' not in body
    other = world.record(caller_phone="13912345678")
    body = status(client, other.number, t.query_code).get_data(as_text=True)  # another ticket's code
    assert 'id="status-result"' not in body
    assert 'id="status-result"' in status(client, other.number, "5678").get_data(as_text=True)
    assert status(client, t.number, "ABC").status_code == 400


def test_status_rate_limit_counts_wrong_query_codes(world, client):
    c = _anonymous_letter(world)
    t = fresh(c.t)
    for _ in range(5):  # STATUS_FAILURES_PER_NUMBER_AND_ADDRESS: this address, this number
        assert status(client, t.number, "ZZZZZZZZ").status_code == 200
    resp = status(client, t.number, t.query_code)
    assert resp.status_code == 429 and "查询过于频繁" in resp.get_data(as_text=True)
    at(NOW + timedelta(minutes=11))
    assert 'id="status-result"' in status(client, t.number, t.query_code).get_data(as_text=True)


# --- the full loop -----------------------------------------------------------------------
def test_full_loop_sent_back_edited_dispatched_handled_and_closed_anonymous(world, client):
    """recorded → sent back → edited (old/new in the history) → dispatched → signed →
    replied → review accepts → the anonymous ticket closes without a callback."""
    t = svc.record_ticket(world.operator, world.draft(channel="website", anonymous=True, caller_phone="",
                                                      address="幸福路"))
    code_ = t.query_code
    svc.act("send_back", t.id, world.dispatcher, t.version, note="地址缺门牌号")
    assert [n.user_id for n in notices(kind=NotificationKind.SENT_BACK)] == [world.operator.id]

    login(client, "operator")
    _, html = page(client, "/")
    assert "退回受理待修改" in html
    ticket = fresh(t.id)
    edited = {**draft_of(ticket), "address": "幸福路 12 号"}
    svc.act("edit", t.id, world.operator, ticket.version, **edited)
    ev = last_event(t.id)
    assert ev["action"] is EventAction.EDIT and ev["payload"]["changes"] == {"address": ["幸福路", "幸福路 12 号"]}

    at(datetime(2026, 11, 23, 10, 0))
    t = svc.dispatch(t.id, world.dispatcher, fresh(t.id).version, world.district.id)
    t = svc.sign(t.id, world.district_staff, t.version)
    svc.reply(t.id, world.district_staff, t.version, "已修复", public_text="电梯已修复。")
    t = svc.review(t.id, world.dispatcher, fresh(t.id).version, accept=True)
    t = fresh(t.id)
    assert t.state is TicketState.CLOSED and t.closure is Closure.ANONYMOUS and t.callback_due_at is None
    assert t.query_code == code_
    actions = [e.action for e in t.events]
    assert actions == [EventAction.RECORD, EventAction.SEND_BACK, EventAction.EDIT, EventAction.DISPATCH,
                       EventAction.SIGN, EventAction.REPLY, EventAction.REVIEW_ACCEPT]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment).where(
        Assignment.ticket_id == t.id, Assignment.state != AssignmentState.DONE)) == 0

    _, html = page(client, f"/tickets/{t.id}")
    assert "修改工单" in html and "幸福路 12 号" in html and code_ in html
    body = status(app_client(client), t.number, code_).get_data(as_text=True)
    assert "已办结" in body and "电梯已修复。" in body


def app_client(client):
    return client.application.test_client()
