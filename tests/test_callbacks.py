"""Callbacks, satisfaction and supervision through the pages (CSRF on), and the public
status page."""
import re
from datetime import timedelta

import sqlalchemy as sa

from hotline.callbacks.models import Callback
from hotline.enums import Closure, SupervisionState, TicketState
from hotline.supervision.models import SupervisionCase, SupervisionProgress
from hotline.extensions import db
from tests import svc
from tests.conftest import count
from tests.factories import at
from tests.test_pages import csrf_token, login
from tests.test_workbench import fresh, page, post_action


def callback(client, tid, **fields):
    return post_action(client, tid, "callback", **fields)


def test_queue_lists_oldest_deadline_first_with_phone_and_reply(world, client):
    first = world.reviewed(caller_phone="13500000001", title="第一张")
    at(first.callback_due_at)  # later review, later deadline
    second = world.reviewed(caller_phone="13500000002", title="第二张")
    login(client, "callback")
    _, html = page(client, "/callbacks")
    assert html.index(first.number) < html.index(second.number)
    assert 'data-copy="13500000001"' in html and "已联系物业公司修复电梯" in html


def test_satisfied_and_basically_satisfied_close_the_ticket(world, client):
    a, b = world.reviewed(), world.reviewed()
    login(client, "callback")
    assert callback(client, a.id, reached="1", resolution="resolved", satisfaction="satisfied").status_code == 302
    assert callback(client, b.id, reached="1", resolution="partly", satisfaction="basically").status_code == 302
    assert fresh(a.id).closure is Closure.SATISFIED and fresh(b.id).closure is Closure.SATISFIED


def test_unsatisfied_reopens_to_same_unit_with_a_supervision_case(world, client):
    t = world.reviewed()
    login(client, "callback")
    resp = callback(client, t.id, reached="1", resolution="unresolved", satisfaction="unsatisfied",
                    request_reasonable="1", citizen_words="还是坏的")
    assert resp.status_code == 302
    t = fresh(t.id)
    assert t.state is TicketState.REOPENED and t.lead_unit_id == world.district.id
    case = db.session.scalars(sa.select(SupervisionCase)).one()
    assert case.state is SupervisionState.OPEN and case.level == 1


def test_unreasonable_unsatisfied_waits_for_the_supervisor(world, client):
    t = world.reviewed()
    login(client, "callback")
    callback(client, t.id, reached="1", resolution="unresolved", satisfaction="unsatisfied", request_reasonable="0")
    assert fresh(t.id).state is TicketState.UNSATISFIED and count(SupervisionCase) == 0
    sup = client.application.test_client()
    login(sup, "supervisor")
    _, html = page(sup, "/tickets?queue=unsatisfied")
    assert t.number in html
    _, html = page(sup, f"/tickets/{t.id}")
    assert "回访员判定该诉求不合理" in html
    resp = post_action(sup, t.id, "confirm_unreasonable", note="诉求超出政策范围，已充分解释")
    assert resp.status_code == 302
    t = fresh(t.id)
    assert t.closure is Closure.UNREASONABLE
    assert db.session.scalars(sa.select(Callback)).one().supervisor_decision == "excluded"


def test_three_failed_attempts_then_unreachable(world, client):
    t = world.reviewed()
    login(client, "callback")
    for _ in range(2):
        assert callback(client, t.id, reached="0", note="无人接听").status_code == 302
    _, html = page(client, f"/tickets/{t.id}")
    assert "action-close" not in html
    assert callback(client, t.id, reached="0", note="关机").status_code == 302
    resp = post_action(client, t.id, "close_unreachable", note="三次未联系上")
    assert resp.status_code == 302
    assert fresh(t.id).closure is Closure.UNREACHABLE
    _, html = page(client, f"/tickets/{t.id}")
    assert html.count("未联系上") >= 3


