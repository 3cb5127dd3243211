"""The API's tickets: create (受理 with 直接答复, CTI fields, idempotency keys, platforms'
hand-overs and their time limit), the list, one ticket, and the lifecycle end to end."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from hotline.api.auth import revoke
from hotline.api.models import ApiToken, IdempotencyKey
from hotline.api.schemas import TicketOut, TicketPage
from hotline.enums import AssignmentRole, Closure, EventAction, TicketState
from hotline.extensions import db
from hotline.intake.origin import normalise_phone
from hotline.lifecycle import unit_of_work
from hotline.lifecycle.registry import REGISTRY, offers
from hotline.tickets.models import Ticket, TicketEvent
from tests.api_util import Api, api_as, token_for
from tests.conftest import count

URL = "/api/v1/tickets"


def body(world, **over) -> dict:
    data = world.draft(**over)
    return {k: v for k, v in data.items() if v is not None}


def ticket_row(number) -> Ticket:
    db.session.expire_all()
    return db.session.scalars(sa.select(Ticket).where(Ticket.number == number)).one()


# --- create ---------------------------------------------------------------------------------
def test_operator_creates_a_ticket(world, client):
    api = api_as(client, world.operator)
    r = api.post(URL, json=body(world))
    assert r.status_code == 201, r.json
    out = TicketOut.model_validate(r.json)
    assert out.state.value == "pending_dispatch" and out.title == "小区电梯故障"
    assert out.caller.phone == "13800001111" and out.version == 1
    assert r.headers["Location"].endswith(f"/api/v1/tickets/{out.number}")
    assert r.headers["ETag"] == '"1"' and "Idempotent-Replayed" not in r.headers
    assert r.json["created_at"] == "2026-11-23T09:30:00+08:00"  # ISO 8601 with the city's offset
    t = ticket_row(out.number)
    assert t.created_by_id == world.operator.id and [e.action for e in t.events] == [EventAction.RECORD]
    assert {a["key"] for a in r.json["available_actions"]} >= {"answer", "edit"}


def test_answer_on_the_call_closes_the_ticket(world, client):
    r = api_as(client, world.operator).post(URL, json=body(world, request_type="consultation",
                                                             answer="公积金提取需携带身份证到服务大厅办理。"))
    assert r.status_code == 201
    t = ticket_row(r.json["number"])
    assert t.state is TicketState.CLOSED and t.closure is Closure.ANSWERED
    assert t.direct_answer == "公积金提取需携带身份证到服务大厅办理。"


def test_telephony_fields_are_kept_and_the_number_normalised(world, client):
    data = body(world, caller_phone=None)
    data.pop("caller_phone", None)
    data.update(call_id="CALL-0001", caller_number="+86 138 0013 8000", agent="A1024", recording_ref="rec/2026/1.wav")
    r = api_as(client, world.operator).post(URL, json=data)
    assert r.status_code == 201, r.json
    assert r.json["call_id"] == "CALL-0001" and r.json["recording_ref"] == "rec/2026/1.wav"
    t = ticket_row(r.json["number"])
    assert (t.caller_phone, t.caller_number_raw, t.cti_agent) == ("13800138000", "+86 138 0013 8000", "A1024")
    # a number the operator typed wins over the switch's
    r = api_as(client, world.operator).post(URL, json={**data, "caller_phone": "13900002222"})
    assert ticket_row(r.json["number"]).caller_phone == "13900002222"


@pytest.mark.parametrize("raw, phone", [
    ("13800138000", "13800138000"), ("+8613800138000", "13800138000"), ("008613800138000", "13800138000"),
    ("8613800138000", "13800138000"), ("013800138000", "13800138000"), ("138-0013-8000", "13800138000"),
    ("+86 21 6234 5678", "02162345678"), ("0086-10-12345678", "01012345678"), ("021 6234 5678", "02162345678"),
    ("62345678", "62345678"), ("12345", "12345"), ("+44 20 7946 0958", "+442079460958"), ("", ""),
    ("86123", "86123"),
])
def test_phone_normaliser(raw, phone):
    assert normalise_phone(raw) == phone


def test_a_withheld_number_needs_the_phone_typed(world, client):
    data = body(world)
    data.pop("caller_phone")
    r = api_as(client, world.operator).post(URL, json={**data, "caller_number": "anonymous"})
    assert r.status_code == 422 and r.json["error"]["fields"] == {"caller_number": r.json["error"]["message"]}
    assert count(Ticket) == 0


@pytest.mark.parametrize("who", ["district_staff", "callback_agent", "manager", "admin"])
def test_other_roles_may_not_create(world, client, who):
    r = api_as(client, getattr(world, who)).post(URL, json=body(world), headers={"Idempotency-Key": "k1"})
    assert r.status_code == 403 and r.json["error"]["code"] == "FORBIDDEN_ROLE"
    assert count(Ticket) == 0 and count(IdempotencyKey) == 0


def test_dispatcher_may_create(world, client):
    assert api_as(client, world.dispatcher).post(URL, json=body(world)).status_code == 201


def test_validation_errors_name_their_fields(world, client):
    api = api_as(client, world.operator)
    r = api.post(URL, json={k: v for k, v in body(world).items() if k != "title"})
    assert r.status_code == 422 and r.json["error"]["code"] == "VALIDATION"
    assert r.json["error"]["fields"] == {"title": "必填"}
    r = api.post(URL, json=body(world, request_type="gossip", colour="red"))
    assert set(r.json["error"]["fields"]) == {"request_type", "colour"}
    # the intake's own checks
    r = api.post(URL, json=body(world, category_id=999999))
    assert r.status_code == 422 and r.json["error"]["fields"] == {"category_id": "请选择有效的诉求分类"}
    r = api.post(URL, json=body(world, title="   "))
    assert r.status_code == 422 and r.json["error"]["fields"] == {"title": "请填写工单标题"}
    r = api.post(URL, json=body(world, caller_phone="call me"))
    assert r.status_code == 422 and "caller_phone" in r.json["error"]["fields"]
    r = api.post(URL, json=body(world, external_source="province"))
    assert r.status_code == 422 and set(r.json["error"]["fields"]) == {"external_number"}
    r = api.post(URL, json=body(world, external_due_at="2026-11-30T12:00:00"))
    assert r.status_code == 422 and set(r.json["error"]["fields"]) == {"external_due_at"}
    r = api.post(URL, json=body(world, call_id="x" * 65))
    assert r.status_code == 422 and set(r.json["error"]["fields"]) == {"call_id"}
    assert count(Ticket) == 0


def test_bad_json_is_400(world, client):
    api = api_as(client, world.operator)
    r = api.post(URL, data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["error"]["code"] == "BAD_JSON"
    assert count(Ticket) == 0


def test_missing_invalid_and_revoked_tokens_are_401(world, client):
    r = client.post(URL, json=body(world))
    assert r.status_code == 401 and r.json["error"]["code"] == "UNAUTHENTICATED"
    r = Api(client, "hl_not-a-token").post(URL, json=body(world))
    assert r.status_code == 401 and r.json["error"]["code"] == "INVALID_TOKEN"
    token = token_for(world.operator)
    with unit_of_work():
        revoke(db.session.scalars(sa.select(ApiToken)).one())
    for r in (Api(client, token).post(URL, json=body(world)), Api(client, token).get(URL)):
        assert r.status_code == 401 and r.json["error"]["code"] == "INVALID_TOKEN"
    assert count(Ticket) == 0


# --- idempotency --------------------------------------------------------------------------------
def test_a_retry_with_the_same_key_returns_the_same_ticket(world, client):
    api = api_as(client, world.operator)
    first = api.post(URL, json=body(world), headers={"Idempotency-Key": "call-42"})
    # the same JSON in another order and spacing is the same request
    reordered = json.dumps(dict(reversed(list(body(world).items()))), indent=2, ensure_ascii=False)
    again = api.post(URL, data=reordered, headers={"Idempotency-Key": "call-42", "Content-Type": "application/json"})
    assert first.status_code == again.status_code == 201, again.json
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert count(Ticket) == 1 and count(IdempotencyKey) == 1


def test_the_same_key_with_another_body_is_a_conflict(world, client):
    api = api_as(client, world.operator)
    api.post(URL, json=body(world), headers={"Idempotency-Key": "call-42"})
    r = api.post(URL, json=body(world, title="另一件事"), headers={"Idempotency-Key": "call-42"})
    assert r.status_code == 409 and r.json["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert count(Ticket) == 1


def test_keys_belong_to_their_token(world, client):
    a, b = api_as(client, world.operator), Api(client, token_for(world.operator, "第二个"))
    one = a.post(URL, json=body(world), headers={"Idempotency-Key": "k"})
    two = b.post(URL, json=body(world), headers={"Idempotency-Key": "k"})
    assert one.status_code == two.status_code == 201 and one.json["number"] != two.json["number"]
    assert count(Ticket) == 2


def test_a_failed_create_does_not_use_up_its_key(world, client):
    api = api_as(client, world.operator)
    r = api.post(URL, json=body(world, category_id=999999), headers={"Idempotency-Key": "k"})
    assert r.status_code == 422 and count(IdempotencyKey) == 0
    assert api.post(URL, json=body(world), headers={"Idempotency-Key": "k"}).status_code == 201
    r = api.post(URL, json=body(world), headers={"Idempotency-Key": "x" * 201})
    assert r.status_code == 422 and "Idempotency-Key" in r.json["error"]["fields"]


# --- platforms' hand-overs (上级转办) ------------------------------------------------------------
def test_a_platform_number_makes_one_ticket(world, client):
    api = api_as(client, world.operator)
    data = body(world, external_source="province", external_number="SX-2026-0001",
                external_due_at="2026-11-26T17:00:00+08:00")
    first = api.post(URL, json=data)
    assert first.status_code == 201
    assert (first.json["external_source"], first.json["external_number"]) == ("province", "SX-2026-0001")
    assert first.json["external_due_at"] == "2026-11-26T17:00:00+08:00"
    again = api.post(URL, json={**data, "title": "平台重发"})
    assert again.status_code == 200 and again.json["number"] == first.json["number"]
    assert ticket_row(first.json["number"]).title == "小区电梯故障"  # nothing changed
    assert count(Ticket) == 1
    # another platform's same number, or the same platform's next number, is another ticket
    assert api.post(URL, json={**data, "external_source": "national"}).status_code == 201
    assert api.post(URL, json={**data, "external_number": "SX-2026-0002"}).status_code == 201
    # the list carries the platform's number
    items = api.get(URL + "?limit=100").json["items"]
    assert {(i["external_source"], i["external_number"]) for i in items} == {
        ("province", "SX-2026-0001"), ("national", "SX-2026-0001"), ("province", "SX-2026-0002")}


def test_an_aware_time_limit_is_stored_as_local_time(world, client):
    r = api_as(client, world.operator).post(URL, json=body(
        world, external_source="national", external_number="N1", external_due_at="2026-11-26T09:00:00Z"))
    assert ticket_row(r.json["number"]).external_due_at == datetime(2026, 11, 26, 17, 0)


def _dispatch(client, world, number, version, cos=()):
    api = api_as(client, world.dispatcher)
    return api.post(f"{URL}/{number}/dispatch", json={"lead_unit_id": str(world.district.id), "version": version,
                                                      "co_unit_ids": [str(u.id) for u in cos]})


def test_the_stricter_time_limit_binds_at_dispatch(world, client):
    """help/normal: 5 working days from Monday 09:30 -> Monday 30 Nov 09:30 here; the
    platform's Thursday limit is earlier and wins, for the lead and (earlier still) its co-unit."""
    api = api_as(client, world.operator)
    strict = api.post(URL, json=body(world, external_source="province", external_number="P-1",
                                     external_due_at="2026-11-26T17:00:00")).json
    loose = api.post(URL, json=body(world, external_source="province", external_number="P-2",
                                    external_due_at="2026-12-31T17:00:00")).json
    plain = api.post(URL, json=body(world)).json
    for t in (strict, loose, plain):
        r = _dispatch(client, world, t["number"], t["version"], cos=[world.water])
        assert r.status_code == 200, r.json
    due = {}
    for t in (strict, loose, plain):
        row = ticket_row(t["number"])
        due[t["number"]] = {a.role: a.handle_due_at for a in row.assignments}
    computed = due[plain["number"]][AssignmentRole.LEAD]
    assert computed == datetime(2026, 11, 30, 9, 30)
    assert due[strict["number"]][AssignmentRole.LEAD] == datetime(2026, 11, 26, 17, 0)
    assert due[strict["number"]][AssignmentRole.CO] < datetime(2026, 11, 26, 17, 0)
    assert due[loose["number"]] == due[plain["number"]]


