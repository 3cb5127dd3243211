"""Webhooks: deliveries written in the action's transaction (none for a rolled-back action),
filtered by event type and source platform, sent by the `webhooks` job to a real HTTP
receiver, signed, retried with back-off and logged attempt by attempt; the admin pages
(CSRF on) create subscriptions, refuse bad URLs in Chinese, show the log and replay."""
from __future__ import annotations

import calendar
import hashlib
import re
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from hotline.enums import TicketState
from hotline.extensions import db
from hotline.lifecycle import unit_of_work
from hotline.scheduler.runner import run_job
from hotline.tickets.models import Assignment, Ticket, TicketEvent
from hotline.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from hotline.webhooks.services import create_subscription
from tests import svc
from tests.conftest import START, count
from tests.factories import at
from tests.test_pages import csrf_token, login


class Receiver:
    """A real HTTP endpoint on 127.0.0.1: answers each POST with the next scripted status
    (the last one repeats) and keeps what it got."""

    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.got: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=(200,)):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def subscribe(url, **data) -> WebhookSubscription:
    with unit_of_work():
        sub = create_subscription({"system": data.pop("system", "省级平台"), "url": url, **data})
    return sub


def send(app, when=None):
    """Run the `webhooks` job as the scheduler does (its own context and session)."""
    if when is not None:
        at(when)
    db.session.commit()
    return run_job(app, "webhooks")


def deliveries(*where):
    db.session.expire_all()
    return db.session.scalars(sa.select(WebhookDelivery).where(*where).order_by(WebhookDelivery.id)).all()


def verify(secret: str, got: dict) -> bool:
    headers = got["headers"]
    mac = hmac.new(secret.encode(), headers["X-Hotline-Timestamp"].encode() + b"." + got["body"], hashlib.sha256)
    return hmac.compare_digest(headers["X-Hotline-Signature"], "sha256=" + mac.hexdigest())


def from_platform(world, source="province", number="SZ-2026-0001"):
    t = world.record()
    db.session.execute(sa.update(Ticket).where(Ticket.id == t.id).values(external_source=source,
                                                                         external_number=number))
    db.session.commit()
    return db.session.get(Ticket, t.id)


# --- sending ----------------------------------------------------------------------------
def test_a_delivery_is_retried_with_back_off_until_the_receiver_takes_it(app, world, receiver):
    hook = receiver([500, 500, 200])
    sub = subscribe(hook.url, event_types=["dispatch"])
    t = world.record()
    svc.dispatch(t.id, world.dispatcher, t.version, world.district.id, note="请联系张先生 13800001111 核实")
    [d] = deliveries()
    assert (d.state, d.event_type, d.attempts, d.next_attempt_at) == ("pending", "dispatch", 0, START)

    assert send(app) == {"delivered": 0, "retry": 1, "failed": 0}
    [d] = deliveries()
    assert (d.state, d.attempts, d.last_status, d.next_attempt_at) == ("pending", 1, 500, START + timedelta(minutes=1))
    assert send(app, START + timedelta(seconds=30)) == {"delivered": 0, "retry": 0, "failed": 0}  # not yet due
    second = START + timedelta(minutes=1, seconds=1)
    assert send(app, second)["retry"] == 1
    [d] = deliveries()
    assert d.attempts == 2 and d.next_attempt_at == second + timedelta(minutes=5)
    assert send(app, second + timedelta(minutes=4))["retry"] == 0
    third = second + timedelta(minutes=5)
    assert send(app, third) == {"delivered": 1, "retry": 0, "failed": 0}
    assert send(app, third + timedelta(hours=1)) == {"delivered": 0, "retry": 0, "failed": 0}  # delivered once

    [d] = deliveries()
    assert (d.state, d.attempts, d.delivered_at, d.last_status, d.last_error) == ("delivered", 3, third, 200, None)
    assert len(hook.got) == 3
    assert {g["headers"]["X-Hotline-Delivery"] for g in hook.got} == {str(d.id)}
    assert all(verify(sub.secret, g) for g in hook.got)
    assert not verify("another-secret", hook.got[0])
    last = hook.got[-1]
    assert last["headers"]["X-Hotline-Event"] == "dispatch"
    assert last["headers"]["X-Hotline-Timestamp"] == str(calendar.timegm((2026, 11, 23, 1, 36, 1)))  # 09:36:01 +08:00
    assert last["headers"]["Content-Type"].startswith("application/json")
    body = json.loads(last["body"])
    event = db.session.scalars(sa.select(TicketEvent).where(TicketEvent.action == "dispatch")).one()
    assert body == d.payload
    assert body["event"] == {"id": event.id, "type": "dispatch", "label": "派单", "at": "2026-11-23T09:30:00+08:00"}
    assert body["ticket"] == {"number": t.number, "state": "dispatched", "state_label": TicketState.DISPATCHED.label,
                              "closure": None, "external_source": None, "external_number": None}
    assert body["unit"] == {"id": world.centre.id, "code": "CENTRE", "name": "12345热线中心"}
    # the public parts only: the caller's name and phone never leave
    assert body["note"] == "请联系*** *** 核实"
    assert "张先生" not in last["body"].decode() and "13800001111" not in last["body"].decode()

    log = db.session.scalars(sa.select(WebhookAttempt).where(WebhookAttempt.delivery_id == d.id)
                             .order_by(WebhookAttempt.id)).all()
    assert [(a.at, a.status) for a in log] == [(START, 500), (second, 500), (third, 200)]
    assert log[0].error == "HTTP 500 Internal Server Error" and log[2].error is None
    assert all(a.duration_ms is not None and a.duration_ms >= 0 for a in log)