def test_satisfaction_outside_the_list_is_refused_and_nothing_recorded(world, client):
    t = world.reviewed()
    login(client, "callback")
    resp = callback(client, t.id, reached="1", resolution="resolved", satisfaction="非常满意")
    assert resp.status_code == 400 and "Not a valid choice" not in resp.get_data(as_text=True)
    resp = callback(client, t.id, reached="1", resolution="resolved", satisfaction="")
    assert resp.status_code == 400 and "满意度的取值无效" in resp.get_data(as_text=True)
    assert count(Callback) == 0 and fresh(t.id).state is TicketState.REVIEWED


def test_double_submit_records_once(world, client):
    t = world.reviewed()
    login(client, "callback")
    _, html = page(client, f"/tickets/{t.id}")
    version = re.search(r'name="callback-version" type="hidden" value="(\d+)"', html).group(1)
    data = {"callback-csrf_token": csrf_token(html), "callback-version": version, "callback-reached": "0"}
    first = client.post(f"/tickets/{t.id}/callback", data=data)
    second = client.post(f"/tickets/{t.id}/callback", data=data)
    assert first.status_code == 302 and second.status_code == 409
    assert "已被他人修改" in second.get_data(as_text=True)
    assert count(Callback) == 1


def test_callback_for_ticket_not_awaiting_one_is_refused(world, client):
    t = world.signed()
    login(client, "callback")
    _, html = page(client, f"/tickets/{t.id}")
    resp = client.post(f"/tickets/{t.id}/callback", data={
        "callback-csrf_token": csrf_token(html), "callback-version": str(t.version), "callback-reached": "0"})
    assert resp.status_code == 409 and "不能执行「回访」" in resp.get_data(as_text=True)
    assert count(Callback) == 0


# --- supervision case life ----------------------------------------------------------------
def _reopened(world):
    t = world.reviewed()
    svc.record_callback(t.id, world.callback_agent, t.version, reached=True, resolution="unresolved",
                        satisfaction="unsatisfied", citizen_words="没修好")
    return fresh(t.id), db.session.scalars(sa.select(SupervisionCase)).one()


def case_post(client, case_id, action, **fields):
    _, html = page(client, f"/supervision/{case_id}")
    data = {f"{action}-{k}": v for k, v in fields.items()}
    token = csrf_token(html)
    data[f"{action}-csrf_token"] = token
    return client.post(f"/supervision/{case_id}/{action}", data=data)


def test_supervision_case_life_through_pages(world, client):
    t, case = _reopened(world)
    sup = client.application.test_client()
    login(sup, "supervisor")
    _, html = page(sup, "/supervision")
    assert t.number in html
    assert post_action(sup, t.id, "instruction", text="请区政府主要负责同志亲自督办").status_code == 302
    _, html = page(sup, f"/supervision/{case.id}")
    assert "请区政府主要负责同志亲自督办" in html and "待单位阅读确认" in html  # the sheet shows it too
    unit = client
    login(unit, "d1staff")
    _, html = page(unit, f"/tickets/{t.id}")
    assert "请区政府主要负责同志亲自督办" in html and "action-reply" not in html
    resp = case_post(unit, case.id, "progress", text="本周已约谈物业")
    assert resp.status_code == 409 and "请先阅读并确认领导批示" in resp.get_data(as_text=True)
    assert post_action(unit, t.id, "ack_instruction").status_code == 302
    assert case_post(unit, case.id, "progress", text="本周已约谈物业").status_code == 302
    assert count(SupervisionProgress) == 1
    resp = case_post(sup, case.id, "accept_case", note="验收")
    assert resp.status_code == 409 and "回访办结后才能验收销号" in resp.get_data(as_text=True)
    assert post_action(unit, t.id, "reply", result="已彻底更换电梯控制系统。").status_code == 302
    svc.review(t.id, world.dispatcher, fresh(t.id).version, accept=True)
    svc.act("signoff_approve", t.id, world.leader, fresh(t.id).version, words="同意")  # 领导签批
    resp = case_post(sup, case.id, "accept_case", note="验收")
    assert resp.status_code == 409  # reviewed, but the citizen has not been called back
    svc.record_callback(t.id, world.callback_agent, fresh(t.id).version, reached=True, resolution="resolved",
                        satisfaction="satisfied")
    assert case_post(sup, case.id, "accept_case", note="回访满意，现场核实已修复").status_code == 302
    db.session.expire_all()
    assert db.session.get(SupervisionCase, case.id).state is SupervisionState.CLOSED
    assert fresh(t.id).closure is Closure.SATISFIED


