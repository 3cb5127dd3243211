"""领导签批: a supervised ticket's re-handled result waits for a leader's sign-off between
review and callback; the gate's setting; the leader's desk; the sheet and ticket page."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hotline import settings
from hotline.deadlines.services import due_for
from hotline.enums import (AssignmentState, DeadlineClock, EventAction, NotificationKind, Role,
                           Satisfaction, SignoffDecision, SupervisionState, TicketState)
from hotline.extensions import db
from hotline.notifications.models import Notification
from hotline.review.models import LeaderSignoff
from hotline.review.signoff import SIGNOFF_GATE, SIGNOFF_GATE_DEFAULT
from hotline.supervision.models import SupervisionCase
from hotline.tickets.models import Ticket
from tests import svc
from tests.conftest import count
from tests.factories import later
from tests.parity import check_parity
from tests.test_pages import login
from tests.test_transitions_support import (ROLE, STALE, STATE, Ctx, applied, case, invalid, make, refused,
                                            snapshot)
from tests.test_workbench import page, post_action

WORDS = "同意重新办理结果，请回访市民核实。"



# --- situations -----------------------------------------------------------------------
def _rehandled(w, name="reopened") -> Ctx:
    """Reopened under a supervision case; the lead unit replied again."""
    c = make(w, name)
    later(hours=2)
    svc.reply(c.t, w.district_staff, c.v, "已更换整套电梯控制系统，连续运行 48 小时无故障。")
    return c


def pending_signoff(w) -> Ctx:
    c = _rehandled(w)
    later(hours=1)
    svc.review(c.t, w.dispatcher, c.v, accept=True)
    return c


def signoff_returned(w) -> Ctx:
    c = pending_signoff(w)
    later(hours=1)
    svc.act("signoff_return", c.t, w.leader, c.v, words="请查明电梯反复故障的原因后再报")
    return c


def approved(w) -> Ctx:
    c = pending_signoff(w)
    svc.act("signoff_approve", c.t, w.leader, c.v, words="同意")
    return c


def fresh(tid) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, tid)


def open_case(tid) -> SupervisionCase:
    db.session.expire_all()
    return db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.ticket_id == tid,
                                                               SupervisionCase.state == SupervisionState.OPEN)).one()


def set_gate(**rule):
    settings.store(SIGNOFF_GATE, {**SIGNOFF_GATE_DEFAULT, **rule})
    db.session.commit()


def review_accept(c):
    return svc.review(c.t, c.w.dispatcher, c.v, accept=True)


# --- the gate -------------------------------------------------------------------------
def test_accepted_rehandled_reply_waits_for_signoff_and_leaders_are_told(world):
    c = _rehandled(world)
    r = applied(c.t, lambda: review_accept(c))
    assert r.ticket["state"] is TicketState.PENDING_SIGNOFF
    assert r.ticket["callback_due_at"] is None
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.REVIEW_ACCEPT, TicketState.REPLIED, TicketState.PENDING_SIGNOFF)
    assert r.after["replies"][-1]["review_ok"] is True
    note = db.session.scalars(sa.select(Notification).where(Notification.kind == NotificationKind.SIGNOFF)).one()
    assert note.role == Role.LEADER.value and note.ticket_id == c.t and note.unit_id is None
    assert "待领导签批" in note.title
    from hotline.notifications.services import unread_count
    assert unread_count(world.leader) == 1 and unread_count(world.dispatcher) == 0


def test_first_round_reply_goes_straight_to_callback(world):
    t = world.replied()
    t = svc.review(t.id, world.dispatcher, t.version, accept=True)
    assert t.state is TicketState.REVIEWED and t.callback_due_at is not None
    assert count(Notification, Notification.kind == NotificationKind.SIGNOFF) == 0


def test_gate_off_sends_the_rehandled_reply_to_callback(world):
    set_gate(enabled=False)
    c = _rehandled(world)
    review_accept(c)
    assert fresh(c.t).state is TicketState.REVIEWED and fresh(c.t).callback_due_at is not None
    assert count(Notification, Notification.kind == NotificationKind.SIGNOFF) == 0


def test_gate_min_level_2_skips_a_level_1_case_and_holds_a_level_2_case(world):
    set_gate(min_level=2)
    c = _rehandled(world)
    assert open_case(c.t).level == 1
    review_accept(c)
    assert fresh(c.t).state is TicketState.REVIEWED
    # a second (reasonable) 不满意 raises the case to level 2: now the gate applies
    svc.record_callback(c.t, world.callback_agent, c.v, reached=True, resolution="unresolved",
                        satisfaction=Satisfaction.UNSATISFIED, citizen_words="还是坏的")
    assert open_case(c.t).level == 2 and fresh(c.t).state is TicketState.REOPENED
    svc.reply(c.t, world.district_staff, c.v, "再次维修。")
    review_accept(c)
    assert fresh(c.t).state is TicketState.PENDING_SIGNOFF


@pytest.mark.parametrize("types,expected", [
    (["complaint", "report"], TicketState.REVIEWED),   # a 求助 ticket is not among them
    (["help"], TicketState.PENDING_SIGNOFF),
    ([], TicketState.PENDING_SIGNOFF),                 # empty: every request type
])
def test_gate_request_types_filter(world, types, expected):
    set_gate(request_types=types)
    c = _rehandled(world)
    review_accept(c)
    assert fresh(c.t).state is expected


def test_review_reject_of_a_supervised_reply_is_not_gated(world):
    c = _rehandled(world)
    svc.review(c.t, world.dispatcher, c.v, accept=False, note="未说明故障原因")
    assert fresh(c.t).state is TicketState.REOPENED


# --- 签批同意 / 签批退回 --------------------------------------------------------------
def test_leader_approves_with_words_and_the_ticket_goes_to_callback(world):
    c = pending_signoff(world)
    case_id, reply_id = open_case(c.t).id, snapshot(c.t)["replies"][-1]["id"]
    later(hours=3)
    r = applied(c.t, lambda: svc.act("signoff_approve", c.t, world.leader, c.v, words=f"  {WORDS} "))
    t = fresh(c.t)
    assert t.state is TicketState.REVIEWED
    assert t.callback_due_at == due_for(DeadlineClock.CALLBACK, t.request_type, t.urgency, r.event["at"]).at
    assert t.reopen_count == 1
    row = db.session.scalars(sa.select(LeaderSignoff)).one()
    assert (row.ticket_id, row.case_id, row.reply_id, row.leader_id) == (c.t, case_id, reply_id, world.leader.id)
    assert (row.leader_name, row.leader_title, row.decision, row.words) == (
        world.leader.display_name, "分管副主任", SignoffDecision.APPROVED, WORDS)
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.SIGNOFF_APPROVE, TicketState.PENDING_SIGNOFF, TicketState.REVIEWED)
    assert r.event["note"] == WORDS and r.event["actor_id"] == world.leader.id
    payload = r.event["payload"]
    assert (payload["by"], payload["title"], payload["words"]) == (world.leader.display_name, "分管副主任", WORDS)
    assert (payload["signoff_id"], payload["reply_id"], payload["case_id"]) == (row.id, reply_id, case_id)


def test_leader_returns_to_the_lead_unit_like_a_review_reject(world):
    c = pending_signoff(world)
    lead_id = fresh(c.t).lead_assignment.id
    r = applied(c.t, lambda: svc.act("signoff_return", c.t, world.leader, c.v, words="请查明反复故障的原因"))
    assert r.ticket["state"] is TicketState.REOPENED and r.ticket["reopen_count"] == 1
    assert r.ticket["callback_due_at"] is None
    assert r.assignment(lead_id)["state"] is AssignmentState.SIGNED
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.SIGNOFF_RETURN, TicketState.PENDING_SIGNOFF, TicketState.REOPENED)
    assert r.event["payload"]["words"] == "请查明反复故障的原因" and r.event["assignment_id"] == lead_id
    row = db.session.scalars(sa.select(LeaderSignoff)).one()
    assert row.decision is SignoffDecision.RETURNED and row.words == "请查明反复故障的原因"
    assert r.after["supervision_cases"] == r.before["supervision_cases"]  # the case stays open as it was
    # the unit handles it again; the next accepted reply goes back to the leader
    svc.reply(c.t, world.district_staff, c.v, "已查明原因为线路老化，全部更换。")
    review_accept(c)
    assert fresh(c.t).state is TicketState.PENDING_SIGNOFF
    svc.act("signoff_approve", c.t, world.leader, c.v, words="同意")
    assert [s.decision for s in db.session.scalars(sa.select(LeaderSignoff).order_by(LeaderSignoff.id))] == [
        SignoffDecision.RETURNED, SignoffDecision.APPROVED]


def _approve(who="leader", words=WORDS, dv=0):
    return lambda c: svc.act("signoff_approve", c.t, getattr(c.w, who), c.v + dv, words=words)


def _return(who="leader", words="退回", dv=0):
    return lambda c: svc.act("signoff_return", c.t, getattr(c.w, who), c.v + dv, words=words)


REFUSALS = [
    case("dispatcher_cannot_approve", "pending_signoff", _approve("dispatcher"), ROLE),
    case("supervisor_cannot_approve", "pending_signoff", _approve("supervisor"), ROLE),
    case("unit_cannot_approve", "pending_signoff", _approve("district_staff"), ROLE),
    case("callback_agent_cannot_return", "pending_signoff", _return("callback_agent"), ROLE),
    case("approve_stale_version", "pending_signoff", _approve(dv=-1), STALE),
    case("return_stale_version", "pending_signoff", _return(dv=-1), STALE),
    case("approve_needs_words", "pending_signoff", _approve(words=""), invalid("words")),
    case("approve_blank_words", "pending_signoff", _approve(words="   "), invalid("words")),
    case("return_needs_words", "pending_signoff", _return(words=None), invalid("words")),
    case("return_words_too_long", "pending_signoff", _return(words="长" * 4001), invalid("words")),
    case("nothing_to_approve_when_replied", "replied_again", _approve(), STATE),
    case("nothing_to_approve_when_reviewed", "reviewed", _approve(), STATE),
    case("nothing_to_return_when_reopened", "reopened", _return(), STATE),
    case("not_after_a_return", "signoff_returned", _approve(), STATE),
    case("not_twice", "approved", _approve(), STATE),
]

SIGNOFF_SITUATIONS = {
    "pending_signoff": pending_signoff,
    "signoff_returned": signoff_returned,
    "replied_again": _rehandled,
    "approved": approved,
}


@pytest.mark.parametrize("situation,call,expect", REFUSALS)
def test_illegal_signoff_is_refused_and_changes_nothing(world, situation, call, expect):
    c = SIGNOFF_SITUATIONS[situation](world) if situation in SIGNOFF_SITUATIONS else make(world, situation)
    signoffs, notes = count(LeaderSignoff), count(Notification)
    refused(c.t, lambda: call(c), expect)
    assert (count(LeaderSignoff), count(Notification)) == (signoffs, notes)


# --- parity ---------------------------------------------------------------------------

@pytest.mark.parametrize("situation", ["pending_signoff", "signoff_returned"])
def test_parity_in_the_signoff_situations(world, situation):
    master_id = world.record(caller_phone="13700003333").id
    c = SIGNOFF_SITUATIONS[situation](world)
    check_parity(world, c.t, master_id)


# --- the whole loop through the pages -------------------------------------------------
def test_full_loop_unsatisfied_reopen_reply_review_signoff_callback_accept(world, app):
    w = world
    w.leader.display_name = "王建国"
    db.session.commit()
    t = w.reviewed()
    # 不满意 (a reasonable request): reopened at once under a supervision case
    later(hours=3)
    svc.record_callback(t.id, w.callback_agent, t.version, reached=True, resolution="unresolved",
                        satisfaction=Satisfaction.UNSATISFIED, citizen_words="电梯修好一天又坏了")
    case_ = open_case(t.id)
    assert fresh(t.id).state is TicketState.REOPENED and case_.level == 1
    later(days=1)
    svc.reply(t.id, w.district_staff, fresh(t.id).version, "维保单位已更换整套控制系统，连续运行48小时无故障。")
    later(hours=2)
    svc.review(t.id, w.dispatcher, fresh(t.id).version, accept=True)
    assert fresh(t.id).state is TicketState.PENDING_SIGNOFF

    # the leader: home queue, desk, the ticket page
    leader = app.test_client()
    login(leader, "leader")
    resp, html = page(leader, "/")
    assert re.search(r'data-queue="pending_signoff">1<', html) and 'href="/leader"' in html
    resp, html = page(leader, "/leader")
    assert resp.status_code == 200 and t.number in html and w.district.name in html
    assert "维保单位已更换整套控制系统" in html and (case_.code or f"#{case_.id}") in html
    resp, html = page(leader, f"/tickets/{t.id}")
    assert 'id="action-signoff_approve"' in html and 'id="action-signoff_return"' in html
    assert "signoff-info" in html
    # a bad input comes back in Chinese
    resp = post_action(leader, t.id, "signoff_approve", words="   ")
    assert resp.status_code == 400 and "请填写签批意见" in resp.get_data(as_text=True)
    # a stale form keeps what the leader wrote
    resp = post_action(leader, t.id, "signoff_approve", version=fresh(t.id).version - 1, words="同意，另请核实。")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "同意，另请核实。" in html
    assert fresh(t.id).state is TicketState.PENDING_SIGNOFF and count(LeaderSignoff) == 0
    later(hours=1)
    resp = post_action(leader, t.id, "signoff_approve", words=WORDS)
    assert resp.status_code == 302
    t = fresh(t.id)
    assert t.state is TicketState.REVIEWED and t.callback_due_at is not None
    resp, html = page(leader, f"/tickets/{t.id}")
    assert "已签批同意，转回访" in html and 'id="signoffs"' in html
    assert "王建国（分管副主任）" in html and WORDS in html
    resp, html = page(leader, "/leader")
    assert t.number not in html

    # callback satisfied, then the supervisor accepts the case
    later(hours=2)
    svc.record_callback(t.id, w.callback_agent, t.version, reached=True, resolution="resolved",
                        satisfaction=Satisfaction.SATISFIED, citizen_words="修好了")
    assert fresh(t.id).state is TicketState.CLOSED
    svc.act("accept_case", t.id, w.supervisor, target=case_.id, note="回访满意，验收销号")
    db.session.expire_all()
    assert db.session.get(SupervisionCase, case_.id).state is SupervisionState.CLOSED
    sup = app.test_client()
    login(sup, "supervisor")
    resp, html = page(sup, f"/supervision/{case_.id}")
    assert resp.status_code == 200
    sheet = html[html.index('id="signoffs"'):]
    assert "签批同意" in sheet and "王建国" in sheet and "分管副主任" in sheet and WORDS in sheet

    story = [(e.action, e.to_state) for e in fresh(t.id).events][-5:]
    assert story == [(EventAction.REPLY, TicketState.REPLIED),
                     (EventAction.REVIEW_ACCEPT, TicketState.PENDING_SIGNOFF),
                     (EventAction.SIGNOFF_APPROVE, TicketState.REVIEWED),
                     (EventAction.CALLBACK, TicketState.CLOSED),
                     (EventAction.ACCEPT_CASE, TicketState.CLOSED)]


# --- the leader's desk ----------------------------------------------------------------
def test_leader_desk_is_for_leaders_only(world, client):
    login(client, "dispatcher")
    assert client.get("/leader").status_code == 403
    resp, html = page(client, "/")
    assert 'href="/leader"' not in html


def test_leader_desk_lists_oldest_first_and_unread_instructions(world, app):
    first = pending_signoff(world)
    later(hours=5)
    second = pending_signoff(world)
    other = world.signed(caller_phone="13600006666", title="路灯不亮")
    svc.act("instruction", other.id, world.leader, text="请三日内修复路灯并回复")
    svc.act("instruction", other.id, world.supervisor, text="督办人员的批示不在领导的桌面上")
    leader = app.test_client()
    login(leader, "leader")
    _, html = page(leader, "/leader")
    n1, n2 = fresh(first.t).number, fresh(second.t).number
    waiting = html[html.index('id="waiting-signoff"'):html.index('id="unread-instructions"')]
    assert waiting.index(n1) < waiting.index(n2)
    unread = html[html.index('id="unread-instructions"'):]
    assert "请三日内修复路灯并回复" in unread and other.number in unread and "督办人员的批示" not in unread
    svc.act("ack_instruction", other.id, world.district_staff)
    _, html = page(leader, "/leader")
    assert "请三日内修复路灯并回复" not in html and "您的批示均已由承办单位阅读确认" in html