def test_after_the_last_attempt_a_delivery_is_failed(app, world, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_ATTEMPTS", 2)
    hook = receiver([503])
    subscribe(hook.url, event_types=["record"])
    world.record()
    assert send(app)["retry"] == 1
    assert send(app, START + timedelta(minutes=1))["failed"] == 1
    [d] = deliveries()
    assert (d.state, d.attempts, d.last_status) == ("failed", 2, 503)
    assert send(app, START + timedelta(days=3)) == {"delivered": 0, "retry": 0, "failed": 0}
    assert len(hook.got) == 2


def test_an_unreachable_receiver_is_an_attempt_with_its_error(app, world, receiver):
    hook = receiver()
    url = hook.url
    hook.close()  # nobody listens there any more
    subscribe(url, event_types=["record"])
    world.record()
    assert send(app)["retry"] == 1
    [d] = deliveries()
    [attempt] = db.session.scalars(sa.select(WebhookAttempt)).all()
    assert d.last_status is None and attempt.status is None and "URLError" in attempt.error
    assert d.last_error == attempt.error


def test_a_deactivated_subscription_gets_nothing_new_and_its_pending_wait(app, world, receiver):
    hook = receiver()
    sub = subscribe(hook.url)
    t = world.record()
    assert len(deliveries()) == 1
    with unit_of_work():
        db.session.get(WebhookSubscription, sub.id).active = False
    svc.dispatch(t.id, world.dispatcher, t.version, world.district.id)
    assert len(deliveries()) == 1  # no delivery for the dispatch
    assert send(app)["delivered"] == 0 and hook.got == []


def test_a_delivery_locked_by_another_sender_is_skipped(app, world, receiver, db_kind):
    if db_kind != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED: PostgreSQL (run a single scheduler on SQLite)")
    hook = receiver()
    subscribe(hook.url, event_types=["record"])
    world.record()
    [d] = deliveries()
    db.session.commit()
    with db.engine.connect() as other:
        other.execute(sa.select(WebhookDelivery.id).where(WebhookDelivery.id == d.id).with_for_update())
        assert send(app)["delivered"] == 0  # another sender holds it: skipped, not waited for
        other.rollback()
    assert send(app)["delivered"] == 1 and len(hook.got) == 1


# --- the outbox: same transaction, filters ----------------------------------------------------
def test_a_rolled_back_action_writes_no_delivery(app, world):
    subscribe("https://example.org/hook")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), unit_of_work():
        from hotline.intake.operations import record_ticket
        record_ticket(world.operator, world.draft())
        db.session.flush()
        assert count(WebhookDelivery) == 1  # written with the event, in the same transaction
        raise Boom()
    assert count(WebhookDelivery) == 0 and count(TicketEvent) == 0
    world.record()
    assert count(WebhookDelivery) == 1


def test_a_platform_subscription_gets_only_its_own_tickets_events(app, world):
    mine = from_platform(world)
    plain = world.record()
    platform = subscribe("https://province.example/hook", system="省级平台", source="province")
    everything = subscribe("https://bi.example/hook", system="数据中心")
    other = subscribe("https://city.example/hook", system="市级平台", source="city")
    for t in (mine, plain):
        svc.dispatch(t.id, world.dispatcher, t.version, world.district.id)
    dispatches = dict(db.session.execute(sa.select(TicketEvent.ticket_id, TicketEvent.id)
                                         .where(TicketEvent.action == "dispatch")).all())
    by_sub = {s.id: sorted(d.event_id for d in deliveries(WebhookDelivery.subscription_id == s.id))
              for s in (platform, everything, other)}
    assert by_sub == {platform.id: [dispatches[mine.id]], everything.id: sorted(dispatches.values()), other.id: []}
    [d] = deliveries(WebhookDelivery.subscription_id == platform.id)
    assert d.ticket_id == mine.id and d.event_type == "dispatch"
    assert d.payload["ticket"]["external_source"] == "province"
    assert d.payload["ticket"]["external_number"] == "SZ-2026-0001"