def test_the_platform_limit_survives_a_calendar_recompute(world, client):
    from hotline.deadlines.recompute import recompute_open_deadlines

    api = api_as(client, world.operator)
    t = api.post(URL, json=body(world, external_source="province", external_number="P-1",
                                external_due_at="2026-11-26T17:00:00")).json
    _dispatch(client, world, t["number"], t["version"])
    lead = ticket_row(t["number"]).lead_assignment
    lead.calendar_confirmed = False  # provisional: the recompute looks at it
    db.session.commit()
    with unit_of_work():
        recompute_open_deadlines(2026)
    assert ticket_row(t["number"]).lead_assignment.handle_due_at == datetime(2026, 11, 26, 17, 0)


# --- one ticket -----------------------------------------------------------------------------------
def test_confidential_callers_are_hidden_from_units(world, client):
    t = world.dispatched(confidential=True)
    unit = api_as(client, world.district_staff).get(f"{URL}/{t.number}").json
    assert unit["caller"] is None and unit["call_id"] is None and unit["confidential"] is True
    centre = api_as(client, world.dispatcher).get(f"{URL}/{t.number}").json
    assert centre["caller"] == {"name": "张先生", "phone": "13800001111", "anonymous": False}


@pytest.mark.parametrize("who", ["operator", "dispatcher", "district_staff", "street_staff", "callback_agent"])
def test_available_actions_are_the_pages_offers(world, client, who):
    tickets = [world.record(), world.dispatched(), world.signed(), world.replied(), world.reviewed()]
    user = getattr(world, who)
    api = api_as(client, user)
    for t in tickets:
        r = api.get(f"{URL}/{t.number}")
        if r.status_code == 404:
            continue
        db.session.expire_all()
        offered, _ = offers(db.session.get(Ticket, t.id), db.session.merge(user))
        expected = {k: getattr(target, "id", None) for k, target in offered.items() if not REGISTRY[k].on_case}
        assert {a["key"]: a["target"] for a in r.json["available_actions"]} == expected, (who, t.state)


