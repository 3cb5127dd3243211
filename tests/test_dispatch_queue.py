"""The dispatcher's keyboard queue (/dispatch/queue), batch dispatch of tickets whose routing
rule is certain (through the lifecycle's dispatch action: one event per ticket, one result
per ticket), the intake form's defaults, and forms that tie their errors to their fields."""
from __future__ import annotations

import re

import sqlalchemy as sa

from hotline.enums import EventAction, RequestType, TicketState
from hotline.extensions import db
from hotline.routing.models import RoutingRule
from hotline.tickets.models import Ticket, TicketEvent
from tests.conftest import count
from tests.test_pages import csrf_token, login


def _rule(world, category, lead, *, certain, district=None):
    db.session.add(RoutingRule(category_id=category.id, district_id=district.id if district else None,
                               lead_unit_id=lead.id, co_unit_ids=[], certain=certain, active=True, note="测试"))
    db.session.commit()


def _other_category(world):
    from tests.factories import CategoryFactory

    cat = CategoryFactory(code="SW-GS", name="供水", full_name="公用事业 › 供水")
    db.session.commit()
    return cat


def _post(client, data):
    """POST to the queue; its answer is a redirect back to it, which is followed."""
    resp = client.post("/dispatch/queue", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client.get(resp.headers["Location"])


def _dispatches(ticket_id):
    return count(TicketEvent, TicketEvent.ticket_id == ticket_id, TicketEvent.action == EventAction.DISPATCH)


def test_queue_lists_pending_tickets_oldest_first_with_suggestions_and_shortcuts(app, world, client):
    _rule(world, world.category, world.housing, certain=True)
    first, second = world.record(title="第一张"), world.record(title="第二张")
    login(client, "dispatcher")
    html = client.get("/dispatch/queue").get_data(as_text=True)
    assert html.index(first.number) < html.index(second.number)
    assert html.count("✔ 确定规则") == 2 and "市住房和城乡建设局" in html
    assert 'id="queue-shortcuts"' in html and "<kbd>A</kbd> 按建议单位派单" in html
    assert f'aria-label="选择 {first.number}"' in html
    assert 'href="/dispatch/queue"' in client.get("/").get_data(as_text=True)  # in the top bar
    operator = app.test_client()
    login(operator, "operator")
    assert operator.get("/dispatch/queue").status_code == 403


def test_batch_dispatches_only_certain_tickets_each_with_its_event_and_result(world, client):
    water = _other_category(world)
    _rule(world, world.category, world.housing, certain=True)
    _rule(world, water, world.water, certain=False)
    sure1, sure2 = world.record(), world.record(title="另一部电梯")
    unsure = world.record(category_id=water.id, title="停水")
    norule = world.record(category_id=world.category.parent_id, title="物业")
    login(client, "dispatcher")
    page = client.get("/dispatch/queue").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "ticket_id": [str(t.id) for t in (sure1, unsure, sure2, norule)]}
    for t in (sure1, sure2, unsure, norule):
        data[f"version-{t.id}"] = str(t.version)
    resp = _post(client, data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert f"工单 {sure1.number}：已派单至 市住房和城乡建设局" in html
    assert f"工单 {sure2.number}：已派单至 市住房和城乡建设局" in html
    assert f"工单 {unsure.number}：派单规则不确定（建议规则），请逐张核对后派单" in html
    assert f"工单 {norule.number}：没有匹配的派单规则，请打开工单人工派单" in html
    assert "批量派单：2 张已派单，2 张未派单" in html
    db.session.expire_all()
    states = {t.id: db.session.get(Ticket, t.id).state for t in (sure1, sure2, unsure, norule)}
    assert states == {sure1.id: TicketState.DISPATCHED, sure2.id: TicketState.DISPATCHED,
                      unsure.id: TicketState.PENDING_DISPATCH, norule.id: TicketState.PENDING_DISPATCH}
    assert [_dispatches(t.id) for t in (sure1, sure2, unsure, norule)] == [1, 1, 0, 0]
    assert db.session.get(Ticket, sure1.id).lead_unit_id == world.housing.id
    note = db.session.scalar(sa.select(TicketEvent.note).where(TicketEvent.ticket_id == sure1.id,
                                                              TicketEvent.action == EventAction.DISPATCH))
    assert note == "按确定派单规则批量派单"


def test_accepting_one_suggestion_dispatches_it_and_a_stale_version_is_refused(world, client):
    water = _other_category(world)
    _rule(world, water, world.water, certain=False)
    t = world.record(category_id=water.id, title="停水")
    login(client, "dispatcher")
    page = client.get("/dispatch/queue").get_data(as_text=True)
    token = csrf_token(page)
    stale = _post(client, {"csrf_token": token, "accept": str(t.id),
                                                 f"version-{t.id}": str(t.version - 1)})
    assert f"工单 {t.number}：" in stale.get_data(as_text=True) and _dispatches(t.id) == 0
    resp = _post(client, {"csrf_token": token, "accept": str(t.id),
                                                f"version-{t.id}": str(t.version)})
    assert f"工单 {t.number}：已派单至 市自来水公司" in resp.get_data(as_text=True)
    assert _dispatches(t.id) == 1
    # dispatched once; pressing again is refused by the lifecycle's guard, nothing written
    again = _post(client, {"csrf_token": token, "accept": str(t.id),
                                                 f"version-{t.id}": str(t.version + 1)})
    assert f"工单 {t.number}：" in again.get_data(as_text=True) and "已派单至" not in \
        again.get_data(as_text=True).split(f"工单 {t.number}：", 1)[1][:20]
    assert _dispatches(t.id) == 1


def test_batch_without_csrf_or_without_selection_dispatches_nothing(world, client):
    _rule(world, world.category, world.housing, certain=True)
    t = world.record()
    login(client, "dispatcher")
    assert client.post("/dispatch/queue", data={"ticket_id": str(t.id)}).status_code == 400
    page = client.get("/dispatch/queue").get_data(as_text=True)
    resp = _post(client, {"csrf_token": csrf_token(page)})
    assert "请先勾选要批量派单的工单" in resp.get_data(as_text=True) and _dispatches(t.id) == 0


def test_intake_defaults_request_type_from_category_and_district_from_address(world, client):
    world.record(request_type="complaint")
    world.record(request_type="complaint")
    world.record(request_type="help")
    login(client, "operator")
    d = client.get(f"/intake/defaults?category_id={world.category.id}&address=东城区幸福路12号").get_json()
    assert d == {"request_type": "complaint", "request_type_label": RequestType.COMPLAINT.label,
                 "district_id": world.district.id, "district_name": "东城区人民政府"}
    none = client.get("/intake/defaults?category_id=&address=幸福路12号").get_json()
    assert none["request_type"] is None and none["district_id"] is None
    both = client.get("/intake/defaults?address=东城区与西城区交界").get_json()  # two districts: no guess
    assert both["district_id"] is None


def test_intake_page_keeps_the_call_and_shows_its_shortcuts(world, client):
    login(client, "operator")
    html = client.get("/intake/new").get_data(as_text=True)
    assert 'src="/static/intake.js"' in html and 'id="leave-dialog"' in html
    assert "<kbd>F2</kbd> 受理新来电" in html and "<kbd>Ctrl</kbd>+<kbd>Enter</kbd> 保存并转派单" in html
    assert 'data-defaults-url="/intake/defaults"' in html


def test_field_errors_are_tied_to_their_fields_and_focus_leaves_the_phone(world, client):
    login(client, "operator")
    page = client.get("/intake/new").get_data(as_text=True)
    resp = client.post("/intake/new", data={"csrf_token": csrf_token(page), "caller_phone": "13800001111",
                                            "channel": "phone", "urgency": "normal", "save": "1"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    title = re.search(r'<input[^>]*id="title"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in title and 'aria-describedby="title-error"' in title
    assert '<span class="field-error" id="title-error">请填写工单标题</span>' in html
    rtype = re.search(r'<select[^>]*id="request_type"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in rtype
    phone = re.search(r'<input[^>]*id="caller_phone"[^>]*>', html).group(0)
    assert "aria-invalid" not in phone and "autofocus" not in phone  # the phone was fine
    assert 'src="/static/forms.js"' in html  # the error summary and the focus


def test_login_error_is_tied_to_the_password_field(world, client):
    page = client.get("/login").get_data(as_text=True)
    html = client.post("/login", data={"csrf_token": csrf_token(page), "username": "operator",
                                       "password": "wrong"}).get_data(as_text=True)
    password = re.search(r'<input[^>]*id="password"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in password and 'aria-describedby="password-error"' in password
    assert 'id="password-error">用户名或密码错误</p>' in html


def test_action_form_errors_are_tied_to_their_fields(world, client):
    t = world.record()
    login(client, "dispatcher")
    page = client.get(f"/tickets/{t.id}").get_data(as_text=True)
    resp = client.post(f"/tickets/{t.id}/dispatch", data={"dispatch-csrf_token": csrf_token(page),
                                                          "dispatch-version": str(t.version),
                                                          "dispatch-lead_unit_id": "0"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400, html[:500]
    lead = re.search(r'<select[^>]*id="dispatch-lead_unit_id"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in lead and 'aria-describedby="dispatch-lead_unit_id-error"' in lead
    assert 'id="dispatch-lead_unit_id-error">' in html


def test_overdue_deadline_is_said_in_words_not_colour_alone(world, client):
    from datetime import timedelta

    from hotline.clock import clock

    t = world.dispatched()
    clock.advance(timedelta(days=40))
    try:
        login(client, "dispatcher")
        html = client.get(f"/tickets/{t.id}").get_data(as_text=True)
    finally:
        clock.reset()
    assert "⚠ 签收已超期" in html and "⚠ 办理已超期" in html


def test_next_ticket_in_the_queue_follows_queue_order_and_wraps(app, world, client):
    a, b, c = world.record(title="一"), world.record(title="二"), world.record(title="三")
    login(client, "dispatcher")
    assert client.get(f"/dispatch/next?after={a.id}").headers["Location"].endswith(f"/tickets/{b.id}")
    assert client.get(f"/dispatch/next?after={c.id}").headers["Location"].endswith(f"/tickets/{a.id}")
    html = client.get(f"/tickets/{a.id}").get_data(as_text=True)
    assert 'id="ticket-shortcuts"' in html and "<kbd>D</kbd> 派单" in html
    assert f'data-next-url="/dispatch/next?after={a.id}"' in html