def test_event_types_choose_the_events_and_a_reply_carries_its_public_text(app, world):
    sub = subscribe("https://province.example/hook", event_types=["reply", "close"])
    t = world.signed()
    svc.reply(t.id, world.district_staff, t.version, "已联系张先生（13800001111），物业已修复电梯。",
              public_text="您反映的电梯故障已修复，感谢您的监督。")
    t = db.session.get(Ticket, t.id)
    [d] = deliveries()
    assert d.subscription_id == sub.id and d.event_type == "reply" and d.ticket_id == t.id
    assert d.payload["reply"] == {"public_text": "您反映的电梯故障已修复，感谢您的监督。"}
    assert d.payload["note"] == ""  # the result is the unit's report to the centre, not for the public
    assert "已联系" not in json.dumps(d.payload, ensure_ascii=False)
    assert d.payload["unit"]["name"] == world.district.name
    assert d.payload["ticket"]["state"] == "replied"
    # without a public text nothing is published (as on the status page and in Open311)
    u = world.signed()
    svc.reply(u.id, world.district_staff, u.version, "电梯已修复。")
    assert deliveries()[-1].payload["reply"] == {"public_text": ""} and deliveries()[-1].payload["note"] == ""


def test_scheduler_notices_are_delivered_too(app, world):
    subscribe("https://province.example/hook", event_types=["urge", "overdue"])
    t = world.signed()
    due = db.session.scalars(sa.select(Assignment.handle_due_at).where(Assignment.ticket_id == t.id)).one()
    at(due + timedelta(days=1))
    db.session.commit()
    run_job(app, "deadline_watch")
    got = deliveries()
    assert sorted(d.event_type for d in got) == ["overdue", "urge"]
    assert all(d.ticket_id == t.id and d.payload["unit"] is None and d.payload["ticket"]["number"] == t.number
               for d in got)
    events = db.session.scalars(sa.select(TicketEvent.id).where(TicketEvent.action.in_(("urge", "overdue")))).all()
    assert sorted(d.event_id for d in got) == sorted(events)


def test_a_closing_carries_its_closure(app, world):
    subscribe("https://province.example/hook", event_types=["callback"])
    t = world.reviewed()
    svc.record_callback(t.id, world.callback_agent, t.version, reached=True, resolution="resolved",
                        satisfaction="satisfied", citizen_words="很满意，谢谢")
    [d] = deliveries()
    assert d.payload["ticket"]["state"] == "closed" and d.payload["ticket"]["closure"] == "satisfied"
    assert d.payload["note"] == "很满意，谢谢"


# --- admin pages ------------------------------------------------------------------------
def _post(client, url, data, page=None):
    html = client.get(page or url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(html), **data})


def test_admin_creates_edits_and_deactivates_a_subscription(app, world, client):
    login(client, "admin")
    home = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/webhooks"' in home and "事件推送" in home
    resp = _post(client, "/admin/webhooks/new", {"system": "省级平台", "url": "https://province.example/hook",
                                                 "source": "province", "event_types": ["reply", "close"]})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    sub = db.session.scalars(sa.select(WebhookSubscription)).one()
    assert (sub.system, sub.url, sub.source, sub.event_types, sub.active) == (
        "省级平台", "https://province.example/hook", "province", ["close", "reply"], True)
    assert len(sub.secret) == 64
    page = client.get(resp.headers["Location"])
    assert page.headers["Cache-Control"] == "no-store"
    assert sub.secret in page.get_data(as_text=True)  # shown to the admin to hand over
    listing = client.get("/admin/webhooks").get_data(as_text=True)
    assert "province.example" in listing and "办结反馈" in listing and sub.secret not in listing
    # edit: all events, new secret
    old = sub.secret
    resp = _post(client, f"/admin/webhooks/{sub.id}/edit", {"system": "省级平台", "url": "http://10.0.0.5:8080/in",
                                                           "source": "", "active": "y", "new_secret": "y"})
    assert resp.status_code == 302
    db.session.expire_all()
    sub = db.session.get(WebhookSubscription, sub.id)
    assert (sub.url, sub.source, sub.event_types, sub.active) == ("http://10.0.0.5:8080/in", None, [], True)
    assert sub.secret != old and len(sub.secret) == 64
    # deactivate
    resp = _post(client, f"/admin/webhooks/{sub.id}/deactivate", {}, page="/admin/webhooks")
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(WebhookSubscription, sub.id).active is False
    assert client.post(f"/admin/webhooks/{sub.id}/deactivate").status_code in (302, 400)
    world.record()
    assert count(WebhookDelivery) == 0


