"""The workbench pages for each role, through the test client with CSRF on."""
import io
import re
from datetime import datetime, timedelta

import sqlalchemy as sa

from hotline.admin.models import Setting
from hotline.enums import AssignmentState, Closure, TicketState
from hotline.extensions import db
from hotline.intake.models import KnowledgeArticle
from hotline.routing.models import RoutingRule
from tests import svc
from hotline.tickets.models import Attachment, Ticket, TicketEvent
from tests.conftest import count
from tests.factories import at
from tests.test_pages import csrf_token, login


def page(client, url):
    resp = client.get(url)
    return resp, resp.get_data(as_text=True)


def post_action(client, ticket_id, action, version=None, **fields):
    _, html = page(client, f"/tickets/{ticket_id}")
    if version is None:
        m = re.search(rf'name="{action}-version" type="hidden" value="(\d+)"', html)
        version = m.group(1) if m else "1"
    data = {f"{action}-csrf_token": csrf_token(html), f"{action}-version": str(version)}
    m = re.search(rf'name="{action}-assignment_id" type="hidden" value="(\d*)"', html)
    if m:
        data[f"{action}-assignment_id"] = m.group(1)
    for k, v in fields.items():
        data[f"{action}-{k}"] = v
    return client.post(f"/tickets/{ticket_id}/{action}", data=data, content_type="multipart/form-data")


def fresh(tid):
    db.session.expire_all()
    return db.session.get(Ticket, tid)


def intake_data(html, world, **over):
    data = {"csrf_token": csrf_token(html), "caller_phone": "13800001111", "caller_name": "张先生",
            "channel": "phone", "request_type": "help", "urgency": "normal", "category_id": str(world.category.id),
            "address": "幸福路 12 号", "district_id": str(world.district.id), "title": "电梯故障",
            "content": "3 号楼电梯停运，请维修。", "save": "保存并转派单"}
    data.update(over)
    return data


# --- home --------------------------------------------------------------------------------
def test_each_role_home_shows_its_queues(world, client):
    world.record()
    world.dispatched()
    world.replied()
    world.reviewed()
    login(client, "dispatcher")
    _, html = page(client, "/")
    assert 'data-queue="pending_dispatch">1<' in html and 'data-queue="to_review">1<' in html
    client.post("/logout", data={"csrf_token": csrf_token(html)})
    login(client, "callback")
    _, html = page(client, "/")
    assert 'data-queue="to_callback">1<' in html and "pending_dispatch" not in html
    client.post("/logout", data={"csrf_token": csrf_token(html)})
    login(client, "d1staff")
    _, html = page(client, "/")
    assert 'data-queue="to_sign">1<' in html and 'data-queue="handling">0<' in html


def test_overdue_and_due_soon_counts_follow_the_clock(world, client):
    t = world.signed(request_type="consultation")  # 3 working days
    due = t.lead_assignment.handle_due_at
    login(client, "d1staff")
    at(due - timedelta(hours=2))
    _, html = page(client, "/")
    assert 'data-queue="due_soon">1<' in html and 'data-queue="overdue">0<' in html
    at(due + timedelta(hours=1))
    _, html = page(client, "/")
    assert 'data-queue="overdue">1<' in html
    _, listing = page(client, "/tickets?queue=overdue")
    assert t.number in listing


# --- intake ------------------------------------------------------------------------------
def test_operator_records_a_ticket_and_form_is_ready_for_next_call(world, client):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    resp = client.post("/intake/new", data=intake_data(html, world))
    assert resp.status_code == 302
    t = db.session.scalars(sa.select(Ticket)).one()
    assert t.state is TicketState.PENDING_DISPATCH and t.created_by_id == world.operator.id
    _, html = page(client, resp.headers["Location"])
    assert t.number in html and 'name="caller_phone"' in html and 'value="13800001111"' not in html