def test_another_units_ticket_is_404_and_nothing_changes(world, client):
    t = world.dispatched()
    events = count(TicketEvent, TicketEvent.ticket_id == t.id)
    api = api_as(client, world.other_staff)
    assert api.get(f"{URL}/{t.number}").status_code == 404
    r = api.post(f"{URL}/{t.number}/sign", json={"version": t.version})
    assert r.status_code == 404 and r.json["error"]["code"] == "NOT_FOUND"
    row = ticket_row(t.number)
    assert row.version == t.version and row.lead_assignment.signed_at is None
    assert count(TicketEvent, TicketEvent.ticket_id == t.id) == events
    assert api.get(f"{URL}/12345-20990101-000001").json["error"]["code"] == "NOT_FOUND"


def test_a_stale_version_is_409_by_header_and_by_body(world, client):
    t = world.dispatched()
    api = api_as(client, world.district_staff)
    r = api.post(f"{URL}/{t.number}/sign", json={}, headers={"If-Match": f'"{t.version - 1}"'})
    assert r.status_code == 409 and r.json["error"]["code"] == "STALE_VERSION"
    assert r.json["error"]["details"] == {"current_version": t.version}
    r = api.post(f"{URL}/{t.number}/sign", json={"version": t.version - 1})
    assert r.status_code == 409 and r.json["error"]["code"] == "STALE_VERSION"
    assert ticket_row(t.number).version == t.version


