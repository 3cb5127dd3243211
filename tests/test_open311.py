"""Open311 GeoReport v2 at /open311/v2, written from the spec
(http://wiki.open311.org/GeoReport_v2): each resource's shape in JSON and in XML as the
spec's examples show it, the filters and the 90-day window of GET requests, open/closed
from the lifecycle, what is never shown (callers, internal notes, confidential tickets),
the api_key and the spec's error lists; and two real Open311 client libraries from PyPI
(civicbot, georeport) listing services, filing a request and reading it back from the
app served on a port."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from hotline.api.auth import create_token, revoke
from hotline.categories.models import Category
from hotline.enums import Channel, Closure, EventAction, Satisfaction, TicketState
from hotline.extensions import db
from hotline.tickets.models import Ticket, TicketEvent
from tests import svc
from tests.conftest import START, count
from tests.factories import CategoryFactory, at
from tests.live import serving
from tests.test_admin_pages import fresh, html_of, submit
from tests.test_pages import login

BASE = "/open311/v2"
SERVICE_KEYS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
#: A request's elements in the order of the spec's example
REQUEST_KEYS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]
PUBLIC_TEXT = "电梯已由物业公司修复，恢复运行。"
INTERNAL = "内部：维保单位拖延，已约谈物业经理"
CONTACT_NOTE = "已电话联系张先生"


@pytest.fixture
def o311(world):
    """The elevator category public (group 物业管理), one more public category, one public
    but deactivated, one internal; an API token for the operator."""
    world.category.public = True
    world.extra["noise"] = CategoryFactory(code="HB-ZS", name="噪声扰民", full_name="环境保护 › 噪声扰民",
                                           parent=CategoryFactory(code="HB", name="环境保护", full_name="环境保护"),
                                           public=True)
    CategoryFactory(code="OLD", name="旧分类", full_name="旧分类", public=True, active=False)
    world.extra["internal"] = CategoryFactory(code="NB", name="内部事项", full_name="内部事项")
    row, text = create_token(world.operator, "Open311 应用", by=world.admin)
    world.extra["token_row"], world.extra["api_key"] = row, text
    db.session.commit()
    return world


def get(client, path, **params):
    return client.get(BASE + path, query_string=params)


def xml_of(resp) -> ET.Element:
    assert resp.content_type == "text/xml; charset=utf-8"
    raw = resp.get_data()
    assert raw.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    return ET.fromstring(raw)


def children(element: ET.Element) -> dict:
    return {c.tag: c.text for c in element}


def post(client, o311, fmt="json", **over):
    form = dict(api_key=o311.extra["api_key"], service_code="CJ-WY-DT", address_string="幸福路 12 号",
                description="幸福小区 3 号楼电梯停运三天\n老人上下楼困难", first_name="伟", last_name="张",
                phone="13800001111", email="zhang@example.cn")
    form.update(over)
    return client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in form.items() if v is not None})


def errors_json(resp, status) -> list[dict]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert isinstance(body, list) and body and all(set(e) == {"code", "description"} for e in body)
    assert all(e["code"] == status for e in body)
    return body


def errors_xml(resp, status) -> list[dict]:
    assert resp.status_code == status
    root = xml_of(resp)
    assert root.tag == "errors" and [e.tag for e in root] == ["error"] * len(root) and len(root)
    return [children(e) for e in root]


# --- discovery and services -------------------------------------------------------------
def test_discovery_lists_the_v2_endpoint_in_both_formats(o311, client):
    body = get(client, "/discovery.json").get_json()
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = body["endpoints"]
    assert endpoint == {"specification": "http://wiki.open311.org/GeoReport_v2", "url": "http://localhost/open311/v2",
                        "changeset": body["changeset"], "type": "production",
                        "formats": ["text/xml", "application/json"]}
    assert datetime.fromisoformat(body["changeset"]).utcoffset() == timedelta(hours=8)

    root = xml_of(get(client, "/discovery.xml"))
    assert root.tag == "discovery"
    assert [c.tag for c in root] == ["changeset", "contact", "key_service", "endpoints"]
    (endpoint,) = root.find("endpoints")
    assert endpoint.tag == "endpoint"
    assert endpoint.findtext("url") == "http://localhost/open311/v2"
    assert [f.text for f in endpoint.find("formats")] == ["text/xml", "application/json"]
    assert [f.tag for f in endpoint.find("formats")] == ["format", "format"]


def test_services_are_the_active_public_categories(o311, client):
    body = get(client, "/services.json").get_json()
    assert [s["service_code"] for s in body] == ["CJ-WY-DT", "HB-ZS"]  # by full name; not OLD, NB, parents
    assert all(set(s) == SERVICE_KEYS for s in body)
    assert body[0] == {"service_code": "CJ-WY-DT", "service_name": "电梯故障", "description": "城乡建设 › 物业管理 › 电梯故障",
                       "metadata": False, "type": "realtime", "keywords": "城乡建设, 物业管理, 电梯故障",
                       "group": "物业管理"}
    assert body[1]["group"] == "环境保护"

    root = xml_of(get(client, "/services.xml"))
    assert root.tag == "services" and [s.tag for s in root] == ["service", "service"]
    first = children(root[0])
    assert list(first) == ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
    assert (first["service_code"], first["metadata"], first["type"], first["group"]) == (
        "CJ-WY-DT", "false", "realtime", "物业管理")


def test_a_top_level_public_category_has_no_group(o311, client):
    o311.category.parent.parent.public = True
    db.session.commit()
    top = next(s for s in get(client, "/services.json").get_json() if s["service_code"] == "CJ")
    assert top["group"] is None
    element = next(s for s in xml_of(get(client, "/services.xml")) if s.findtext("service_code") == "CJ")
    assert element.find("group") is not None and element.find("group").text is None


def test_service_definition_and_unknown_or_internal_services(o311, client):
    assert get(client, "/services/CJ-WY-DT.json").get_json() == {"service_code": "CJ-WY-DT", "attributes": []}
    root = xml_of(get(client, "/services/CJ-WY-DT.xml"))
    assert root.tag == "service_definition" and [c.tag for c in root] == ["service_code", "attributes"]
    assert root.findtext("service_code") == "CJ-WY-DT" and len(root.find("attributes")) == 0

    for code in ("NB", "OLD", "NOPE"):  # internal, deactivated, missing: the same 404
        (error,) = errors_json(get(client, f"/services/{code}.json"), 404)
        assert code in error["description"]
        (error,) = errors_xml(get(client, f"/services/{code}.xml"), 404)
        assert error["code"] == "404" and code in error["description"]


def test_unknown_resources_and_formats_answer_the_error_list(o311, client):
    errors_json(get(client, "/whatever.json"), 404)
    errors_xml(get(client, "/whatever.xml"), 404)
    errors_json(get(client, "/services.csv"), 404)
    errors_json(get(client, "/requests/NOPE.json"), 404)
    errors_xml(get(client, "/tokens/nope.xml"), 404)


# --- POST a service request -------------------------------------------------------------
def _ticket() -> Ticket:
    db.session.expire_all()
    return db.session.scalars(sa.select(Ticket)).one()


def test_post_json_records_the_request_through_the_intake(o311, client):
    resp = post(client, o311)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    (body,) = resp.get_json()
    assert set(body) == {"service_request_id", "token", "service_notice", "account_id"}
    assert body["account_id"] is None and body["service_notice"]
    t = _ticket()
    assert body["service_request_id"] == t.number and body["token"] == t.open311_token and len(t.open311_token) == 32
    assert (t.channel, t.category_id, t.state, t.created_by_id) == (
        Channel.WEBSITE, o311.category.id, TicketState.PENDING_DISPATCH, o311.operator.id)
    assert (t.caller_name, t.caller_phone, t.anonymous) == ("张伟", "13800001111", False)
    assert (t.address, t.title) == ("幸福路 12 号", "幸福小区 3 号楼电梯停运三天")
    assert t.content == "幸福小区 3 号楼电梯停运三天\n老人上下楼困难"
    assert [e.action for e in db.session.scalars(sa.select(TicketEvent))] == [EventAction.RECORD]


def test_post_xml_answers_the_spec_xml(o311, client):
    resp = post(client, o311, "xml", first_name="Jane", last_name="Doe")
    assert resp.status_code == 201
    root = xml_of(resp)
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request"]
    request = children(root[0])
    assert list(request) == ["service_request_id", "token", "service_notice", "account_id"]
    t = _ticket()
    assert (request["service_request_id"], request["token"], request["account_id"]) == (t.number, t.open311_token, None)
    assert t.caller_name == "Jane Doe"


def test_post_without_phone_is_anonymous_and_coordinates_become_the_address(o311, client):
    resp = post(client, o311, phone=None, address_string=None, lat="39.9042", long="116.4074",
                media_url="https://img.example.cn/a.jpg")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    t = _ticket()
    assert (t.anonymous, t.caller_name, t.caller_phone, len(t.query_code)) == (True, "", "", 8)
    assert t.address == "坐标 39.904200,116.407400"
    assert t.content.endswith("附件链接：https://img.example.cn/a.jpg")
    post(client, o311, address_string="长安街 1 号", lat="39.9", long="116.4")
    assert "长安街 1 号（坐标 39.900000,116.400000）" in {t.address for t in db.session.scalars(sa.select(Ticket))}


@pytest.mark.parametrize("over, words", [
    (dict(service_code=None), "service_code"),
    (dict(service_code="NB"), "NB"),
    (dict(service_code="OLD"), "OLD"),
    (dict(address_string=None), "位置"),
    (dict(lat="39.9"), "lat"),
    (dict(lat="north", long="116"), "lat"),
    (dict(lat="91", long="116"), "lat"),
    (dict(description=""), "description"),
    (dict(phone="12"), "phone：联系电话格式不正确"),
    (dict(media_url="ftp://x"), "media_url"),
])
def test_post_with_bad_input_answers_400_and_records_nothing(o311, client, over, words):
    (error,) = errors_json(post(client, o311, **over), 400)
    assert words in error["description"]
    (error,) = errors_xml(post(client, o311, "xml", **over), 400)
    assert words in error["description"]
    assert count(Ticket) == 0


def test_api_key_missing_invalid_revoked_or_not_an_operator_is_403(o311, client):
    def refused(**over):
        (error,) = errors_json(post(client, o311, **over), 403)
        (xml_error,) = errors_xml(post(client, o311, "xml", **over), 403)
        assert xml_error["description"] == error["description"]
        return error["description"]

    assert "api_key" in refused(api_key=None)
    assert "api_key" in refused(api_key="")
    assert "无效" in refused(api_key="hl_not-a-token")
    _row, dispatcher_key = create_token(o311.dispatcher, "派单员的令牌", by=o311.admin)
    db.session.commit()
    assert "话务员" in refused(api_key=dispatcher_key)
    revoke(o311.extra["token_row"])
    db.session.commit()
    assert "吊销" in refused()
    assert count(Ticket) == 0


def test_a_deactivated_operator_s_key_is_refused(o311, client):
    o311.operator.active = False
    db.session.commit()
    errors_json(post(client, o311), 403)
    assert count(Ticket) == 0


def test_token_resource_gives_the_request_id(o311, client):
    (created,) = post(client, o311).get_json()
    body = get(client, f"/tokens/{created['token']}.json").get_json()
    assert body == [{"service_request_id": created["service_request_id"], "token": created["token"]}]
    root = xml_of(get(client, f"/tokens/{created['token']}.xml"))
    assert root.tag == "service_requests"
    assert children(root[0]) == {"service_request_id": created["service_request_id"], "token": created["token"]}


# --- GET service requests -----------------------------------------------------------------
def test_a_request_as_the_spec_shows_it(o311, client):
    (created,) = post(client, o311).get_json()
    number = created["service_request_id"]
    (body,) = get(client, f"/requests/{number}.json").get_json()
    assert set(body) == set(REQUEST_KEYS)
    assert body == {"service_request_id": number, "status": "open", "status_notes": None, "service_name": "电梯故障",
                    "service_code": "CJ-WY-DT", "description": "幸福小区 3 号楼电梯停运三天\n老人上下楼困难",
                    "agency_responsible": None, "service_notice": None,
                    "requested_datetime": "2026-11-23T09:30:00+08:00", "updated_datetime": "2026-11-23T09:30:00+08:00",
                    "expected_datetime": None, "address": "幸福路 12 号", "address_id": None, "zipcode": None,
                    "lat": None, "long": None, "media_url": None}

    root = xml_of(get(client, f"/requests/{number}.xml"))
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request"]
    request = children(root[0])
    assert list(request) == REQUEST_KEYS
    assert request == body
    assert get(client, "/requests.json").get_json() == [body]


def _old_and_new(o311):
    """A ticket recorded 100 days ago, one 10 days ago, one now."""
    at(START - timedelta(days=100))
    old = o311.record(title="旧工单")
    at(START - timedelta(days=10))
    recent = o311.record(title="十天前")
    at(START)
    new = o311.record(title="今天")
    return old, recent, new


def numbers(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [r["service_request_id"] for r in resp.get_json()]


def test_get_requests_default_window_is_the_last_90_days_newest_first(o311, client):
    old, recent, new = _old_and_new(o311)
    assert numbers(get(client, "/requests.json")) == [new.number, recent.number]
    root = xml_of(get(client, "/requests.xml"))
    assert [r.findtext("service_request_id") for r in root] == [new.number, recent.number]


def test_get_requests_date_window(o311, client):
    old, recent, new = _old_and_new(o311)
    assert numbers(get(client, "/requests.json", start_date="2026-08-01T00:00:00+08:00",
                       end_date="2026-10-01T00:00:00+08:00")) == [old.number]
    # an offset is converted: 01:30Z is 09:30 in the city, the moment `new` was recorded
    assert numbers(get(client, "/requests.json", start_date="2026-11-23T01:30:00Z",
                       end_date="2026-11-23T01:30:00Z")) == [new.number]
    assert numbers(get(client, "/requests.json", start_date="2026-11-23T01:30:01Z")) == []
    # only start_date: 90 days from it; only end_date: 90 days up to it (old at 08-15 09:30, recent 11-13 09:30)
    assert numbers(get(client, "/requests.json", start_date="2026-08-15T09:00:00")) == [old.number]
    assert numbers(get(client, "/requests.json", start_date="2026-08-15T09:30:00")) == [recent.number, old.number]
    assert numbers(get(client, "/requests.json", end_date="2026-11-13T10:00:00")) == [recent.number]
    assert numbers(get(client, "/requests.json", end_date="2026-11-13T09:30:00")) == [recent.number, old.number]
    # a "+" the client left unencoded arrives as a space
    assert numbers(get(client, "/requests.json", start_date="2026-11-23T09:30:00 08:00")) == [new.number]


@pytest.mark.parametrize("params, words", [
    (dict(start_date="2026-01-01", end_date="2026-11-01"), "90 天"),
    (dict(start_date="2026-11-01", end_date="2026-10-01"), "end_date"),
    (dict(start_date="yesterday"), "start_date"),
    (dict(end_date="2026-13-01"), "end_date"),
    (dict(status="pending"), "status"),
])
def test_get_requests_refuses_bad_filters(o311, client, params, words):
    (error,) = errors_json(get(client, "/requests.json", **params), 400)
    assert words in error["description"]
    (error,) = errors_xml(get(client, "/requests.xml", **params), 400)
    assert words in error["description"]


def test_get_requests_filters(o311, client):
    old, recent, new = _old_and_new(o311)
    noise = o311.record(category_id=o311.extra["noise"].id)
    svc.answer_directly(new.id, o311.operator, new.version, "已告知维修电话")
    assert numbers(get(client, "/requests.json", status="closed")) == [new.number]
    assert numbers(get(client, "/requests.json", status="open")) == [noise.number, recent.number]
    assert numbers(get(client, "/requests.json", status="open,closed")) == [noise.number, new.number, recent.number]
    assert numbers(get(client, "/requests.json", service_code="HB-ZS")) == [noise.number]
    assert numbers(get(client, "/requests.json", service_code="HB-ZS,CJ-WY-DT", status="open")) == [
        noise.number, recent.number]
    # service_request_id overrides every other filter, the window included
    assert numbers(get(client, "/requests.json", service_request_id=f"{old.number}, {noise.number},NOPE",
                       status="closed", service_code="X")) == [noise.number, old.number]


def test_status_and_notes_follow_the_lifecycle(o311, client):
    t = o311.record()

    def shown():
        (row,) = get(client, f"/requests/{t.number}.json").get_json()
        return row

    assert (shown()["status"], shown()["agency_responsible"], shown()["expected_datetime"]) == ("open", None, None)
    t = svc.dispatch(t.id, o311.dispatcher, t.version, o311.district.id)
    t = svc.sign(t.id, o311.district_staff, t.version)
    row = shown()
    lead = db.session.get(Ticket, t.id).lead_assignment
    assert row["agency_responsible"] == "东城区人民政府"
    assert row["expected_datetime"] == lead.handle_due_at.isoformat() + "+08:00"
    svc.reply(t.id, o311.district_staff, t.version, INTERNAL, contacted_citizen=True, contact_note=CONTACT_NOTE,
              public_text=PUBLIC_TEXT)
    assert (shown()["status"], shown()["status_notes"]) == ("open", None)  # not yet accepted by the centre
    t = svc.review(t.id, o311.dispatcher, db.session.get(Ticket, t.id).version, accept=True)
    assert (shown()["status"], shown()["status_notes"]) == ("open", PUBLIC_TEXT)
    svc.record_callback(t.id, o311.callback_agent, t.version, reached=True, resolution="resolved",
                        satisfaction=Satisfaction.SATISFIED, citizen_words="满意")
    row = shown()
    assert (row["status"], row["status_notes"]) == ("closed", PUBLIC_TEXT)
    assert row["updated_datetime"] == db.session.get(Ticket, t.id).updated_at.isoformat() + "+08:00"


def test_a_closed_ticket_without_public_text_shows_its_closure_label(o311, client):
    t = o311.record()
    svc.answer_directly(t.id, o311.operator, t.version, "请拨打物业电话 12345678（张先生专线）")
    (row,) = get(client, f"/requests/{t.number}.json").get_json()
    assert (row["status"], row["status_notes"]) == ("closed", Closure.ANSWERED.label)
    root = xml_of(get(client, f"/requests/{t.number}.xml"))
    assert (root[0].findtext("status"), root[0].findtext("status_notes")) == ("closed", "直接答复")


def test_callers_and_internal_notes_are_never_shown(o311, client):
    t = o311.signed(caller_name="李秘密", caller_phone="13912345678")
    svc.reply(t.id, o311.district_staff, t.version, INTERNAL, contacted_citizen=True, contact_note=CONTACT_NOTE,
              public_text=PUBLIC_TEXT)
    svc.review(t.id, o311.dispatcher, db.session.get(Ticket, t.id).version, accept=True, note="审核意见：内部")
    answers = [json.dumps(get(client, path).get_json(), ensure_ascii=False)
               for path in ("/requests.json", f"/requests/{t.number}.json")]
    answers += [get(client, path).get_data().decode("utf-8") for path in ("/requests.xml", f"/requests/{t.number}.xml")]
    for text in answers:
        assert t.number in text and PUBLIC_TEXT in text
        for secret in ("李秘密", "13912345678", INTERNAL, CONTACT_NOTE, "审核意见"):
            assert secret not in text


def test_confidential_tickets_and_internal_categories_do_not_exist_for_open311(o311, client):
    shown = o311.record(title="公开")
    secret = o311.record(title="保密", confidential=True)
    internal = o311.record(category_id=o311.extra["internal"].id)
    secret_row = db.session.get(Ticket, secret.id)
    secret_row.open311_token = "c" * 32
    db.session.commit()
    assert numbers(get(client, "/requests.json")) == [shown.number]
    assert numbers(get(client, "/requests.json", service_request_id=f"{secret.number},{internal.number}")) == []
    xml = get(client, "/requests.xml").get_data(as_text=True)
    assert secret.number not in xml and internal.number not in xml
    for number in (secret.number, internal.number):
        errors_json(get(client, f"/requests/{number}.json"), 404)
        errors_xml(get(client, f"/requests/{number}.xml"), 404)
    errors_json(get(client, f"/tokens/{'c' * 32}.json"), 404)
    # a category made internal again takes its tickets out of Open311 with it
    o311.category.public = False
    db.session.commit()
    assert numbers(get(client, "/requests.json")) == []
    errors_json(get(client, "/services/CJ-WY-DT.json"), 404)


def test_at_most_1000_requests_per_answer(o311, client, monkeypatch):
    from hotline.open311 import services

    monkeypatch.setattr(services, "LIMIT", 2)
    _old, recent, new = _old_and_new(o311)
    third = o311.record()
    assert numbers(get(client, "/requests.json")) == [third.number, new.number]


# --- the admin's switch -----------------------------------------------------------------
def test_admin_makes_a_category_public_on_the_category_form(o311, client):
    login(client, "admin")
    noise = o311.extra["noise"]
    edit = f"/admin/categories/{noise.id}/edit"
    assert 'name="public"' in html_of(client.get(edit)) and "Open311" in html_of(client.get("/admin/categories"))
    resp = submit(client, edit, dict(code="HB-ZS", name="噪声扰民", parent_id=noise.parent_id, sort="0", active="y"))
    assert resp.status_code == 302 and fresh(Category, noise.id).public is False
    assert [s["service_code"] for s in get(client, "/services.json").get_json()] == ["CJ-WY-DT"]
    resp = submit(client, edit, dict(code="HB-ZS", name="噪声扰民", parent_id=noise.parent_id, sort="0", active="y",
                                     public="y"))
    assert resp.status_code == 302 and fresh(Category, noise.id).public is True
    assert [s["service_code"] for s in get(client, "/services.json").get_json()] == ["CJ-WY-DT", "HB-ZS"]


# --- real clients against a running server ---------------------------------------------------
@pytest.fixture
def served(app, o311):
    """The test's app (and database) served by werkzeug on a free port of 127.0.0.1;
    yields the Open311 base URL and the exceptions the server raised."""
    db.session.commit()  # the test holds no transaction while the server writes
    with serving(app, "open311-test-server", dispose=False) as (base, errors):
        yield base + BASE, errors


def test_a_real_open311_client_files_a_request_and_reads_it_back(o311, served, monkeypatch):
    """civicbot's Open311Client (GeoReport v2, JSON) lists the services, files a request
    with the operator's api_key and reads it back by id and by token; georeport (XML)
    reads the services, the definition and the request; nothing leaves 127.0.0.1."""
    from civicbot.http import HttpError, HttpTransport, RateLimiter
    from civicbot.open311 import Open311Client
    from civicbot.registry import Endpoint
    from georeport import GeoReport

    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    base, server_errors = served
    endpoint = Endpoint(id="hotline", name="12345 热线", base_url=base, write=True)
    civic = Open311Client(endpoint, transport=HttpTransport(rate_limiter=RateLimiter(min_interval=0), timeout=30))

    assert [s["service_code"] for s in civic.list_services()] == ["CJ-WY-DT", "HB-ZS"]
    filed = civic.create_request("CJ-WY-DT", dry_run=False, confirm="SEND", api_key=o311.extra["api_key"],
                                  validate_remote=True, address_string="幸福路 12 号", lat=39.9042, lng=116.4074,
                                  description="幸福小区 3 号楼电梯停运三天", first_name="伟", last_name="张",
                                  phone="13800001111", email="zhang@example.cn")
    (created,) = filed.response
    number, token = created["service_request_id"], created["token"]
    t = _ticket()
    assert (t.number, t.open311_token, t.caller_name, t.created_by_id) == (number, token, "张伟", o311.operator.id)
    assert t.address == "幸福路 12 号（坐标 39.904200,116.407400）"
    db.session.commit()  # end the test's read: on SQLite every transaction takes the write lock

    fetched = civic.get_request(number)
    assert (fetched["service_request_id"], fetched["status"], fetched["service_code"]) == (number, "open", "CJ-WY-DT")
    assert fetched["requested_datetime"] == "2026-11-23T09:30:00+08:00"
    assert civic.get_token(token) == [{"service_request_id": number, "token": token}]
    assert [r["service_request_id"] for r in civic.list_requests(service_request_ids=[number])] == [number]
    assert [r["service_request_id"] for r in civic.list_requests(status="open", service_code="CJ-WY-DT")] == [number]

    with pytest.raises(HttpError) as refused:
        civic.create_request("CJ-WY-DT", dry_run=False, confirm="SEND", api_key="hl_wrong",
                              address_string="幸福路 12 号", description="再报一次")
    assert refused.value.status == 403 and '"code":403' in refused.value.body.replace(" ", "")
    assert count(Ticket) == 1
    db.session.commit()

    xml_client = GeoReport(base, output_format="xml")
    services = xml_client.get_service_list()
    assert [s["service_code"] for s in services] == ["CJ-WY-DT", "HB-ZS"] and services[0]["metadata"] == "false"
    assert xml_client.get_service_definition("CJ-WY-DT")["service_code"] == "CJ-WY-DT"
    request = xml_client.get_service_request(number)
    assert (request["service_request_id"], request["status"], request["address"]) == (
        number, "open", "幸福路 12 号（坐标 39.904200,116.407400）")
    assert request["status_notes"] is None
    assert GeoReport(base).get_service_request(number)["service_request_id"] == number
    assert xml_client.get_service_requests(service_request_id=number)["service_request_id"] == number
    assert server_errors == []


def test_a_signed_in_browser_session_can_read_open311_too(o311, client):
    """Open311 ignores the session (it authenticates by api_key): a signed-in user's cookie
    must not load the user before Open311's rate limit takes its counter (on SQLite that
    would hold the write lock the counter needs: a 500)."""
    login(client, "admin")
    resp = get(client, "/services.json")
    assert resp.status_code == 200 and resp.get_json()