def test_intake_errors_are_in_chinese_and_input_is_kept(world, client):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    resp = client.post("/intake/new", data=intake_data(html, world, caller_phone="abc", title=""))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "联系电话格式不正确" in body and "请填写工单标题" in body
    assert "3 号楼电梯停运，请维修。" in body and 'value="幸福路 12 号"' in body
    assert count(Ticket) == 0


def test_caller_history_and_duplicate_warning(world, client):
    old = world.record(caller_phone="13911112222")
    login(client, "operator")
    _, html = page(client, "/intake/caller?phone=13911112222")
    assert old.number in html and "可能是重复来电" in html
    _, html = page(client, "/intake/new?phone=13911112222")
    assert old.number in html
    _, html = page(client, "/intake/caller?phone=13000000000&address=幸福路 12 号&category_id=%d" % world.category.id)
    assert "可能是重复来电" in html  # same address and category within 30 days


def test_answer_directly_from_knowledge_base(world, client):
    kb = KnowledgeArticle(title="公积金提取条件", body="凭身份证和购房合同到公积金中心办理。", keywords="公积金",
                          updated_at=datetime(2026, 11, 1))
    db.session.add(kb)
    db.session.commit()
    login(client, "operator")
    _, frag = page(client, "/intake/kb?q=公积金")
    assert "公积金提取条件" in frag
    _, html = page(client, "/intake/new")
    data = intake_data(html, world, request_type="consultation", answer="凭身份证和购房合同到公积金中心办理。",
                       kb_article_id=str(kb.id), answer_now="直接答复并办结")
    data.pop("save")
    assert client.post("/intake/new", data=data).status_code == 302
    t = db.session.scalars(sa.select(Ticket)).one()
    assert t.state is TicketState.CLOSED and t.closure is Closure.ANSWERED and t.kb_article_id == kb.id
    assert db.session.get(KnowledgeArticle, kb.id).times_used == 1


def test_answer_directly_without_text_is_refused_and_nothing_saved(world, client):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    data = intake_data(html, world, answer_now="直接答复并办结")
    data.pop("save")
    resp = client.post("/intake/new", data=data)
    assert resp.status_code == 400 and "请填写答复内容" in resp.get_data(as_text=True)
    assert count(Ticket) == 0