@pytest.mark.parametrize("url", ["ftp://province.example/hook", "province.example/hook", "https://",
                                 "javascript:alert(1)", "http://exa mple.org/"])
def test_a_bad_url_is_refused_in_chinese_with_the_input_kept(app, world, client, url):
    login(client, "admin")
    resp = _post(client, "/admin/webhooks/new", {"system": "微信公众号", "url": url, "event_types": ["close"]})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "推送地址须为 http:// 或 https:// 开头的完整网址" in html
    assert 'value="微信公众号"' in html and re.search(r'<input checked[^>]*value="close"', html)
    assert count(WebhookSubscription) == 0


def test_the_log_shows_attempts_and_replay_sends_again(app, world, client, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_ATTEMPTS", 1)
    hook = receiver([500, 200])
    sub = subscribe(hook.url, system="微信公众号", event_types=["record"])
    t = world.record()
    assert send(app)["failed"] == 1
    [d] = deliveries()
    login(client, "admin")
    log = client.get(f"/admin/webhooks/deliveries?state=failed&subscription={sub.id}").get_data(as_text=True)
    assert f"#{d.id}" in log and t.number in log and "投递失败" in log and "HTTP 500" in log
    assert "尝试记录（1 次）" in log and "重新投递" in log
    assert f"#{d.id}" not in client.get("/admin/webhooks/deliveries?state=delivered").get_data(as_text=True)
    # without the CSRF token: refused, nothing queued
    assert client.post(f"/admin/webhooks/deliveries/{d.id}/replay").status_code == 400
    assert deliveries()[0].state == "failed"
    at(START + timedelta(hours=2))
    resp = _post(client, f"/admin/webhooks/deliveries/{d.id}/replay",
                 {"next": f"/admin/webhooks/deliveries?state=failed&subscription={sub.id}"},
                 page="/admin/webhooks/deliveries")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/admin/webhooks/deliveries?state=failed")
    [d] = deliveries()
    assert (d.state, d.attempts, d.next_attempt_at) == ("pending", 0, START + timedelta(hours=2))
    # a pending delivery is not replayed twice
    resp = _post(client, f"/admin/webhooks/deliveries/{d.id}/replay", {}, page="/admin/webhooks/deliveries")
    assert "该投递正在等待发送，无需重新投递" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert send(app)["delivered"] == 1
    [d] = deliveries()
    assert d.state == "delivered" and count(WebhookAttempt, WebhookAttempt.delivery_id == d.id) == 2  # log kept
    assert [g["headers"]["X-Hotline-Delivery"] for g in hook.got] == [str(d.id)] * 2
    assert hook.got[0]["body"] == hook.got[1]["body"]  # the same event, as it was
    # a delivered one may be sent again too; an outside `next` is not followed
    resp = _post(client, f"/admin/webhooks/deliveries/{d.id}/replay", {"next": "https://evil.example/"},
                 page="/admin/webhooks/deliveries")
    assert resp.headers["Location"] == "/admin/webhooks/deliveries"
    assert send(app)["delivered"] == 1 and len(hook.got) == 3
    # not for a subscription that was switched off
    with unit_of_work():
        db.session.get(WebhookSubscription, sub.id).active = False
    resp = _post(client, f"/admin/webhooks/deliveries/{d.id}/replay", {}, page="/admin/webhooks/deliveries")
    assert "该推送订阅已停用，请先启用后再重新投递" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert deliveries()[0].state == "delivered"


@pytest.mark.parametrize("username", ["dispatcher", "d1staff", "supervisor"])
def test_non_admins_get_403(app, world, client, username):
    sub = subscribe("https://province.example/hook", event_types=["record"])
    world.record()
    [d] = deliveries()
    with unit_of_work():
        db.session.get(WebhookDelivery, d.id).state = "failed"
    login(client, username)
    token = csrf_token(client.get("/").get_data(as_text=True))
    for url in ("/admin/webhooks", "/admin/webhooks/new", f"/admin/webhooks/{sub.id}/edit",
                "/admin/webhooks/deliveries"):
        assert client.get(url).status_code == 403, url
    posts = {"/admin/webhooks/new": {"system": "x", "url": "https://x.example/"},
             f"/admin/webhooks/{sub.id}/edit": {"system": "x", "url": "https://x.example/"},
             f"/admin/webhooks/{sub.id}/deactivate": {}, f"/admin/webhooks/deliveries/{d.id}/replay": {}}
    for url, data in posts.items():
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    db.session.expire_all()
    assert count(WebhookSubscription) == 1 and db.session.get(WebhookSubscription, sub.id).active
    assert deliveries()[0].state == "failed"