def test_other_unit_cannot_open_or_report_on_a_case(world, client):
    _, case = _reopened(world)
    login(client, "d2staff")
    assert client.get(f"/supervision/{case.id}").status_code == 403
    _, html = page(client, "/supervision")
    resp = client.post(f"/supervision/{case.id}/progress",
                       data={"progress-csrf_token": csrf_token(html), "progress-text": "x"})
    assert resp.status_code == 403
    assert count(SupervisionProgress) == 0


def test_second_unsatisfied_escalates_the_case(world):
    t, case = _reopened(world)
    svc.reply(t.id, world.district_staff, t.version, "再次处理。")
    svc.review(t.id, world.dispatcher, fresh(t.id).version, accept=True)
    svc.act("signoff_approve", t.id, world.leader, fresh(t.id).version, words="同意")  # 领导签批
    svc.record_callback(t.id, world.callback_agent, fresh(t.id).version, reached=True, resolution="unresolved",
                        satisfaction="unsatisfied")
    db.session.expire_all()
    assert db.session.get(SupervisionCase, case.id).level == 2 and fresh(t.id).reopen_count == 2


# --- public status --------------------------------------------------------------------------
def status(client, number, tail):
    _, html = page(client, "/status")
    return client.post("/status", data={"csrf_token": csrf_token(html), "number": number, "phone_tail": tail})


def test_public_status_shows_state_and_public_reply_only(world, client):
    t = world.signed(caller_phone="13912345678", caller_name="李秘密", confidential=True,
                     address="保密小区 8 栋", content="内部细节不公开")
    svc.reply(t.id, world.district_staff, t.version, "内部办理记录：约谈物业经理王某", public_text="已联系物业公司修复电梯。")
    t = svc.review(t.id, world.dispatcher, fresh(t.id).version, accept=True)
    svc.record_callback(t.id, world.callback_agent, t.version, reached=True, resolution="resolved",
                        satisfaction="satisfied")
    resp = status(client, t.number, "5678")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "已办结" in html and "已联系物业公司修复电梯" in html
    for secret in ("李秘密", "13912345678", "保密小区", "内部细节不公开", "内部办理记录", world.district_staff.display_name):
        assert secret not in html


def test_public_status_gives_the_same_answer_for_wrong_digits_and_wrong_number(world, client):
    t = world.dispatched(caller_phone="13912345678")
    wrong_digits = status(client, t.number, "0000").get_data(as_text=True)
    wrong_number = status(client, "12345-20261123-999999", "5678").get_data(as_text=True)
    strip = lambda h: re.sub(r'value="[^"]*"', "", h)  # noqa: E731
    assert strip(wrong_digits) == strip(wrong_number)
    assert "未找到匹配的工单" in wrong_digits and t.number not in strip(wrong_digits)


def test_public_status_is_rate_limited(world, client):
    t = world.dispatched(caller_phone="13912345678")
    for i in range(10):
        assert status(client, f"12345-20261123-{i:06d}", "1111").status_code == 200
    resp = status(client, t.number, "5678")
    assert resp.status_code == 429 and "查询过于频繁" in resp.get_data(as_text=True)
    at(world.draft and (fresh(t.id).created_at + timedelta(minutes=11)))
    assert status(client, t.number, "5678").status_code == 200