def test_intake_attachment_type_is_checked_before_saving(world, client):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    data = intake_data(html, world)
    data["attachments"] = (io.BytesIO(b"MZ..."), "virus.exe")
    resp = client.post("/intake/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 400 and "类型不允许" in resp.get_data(as_text=True)
    assert count(Ticket) == 0 and count(Attachment) == 0


def test_attachment_is_served_only_to_those_who_may_see_the_ticket(world, client):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    data = intake_data(html, world)
    data["attachments"] = (io.BytesIO(b"%PDF-1.4 photo"), "现场照片.pdf")
    assert client.post("/intake/new", data=data, content_type="multipart/form-data").status_code == 302
    att = db.session.scalars(sa.select(Attachment)).one()
    assert client.get(f"/attachments/{att.id}").data == b"%PDF-1.4 photo"
    t = db.session.get(Ticket, att.ticket_id)
    svc.dispatch(t.id, world.dispatcher, t.version, world.district.id)
    client.post("/logout", data={"csrf_token": csrf_token(html)})
    login(client, "d2staff")
    assert client.get(f"/attachments/{att.id}").status_code == 403
    client.get("/logout")
    client2 = client.application.test_client()
    login(client2, "d1staff")
    assert client2.get(f"/attachments/{att.id}").status_code == 200


# --- routing -----------------------------------------------------------------------------
def test_dispatch_page_prefills_rule_suggestion_and_says_which_rule(world, client):
    db.session.add(RoutingRule(category_id=world.category.parent_id, district_id=world.district.id,
                               lead_unit_id=world.housing.id, co_unit_ids=[world.water.id], certain=False))
    db.session.commit()
    t = world.record()
    login(client, "dispatcher")
    _, html = page(client, f"/tickets/{t.id}")
    assert "依据建议规则" in html and "市住房和城乡建设局" in html
    assert re.search(rf'<option selected value="{world.housing.id}">', html)


def test_certain_rule_dispatches_on_intake_when_setting_is_on(world, client):
    db.session.add(RoutingRule(category_id=world.category.id, district_id=None, lead_unit_id=world.water.id,
                               certain=True))
    db.session.add(Setting(key="auto_dispatch", value="1"))
    db.session.commit()
    t = world.record()
    assert t.state is TicketState.DISPATCHED and t.lead_unit_id == world.water.id
    ev = db.session.scalars(sa.select(TicketEvent).where(TicketEvent.ticket_id == t.id)
                            .order_by(TicketEvent.id)).all()
    assert [e.action.value for e in ev] == ["record", "dispatch"] and ev[1].payload["auto"] is True


def test_certain_rule_waits_for_dispatcher_when_setting_is_off(world):
    db.session.add(RoutingRule(category_id=world.category.id, lead_unit_id=world.water.id, certain=True))
    db.session.commit()
    assert world.record().state is TicketState.PENDING_DISPATCH


# --- the loop through the pages ----------------------------------------------------------
def test_dispatch_sign_reply_review_through_pages(world, client):
    t = world.record()
    login(client, "dispatcher")
    resp = post_action(client, t.id, "dispatch", lead_unit_id=str(world.district.id), note="请办理")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert fresh(t.id).state is TicketState.DISPATCHED
    c2 = client.application.test_client()
    login(c2, "d1staff")
    assert post_action(c2, t.id, "sign").status_code == 302
    resp = post_action(c2, t.id, "reply", result="已修复电梯。", actions_taken="联系维保", contacted_citizen="y",
                       attachments=(io.BytesIO(b"\x89PNG..."), "after.png"))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert fresh(t.id).state is TicketState.REPLIED
    assert count(Attachment, Attachment.ticket_id == t.id) == 1
    resp = post_action(client, t.id, "review", decision="reject", note="")
    assert resp.status_code == 400 and "请填写退回意见" in resp.get_data(as_text=True)
    assert post_action(client, t.id, "review", decision="accept").status_code == 302
    assert fresh(t.id).state is TicketState.REVIEWED


def test_ticket_page_offers_only_allowed_actions(world, client):
    t = world.dispatched()
    login(client, "d1staff")
    _, html = page(client, f"/tickets/{t.id}")
    assert "action-sign" in html and "action-reply" not in html and "action-dispatch" not in html
    c2 = client.application.test_client()
    login(c2, "callback")
    _, html = page(c2, f"/tickets/{t.id}")
    assert set(re.findall(r'id="action-([a-z_]+)"', html)) == {"withdraw"}  # only 撤单 is the agent's here


def test_unit_posting_on_another_units_ticket_gets_403_and_nothing_changes(world, client):
    t = world.dispatched(lead=world.housing)
    before = (t.version, count(TicketEvent))
    login(client, "d2staff")
    _, html = page(client, "/")
    resp = client.post(f"/tickets/{t.id}/sign", data={"sign-csrf_token": csrf_token(html),
                                                       "sign-version": str(t.version)})
    assert resp.status_code == 403
    t = fresh(t.id)
    assert (t.version, count(TicketEvent)) == before and t.state is TicketState.DISPATCHED


def test_wrong_role_posting_gets_403(world, client):
    t = world.record()
    login(client, "callback")
    _, html = page(client, f"/tickets/{t.id}")
    resp = client.post(f"/tickets/{t.id}/dispatch", data={
        "dispatch-csrf_token": csrf_token(html), "dispatch-version": str(t.version),
        "dispatch-lead_unit_id": str(world.district.id)})
    assert resp.status_code == 403 and fresh(t.id).state is TicketState.PENDING_DISPATCH


def test_action_without_csrf_token_is_refused(world, client):
    t = world.dispatched()
    login(client, "d1staff")
    resp = client.post(f"/tickets/{t.id}/sign", data={"sign-version": str(t.version)})
    assert resp.status_code == 400
    assert fresh(t.id).state is TicketState.DISPATCHED


def test_stale_form_says_so_shows_current_state_and_keeps_input(world, client):
    t = world.signed()
    login(client, "d1staff")
    _, html = page(client, f"/tickets/{t.id}")
    old_version = t.version
    svc.hand_down(t.id, world.district_staff, t.version, world.street.id, "街道先处理")  # someone else acts
    resp = post_action(client, t.id, "reply", version=old_version, result="我写的办理结果")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "已被他人修改" in body and "当前状态：办理中" in body and "我写的办理结果" in body
    assert fresh(t.id).state is TicketState.SIGNED


def test_return_needs_text_for_other_reason_and_keeps_input(world, client):
    t = world.dispatched()
    login(client, "d1staff")
    resp = post_action(client, t.id, "return", reason="other", reason_text="")
    assert resp.status_code == 400 and "请填写退单说明" in resp.get_data(as_text=True)
    assert post_action(client, t.id, "return", reason="wrong_area", reason_text="属西城区").status_code == 302
    assert fresh(t.id).state is TicketState.RETURNED


def test_dispatcher_redispatches_a_return_through_the_page(world, client):
    t = world.dispatched()
    svc.return_ticket(t.id, world.district_staff, t.version, "wrong_area", "属西城区")
    login(client, "dispatcher")
    _, html = page(client, f"/tickets/{t.id}")
    assert "属地不符" in html and "属西城区" in html
    rid = re.search(r'name="redispatch-return_id" type="hidden" value="(\d+)"', html).group(1)
    resp = post_action(client, t.id, "redispatch", return_id=rid, lead_unit_id=str(world.other_district.id))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    t = fresh(t.id)
    assert t.state is TicketState.DISPATCHED and t.lead_unit_id == world.other_district.id


def test_extension_request_and_approval_through_pages(world, client):
    t = world.signed()
    login(client, "d1staff")
    due = t.lead_assignment.handle_due_at
    new = due + timedelta(days=2)
    resp = post_action(client, t.id, "extension", requested_due_at=new.strftime("%Y-%m-%dT%H:%M"), reason="需协调")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    c2 = client.application.test_client()
    login(c2, "dispatcher")
    _, html = page(c2, "/tickets?queue=extensions")
    assert t.number in html
    _, html = page(c2, f"/tickets/{t.id}")
    rid = re.search(r'name="decide_extension-request_id" type="hidden" value="(\d+)"', html).group(1)
    assert post_action(c2, t.id, "decide_extension", request_id=rid, decision="approve").status_code == 302
    assert fresh(t.id).lead_assignment.handle_due_at == new


def test_hand_down_to_street_then_street_replies(world, client):
    t = world.signed()
    login(client, "d1staff")
    resp = post_action(client, t.id, "hand_down", sub_unit_id=str(world.street.id), note="请街道处理")
    assert resp.status_code == 302
    c2 = client.application.test_client()
    login(c2, "s1staff")
    assert post_action(c2, t.id, "reply", result="街道已处理完毕。").status_code == 302
    assert fresh(t.id).state is TicketState.REPLIED


def test_co_unit_reply_goes_to_lead_and_ticket_state_stays(world, client):
    t = world.dispatched(cos=[world.water])
    svc.sign(t.id, world.water_staff, t.version)
    login(client, "water")
    assert post_action(client, t.id, "reply", result="供水管道已检修。").status_code == 302
    t = fresh(t.id)
    assert t.state is TicketState.DISPATCHED
    co = [a for a in t.assignments if a.unit_id == world.water.id][0]
    assert co.state is AssignmentState.REPLIED


# --- search ------------------------------------------------------------------------------
def test_search_by_number_phone_text_state_and_unit(world, client):
    a = world.dispatched(caller_phone="13700000001", title="噪音扰民")
    b = world.record(caller_phone="13700000002", title="路灯不亮")
    login(client, "dispatcher")
    for query, yes, no in [
        (f"number={a.number}", a, b), ("phone=13700000002", b, a), ("text=路灯", b, a),
        ("state=dispatched", a, b), (f"unit_id={world.district.id}", a, b),
        ("date_from=2026-11-23&date_to=2026-11-23", a, None),
    ]:
        _, html = page(client, f"/tickets?{query}")
        assert yes.number in html, query
        if no is not None:
            assert no.number not in html, query


def test_search_is_paginated(world, client):
    client.application.config["TICKETS_PER_PAGE"] = 2
    try:
        for i in range(5):
            world.record(title=f"工单{i}")
        login(client, "dispatcher")
        _, html = page(client, "/tickets?page=3")
        assert "第 3 / 3 页，共 5 条" in html
    finally:
        client.application.config["TICKETS_PER_PAGE"] = 50


def test_list_shows_time_left_with_warning_and_overdue_colours(world, client):
    t = world.signed(request_type="consultation")
    login(client, "d1staff")
    at(t.lead_assignment.handle_due_at - timedelta(hours=3))
    _, html = page(client, "/tickets")
    assert 'class="due warning"' in html and "剩余3小时0分" in html
    at(t.lead_assignment.handle_due_at + timedelta(days=1, hours=2))
    _, html = page(client, "/tickets")
    assert 'class="due overdue"' in html and "已超期1天2小时" in html


def test_list_query_count_does_not_grow_with_rows(world, client):
    from sqlalchemy import event

    statements = []

    def counter(conn, cursor, statement, *args):
        statements.append(statement)

    login(client, "dispatcher")
    for i in range(3):
        world.dispatched(cos=[world.water], title=f"a{i}")
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        page(client, "/tickets")
        few = len(statements)
        for i in range(12):
            world.dispatched(cos=[world.water], title=f"b{i}")
        statements.clear()
        page(client, "/tickets")
        many = len(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    assert many == few


def test_lead_reply_form_shows_co_unit_replies_to_consolidate(world, client):
    t = world.signed(cos=[world.water])
    t = svc.sign(t.id, world.water_staff, t.version)
    svc.reply(t.id, world.water_staff, t.version, "自来水公司已抢修管道。")
    login(client, "d1staff")
    _, html = page(client, f"/tickets/{t.id}")
    assert "协办单位意见" in html and "自来水公司已抢修管道。" in html


def test_dispatcher_sees_likely_duplicates_and_merges(world, client):
    first = world.dispatched(caller_phone="13655556666")
    dup = world.record(caller_phone="13655556666")
    login(client, "dispatcher")
    _, html = page(client, f"/tickets/{dup.id}")
    assert "可能重复" in html and first.number in html
    assert post_action(client, dup.id, "merge", into_number=first.number).status_code == 302
    dup = fresh(dup.id)
    assert dup.closure is Closure.MERGED and dup.merged_into_id == first.id
    resp = post_action(client, world.record().id, "merge", into_number="12345-00000000-000000")
    assert resp.status_code == 400 and "请选择要并入的另一张工单" in resp.get_data(as_text=True)


def test_dispatch_without_choosing_a_unit_is_refused_in_chinese(world, client):
    t = world.record()
    login(client, "dispatcher")
    _, html = page(client, f"/tickets/{t.id}")
    assert re.search(r'<option (selected )?value="0">请选择主办单位</option>', html)
    resp = post_action(client, t.id, "dispatch", lead_unit_id="0")
    assert resp.status_code == 400 and "请选择承办单位" in resp.get_data(as_text=True)
    assert fresh(t.id).state is TicketState.PENDING_DISPATCH


def test_reviewer_sees_whether_the_citizen_was_contacted(world, client):
    t = world.signed()
    svc.reply(t.id, world.district_staff, t.version, "已修复。", contacted_citizen=True, contact_note="电话告知张先生")
    login(client, "dispatcher")
    _, html = page(client, f"/tickets/{t.id}")
    assert "与市民联系：已联系（电话告知张先生）" in html


def test_first_time_caller_is_said_so(world, client):
    login(client, "operator")
    _, html = page(client, "/intake/caller?phone=13000000009")
    assert "首次来电" in html


def test_unit_does_not_see_the_callers_confidential_or_other_units_tickets(world, client):
    secret = world.dispatched(lead=world.housing, caller_phone="13811112222", confidential=True, title="举报违建")
    other = world.dispatched(lead=world.water, caller_phone="13811112222", title="停水")
    mine = world.dispatched(caller_phone="13811112222", title="路灯")
    login(client, "d1staff")
    _, html = page(client, f"/tickets/{mine.id}")
    assert secret.number not in html and other.number not in html


def test_intake_attachments_of_confidential_ticket_stay_with_the_centre(world, client):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    data = intake_data(html, world, confidential="y")
    data["attachments"] = (io.BytesIO(b"ID3 recording"), "录音.mp3")
    assert client.post("/intake/new", data=data, content_type="multipart/form-data").status_code == 302
    att = db.session.scalars(sa.select(Attachment)).one()
    t = db.session.get(Ticket, att.ticket_id)
    svc.dispatch(t.id, world.dispatcher, t.version, world.district.id)
    unit = client.application.test_client()
    login(unit, "d1staff")
    assert "录音.mp3" not in page(unit, f"/tickets/{t.id}")[1]
    assert unit.get(f"/attachments/{att.id}").status_code == 403


def test_failed_reply_keeps_no_attachment_files_or_rows(world, client):
    import os

    from hotline.tickets.attachments import storage_dir

    t = world.signed()
    login(client, "d1staff")
    before = set(os.listdir(storage_dir()))
    resp = post_action(client, t.id, "reply", version=t.version - 1, result="结果",
                       attachments=(io.BytesIO(b"\x89PNG..."), "photo.png"))
    assert resp.status_code == 409
    assert count(Attachment) == 0 and set(os.listdir(storage_dir())) == before


def test_hand_down_post_by_someone_who_may_not_is_refused_cleanly(world, client):
    t = world.signed()
    login(client, "d2staff")
    _, html = page(client, "/")
    resp = client.post(f"/tickets/{t.id}/hand_down", data={"hand_down-csrf_token": csrf_token(html),
                                                            "hand_down-version": str(t.version),
                                                            "hand_down-sub_unit_id": str(world.street.id)})
    assert resp.status_code in (400, 403)
    assert fresh(t.id).lead_assignment.handler_unit_id is None


def test_operator_answers_a_pending_ticket_from_its_page(world, client):
    t = world.record()
    login(client, "operator")
    assert post_action(client, t.id, "answer", answer="已告知办理流程。").status_code == 302
    assert fresh(t.id).closure is Closure.ANSWERED


def test_lead_page_waits_for_co_units_then_offers_the_reply(world, client):
    t = world.signed(cos=[world.water])
    login(client, "d1staff")
    _, html = page(client, f"/tickets/{t.id}")
    assert "等待协办单位反馈：市自来水公司" in html and "action-reply" not in html
    resp = post_action(client, t.id, "reply", version=fresh(t.id).version, result="汇总答复")
    assert resp.status_code == 409 and "协办单位尚未反馈" in resp.get_data(as_text=True)
    t = svc.sign(t.id, world.water_staff, fresh(t.id).version)
    svc.reply(t.id, world.water_staff, t.version, "供水正常。")
    _, html = page(client, f"/tickets/{t.id}")
    assert "action-reply" in html and "供水正常。" in html