# --- the list ------------------------------------------------------------------------------------
def test_the_list_pages_by_cursor_newest_first(world, client):
    for i in range(7):
        world.record(title=f"工单 {i}")
    api = api_as(client, world.dispatcher)
    seen, cursor = [], None
    while True:
        r = api.get(URL, query_string={"limit": 3, **({"cursor": cursor} if cursor else {})})
        page = TicketPage.model_validate(r.json)
        assert page.total == 7
        seen += [i.number for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    numbers = [t.number for t in db.session.scalars(sa.select(Ticket).order_by(Ticket.id.desc()))]
    assert seen == numbers and len(r.json["items"]) == 1
    # a ticket added between pages does not shift the later pages
    first = api.get(URL, query_string={"limit": 3}).json
    world.record(title="新来的")
    second = api.get(URL, query_string={"limit": 3, "cursor": first["next_cursor"]}).json
    assert [i["number"] for i in second["items"]] == numbers[3:6] and second["total"] == 8


def test_the_list_filters_like_the_search_page(world, client):
    world.record(title="路灯不亮", request_type="complaint")
    world.dispatched(title="电梯停运")
    world.record(title="噪音扰民", caller_phone="13900009999")
    api = api_as(client, world.dispatcher)

    def titles(**q):
        r = api.get(URL, query_string=q)
        assert r.status_code == 200, r.json
        return sorted(i["title"] for i in r.json["items"])

    assert titles(state="dispatched") == ["电梯停运"]
    assert titles(request_type="complaint") == ["路灯不亮"]
    assert titles(phone="13900009999") == ["噪音扰民"]
    assert titles(text="路灯") == ["路灯不亮"]
    assert titles(queue="pending_dispatch") == ["噪音扰民", "路灯不亮"]
    assert titles(unit_id=world.district.id) == ["电梯停运"]
    assert titles(date_from="2026-11-24") == []


def test_the_list_refuses_bad_queries(world, client):
    api = api_as(client, world.dispatcher)
    for q, field in [({"limit": 101}, "limit"), ({"limit": 0}, "limit"), ({"state": "lost"}, "state"),
                     ({"queue": "nope"}, "queue"), ({"date_from": "23/11/2026"}, "date_from"),
                     ({"cursor": "!!!"}, "cursor"), ({"cursor": "dDEyYQ"}, "cursor")]:
        r = api.get(URL, query_string=q)
        assert r.status_code == 422 and field in r.json["error"]["fields"], (q, r.json)


def test_a_unit_lists_only_its_own_tickets(world, client):
    mine = world.dispatched(title="本区的")
    world.dispatched(lead=world.other_district, title="西城的")
    world.record(title="未派的")
    r = api_as(client, world.district_staff).get(URL)
    assert [i["number"] for i in r.json["items"]] == [mine.number] and r.json["total"] == 1
    r = api_as(client, world.street_staff).get(URL)
    assert r.json["items"] == [] and r.json["total"] == 0


# --- the whole lifecycle through the API -----------------------------------------------------------
def test_the_lifecycle_end_to_end(world, client):
    operator, dispatcher = api_as(client, world.operator), api_as(client, world.dispatcher)
    unit, agent = api_as(client, world.district_staff), api_as(client, world.callback_agent)
    r = operator.post(URL, json=body(world), headers={"Idempotency-Key": "call-1"})
    assert r.status_code == 201
    number, path = r.json["number"], f"{URL}/{r.json['number']}"
    r = dispatcher.post(f"{path}/dispatch", json={"lead_unit_id": str(world.district.id)},
                        headers={"If-Match": r.headers["ETag"]})
    assert r.status_code == 200 and r.json["ticket"]["state"]["value"] == "dispatched", r.json
    etag = unit.get(path).headers["ETag"]
    r = unit.post(f"{path}/sign", json={}, headers={"If-Match": etag})
    assert r.status_code == 200 and r.json["ticket"]["state"]["value"] == "signed", r.json
    r = unit.post(f"{path}/reply", json={"version": r.json["ticket"]["version"], "result": "已联系物业修复电梯。",
                                         "actions_taken": "现场查看并督促维修。", "contacted_citizen": True,
                                         "contact_note": "电话告知"})
    assert r.status_code == 200 and r.json["ticket"]["state"]["value"] == "replied", r.json
    r = dispatcher.post(f"{path}/review", json={"version": r.json["ticket"]["version"], "decision": "accept"})
    assert r.status_code == 200 and r.json["ticket"]["state"]["value"] == "reviewed", r.json
    r = agent.post(f"{path}/callback", json={"version": r.json["ticket"]["version"], "reached": "1",
                                             "resolution": "resolved", "satisfaction": "satisfied",
                                             "request_reasonable": "1", "citizen_words": "修好了，谢谢"})
    assert r.status_code == 200, r.json
    t = TicketOut.model_validate(r.json["ticket"])
    assert t.state.value == "closed" and t.closed_at is not None and r.json["message"]
    assert [e.action.value for e in t.events] == ["record", "dispatch", "sign", "reply", "review_accept", "callback"]
    assert ticket_row(number).state is TicketState.CLOSED
