"""The hard routing cases and the unit's clock: 挂起 (suspension), 申请终止 (termination),
上级协调 (coordination after repeated returns), co-unit deadlines, 并单 after dispatch and
拆单 (split). Transitions legal and illegal, parity in the new situations, full loops and
one action through the page."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from hotline.dispatch.models import Coordination
from hotline.enums import (AssignmentRole, AssignmentState, Closure, EventAction, NotificationKind, RequestState,
                           ReturnDecision, ReturnReason, Role, TicketState)
from hotline.extensions import db
from hotline.handling.models import Suspension, Termination
from hotline.lifecycle import available_actions, unit_of_work
from hotline.notifications.models import Notification
from hotline.scheduler.jobs import deadline_watch, escalation
from hotline.settings import store
from hotline.tickets.models import Assignment, Ticket, TicketEvent, TicketReturn
from tests import svc
from tests.factories import at
from tests.parity import check_parity
from tests.test_transitions_support import (HANDLE_DUE, NOW, REPLY_TEXT, ROLE, SIGN_DUE, STALE, STATE, applied,
                                            assignment_of, code, fresh_ticket, invalid, make, refused)

CO_DUE = datetime(2026, 11, 27, 9, 30)  # 1 working day before HANDLE_DUE (Mon 30 Nov → Fri 27 Nov)


# --- valid input of this step's actions (tests.parity) ---------------------------------



# --- helpers ---------------------------------------------------------------------------
def request_suspension(c, who=None, reason="市民出国，需待其回国后现场核实", resume_on=None, **kw):
    return svc.act("request_suspension", c.t, who or c.w.district_staff, c.v, reason=reason,
                   expected_resume_on=resume_on or date(2026, 12, 10), **kw)


def decide(key, c, who, decision="approve", note="", target=None):
    return svc.act(key, c.t, who, c.v, target=target, decision=decision, note=note)


def suspended(w):
    c = make(w, "signed")
    row = request_suspension(c)
    decide("decide_suspension", c, w.dispatcher)
    c.extra["suspension_id"] = row.id
    return c


def events(tid, action):
    return db.session.scalars(sa.select(TicketEvent).where(TicketEvent.ticket_id == tid, TicketEvent.action == action)
                              .order_by(TicketEvent.id)).all()


def notices(kind, **where):
    stmt = sa.select(Notification).where(Notification.kind == kind)
    for k, v in where.items():
        stmt = stmt.where(getattr(Notification, k) == v)
    return db.session.scalars(stmt).all()


def lead(tid) -> Assignment:
    return fresh_ticket(tid).lead_assignment


def run_jobs(when):
    at(when)
    with unit_of_work():
        deadline_watch(when)
    with unit_of_work():
        escalation(when)


# --- 挂起 -------------------------------------------------------------------------------
def test_suspension_requested_approved_stops_the_clocks_and_resume_moves_the_deadlines(world):
    c = make(world, "signed")
    r = applied(c.t, lambda: request_suspension(c))
    assert r.event["action"] is EventAction.REQUEST_SUSPENSION and r.ticket["state"] is TicketState.SIGNED
    row = db.session.get(Suspension, r.result.id)
    assert (row.state, row.expected_resume_on, row.assignment_id) == (
        RequestState.PENDING, date(2026, 12, 10), assignment_of(c.t, world.district).id)
    assert notices(NotificationKind.SUSPENSION, role=Role.DISPATCHER.value)

    at(NOW + timedelta(hours=1))  # Mon 23 Nov 10:30
    r = applied(c.t, lambda: decide("decide_suspension", c, world.dispatcher, note="同意"))
    assert r.ticket["state"] is TicketState.SUSPENDED and r.event["action"] is EventAction.APPROVE_SUSPENSION
    row = db.session.get(Suspension, row.id)
    assert (row.state, row.prior_state, row.started_at) == (RequestState.APPROVED, TicketState.SIGNED,
                                                           NOW + timedelta(hours=1))
    # the unit cannot reply or ask for time while suspended
    refused(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT), STATE)
    # the clocks stand still: no warning, urge, overdue mark or escalation
    run_jobs(HANDLE_DUE + timedelta(days=3))
    a = lead(c.t)
    assert a.handle_overdue_at is None and a.escalation_level == 1
    assert not events(c.t, EventAction.OVERDUE) and not events(c.t, EventAction.WARNING)

    # resumed Thu 3 Dec 10:30: 8 working days stood still (24 Nov .. 2 Dec + the hours of 23 Nov and 3 Dec)
    at(datetime(2026, 12, 3, 10, 30))
    r = applied(c.t, lambda: svc.act("resume", c.t, world.district_staff, c.v, note="市民已回国"))
    assert r.ticket["state"] is TicketState.SIGNED and r.event["action"] is EventAction.RESUME
    row = db.session.get(Suspension, row.id)
    assert row.state is RequestState.ENDED and row.working_minutes == 8 * 9 * 60
    a = r.assignment(assignment_of(c.t, world.district).id)
    assert a["handle_due_at"] == datetime(2026, 12, 10, 9, 30)  # 30 Nov + 8 working days
    assert a["handle_due_original_at"] == datetime(2026, 12, 10, 9, 30)  # the extension cap moves with it
    (change,) = r.event["payload"]["deadlines"]
    assert change["handle_due_at"] == [HANDLE_DUE.isoformat(), datetime(2026, 12, 10, 9, 30).isoformat()]
    # the unit goes on: not overdue at the old deadline's time, overdue after the new one
    run_jobs(datetime(2026, 12, 9, 18))
    assert lead(c.t).handle_overdue_at is None
    run_jobs(datetime(2026, 12, 10, 9, 31))
    assert lead(c.t).handle_overdue_at == datetime(2026, 12, 10, 9, 31)


def test_suspension_refused_keeps_the_ticket_going(world):
    c = make(world, "signed")
    request_suspension(c)
    refused(c.t, lambda: decide("decide_suspension", c, world.dispatcher, "refuse"), invalid("note"))
    r = applied(c.t, lambda: decide("decide_suspension", c, world.dispatcher, "refuse", "理由不充分"))
    assert r.ticket["state"] is TicketState.SIGNED and r.event["action"] is EventAction.REFUSE_SUSPENSION
    assert db.session.scalar(sa.select(Suspension.state)) is RequestState.REFUSED
    # a new request may follow once the first is decided
    applied(c.t, lambda: request_suspension(c))


def test_suspension_refusals(world):
    c = make(world, "signed_co")
    refused(c.t, lambda: request_suspension(c, reason=""), invalid("reason"))
    refused(c.t, lambda: svc.act("request_suspension", c.t, world.district_staff, c.v, reason="x"),
            invalid("expected_resume_on"))
    refused(c.t, lambda: request_suspension(c, resume_on=NOW.date()), invalid("expected_resume_on"))
    refused(c.t, lambda: request_suspension(c, who=world.housing_staff), code("NOT_LEAD_UNIT"))
    refused(c.t, lambda: request_suspension(c, who=world.dispatcher), ROLE)
    refused(c.t, lambda: svc.act("request_suspension", c.t, world.district_staff, c.v - 1, reason="x",
                                 expected_resume_on=date(2026, 12, 10)), STALE)
    refused(c.t, lambda: svc.act("resume", c.t, world.dispatcher, c.v), code("NOT_SUSPENDED"))
    refused(c.t, lambda: decide("decide_suspension", c, world.dispatcher), code("NO_PENDING_SUSPENSION"))
    request_suspension(c)
    refused(c.t, lambda: request_suspension(c), code("SUSPENSION_PENDING"))
    refused(c.t, lambda: decide("decide_suspension", c, world.district_staff), ROLE)
    refused(c.t, lambda: decide("decide_suspension", c, world.dispatcher, "maybe"), invalid("decision"))
    d = make(world, "dispatched")  # not signed yet: nothing to suspend
    refused(d.t, lambda: request_suspension(d), STATE)


def test_resume_by_the_dispatcher_or_the_lead_unit_only(world):
    c = suspended(world)
    refused(c.t, lambda: svc.act("resume", c.t, world.housing_staff, c.v), code("NOT_LEAD_UNIT"))
    refused(c.t, lambda: svc.act("resume", c.t, world.callback_agent, c.v), ROLE)
    refused(c.t, lambda: request_suspension(c), STATE)
    r = applied(c.t, lambda: svc.act("resume", c.t, world.dispatcher, c.v))
    assert r.ticket["state"] is TicketState.SIGNED


def test_suspended_reopened_ticket_resumes_reopened(world):
    c = make(world, "reopened")
    request_suspension(c)
    decide("decide_suspension", c, world.dispatcher)
    assert fresh_ticket(c.t).state is TicketState.SUSPENDED
    svc.act("resume", c.t, world.district_staff, c.v)
    assert fresh_ticket(c.t).state is TicketState.REOPENED


# --- 申请终止 ---------------------------------------------------------------------------
def test_termination_requested_and_approved_closes_the_ticket(world):
    c = make(world, "co_signed")
    r = applied(c.t, lambda: svc.act("request_termination", c.t, world.district_staff, c.v,
                                     reason="被投诉企业已注销，无法办理"))
    assert r.event["action"] is EventAction.REQUEST_TERMINATION and r.ticket["state"] is TicketState.SIGNED
    assert db.session.scalar(sa.select(Termination.state)) is RequestState.PENDING
    r = applied(c.t, lambda: decide("decide_termination", c, world.supervisor, note="同意终止"))
    assert (r.ticket["state"], r.ticket["closure"]) == (TicketState.CLOSED, Closure.TERMINATED)
    assert r.event["action"] is EventAction.APPROVE_TERMINATION
    assert {a["state"] for a in r.after["assignments"]} == {AssignmentState.DONE}


def test_termination_refused_and_refusals(world):
    c = make(world, "signed_co")
    refused(c.t, lambda: svc.act("request_termination", c.t, world.district_staff, c.v, reason=""), invalid("reason"))
    refused(c.t, lambda: svc.act("request_termination", c.t, world.housing_staff, c.v, reason="x"),
            code("NOT_LEAD_UNIT"))
    refused(c.t, lambda: decide("decide_termination", c, world.dispatcher), code("NO_PENDING_TERMINATION"))
    svc.act("request_termination", c.t, world.district_staff, c.v, reason="无法办理")
    refused(c.t, lambda: svc.act("request_termination", c.t, world.district_staff, c.v, reason="x"),
            code("TERMINATION_PENDING"))
    refused(c.t, lambda: decide("decide_termination", c, world.callback_agent), ROLE)
    r = applied(c.t, lambda: decide("decide_termination", c, world.dispatcher, "refuse", "请继续办理"))
    assert r.ticket["state"] is TicketState.SIGNED and r.event["action"] is EventAction.REFUSE_TERMINATION
    assert db.session.scalar(sa.select(Termination.state)) is RequestState.REFUSED


# --- 上级协调 ---------------------------------------------------------------------------
def returned_twice(w):
    c = make(w, "returned")
    svc.redispatch(c.t, w.dispatcher, c.v, c.return_id, lead_unit_id=w.housing.id)
    ret = svc.return_ticket(c.t, w.housing_staff, c.v, ReturnReason.NOT_OUR_DUTY, "不属住建职责")
    c.extra["return_id"] = ret.id
    return c


def test_full_loop_returned_twice_goes_to_coordination_and_the_decided_unit_must_handle_it(world):
    w = world
    c = make(w, "returned")
    svc.redispatch(c.t, w.dispatcher, c.v, c.return_id, lead_unit_id=w.housing.id)
    v = c.v
    ret = svc.return_ticket(c.t, w.housing_staff, v, ReturnReason.NOT_OUR_DUTY, "不属住建职责")
    t = fresh_ticket(c.t)
    assert t.state is TicketState.COORDINATING and t.version == v + 1  # one action, two events
    assert [e.action for e in t.events[-2:]] == [EventAction.RETURN, EventAction.TO_COORDINATION]
    row = db.session.scalars(sa.select(Coordination)).one()
    assert (row.returns, row.decided_at) == (2, None)
    assert notices(NotificationKind.COORDINATION, role=Role.SUPERVISOR.value)
    # the dispatcher no longer re-dispatches: the supervising level decides
    refused(c.t, lambda: svc.redispatch(c.t, w.dispatcher, c.v, ret.id, lead_unit_id=w.water.id), STATE)
    refused(c.t, lambda: svc.act("coordinate", c.t, w.dispatcher, c.v, unit_id=w.water.id), ROLE)
    refused(c.t, lambda: svc.act("coordinate", c.t, w.supervisor, c.v), invalid("unit_id"))  # no fallback set

    at(NOW + timedelta(days=1))
    r = applied(c.t, lambda: svc.act("coordinate", c.t, w.supervisor, c.v, unit_id=w.water.id, note="供水问题"))
    assert r.ticket["state"] is TicketState.DISPATCHED and r.ticket["lead_unit_id"] == w.water.id
    assert r.event["action"] is EventAction.COORDINATE and r.event["payload"]["fallback"] is False
    a = assignment_of(c.t, w.water)
    assert a.role is AssignmentRole.LEAD and a.return_overruled and a.dispatched_at == NOW + timedelta(days=1)
    assert a.handle_due_at == datetime(2026, 12, 1, 9, 30)  # fresh clocks: 5 working days from 24 Nov
    row = db.session.get(Coordination, row.id)
    assert (row.unit_id, row.decided_by_id, row.fallback) == (w.water.id, w.supervisor.id, False)
    assert db.session.get(TicketReturn, ret.id).decision is ReturnDecision.REDISPATCHED
    assert notices(NotificationKind.COORDINATION, unit_id=w.water.id)
    # binding: the decided unit cannot return it; it signs, handles and replies
    refused(c.t, lambda: svc.return_ticket(c.t, w.water_staff, c.v, ReturnReason.NOT_OUR_DUTY, "x"),
            code("RETURN_OVERRULED"))
    assert "return" not in available_actions(fresh_ticket(c.t), w.water_staff)
    svc.sign(c.t, w.water_staff, c.v)
    svc.reply(c.t, w.water_staff, c.v, "已调整加压泵，水压恢复")
    svc.review(c.t, w.dispatcher, c.v, accept=True)
    assert fresh_ticket(c.t).state is TicketState.REVIEWED


def test_coordination_takes_the_fallback_unit_when_none_is_named(world):
    with unit_of_work():
        store("fallback_unit_id", world.other_district.id)
    c = returned_twice(world)
    r = applied(c.t, lambda: svc.act("coordinate", c.t, world.supervisor, c.v))
    assert r.ticket["lead_unit_id"] == world.other_district.id and r.event["payload"]["fallback"] is True
    assert db.session.scalar(sa.select(Coordination.fallback)) is True


def test_coordination_threshold_is_a_setting(world):
    with unit_of_work():
        store("coordination_after_returns", 3)
    c = returned_twice(world)
    assert fresh_ticket(c.t).state is TicketState.RETURNED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Coordination)) == 0


def test_a_co_units_returns_do_not_count(world):
    c = make(world, "co_returned")
    svc.redispatch(c.t, world.dispatcher, c.v, c.return_id, co_unit_ids=[world.other_district.id])
    svc.return_ticket(c.t, world.other_staff, c.v, ReturnReason.NOT_OUR_DUTY, "x",
                      assignment_id=assignment_of(c.t, world.other_district).id)
    assert fresh_ticket(c.t).state is TicketState.DISPATCHED


# --- 协办 deadlines ---------------------------------------------------------------------
def test_co_units_are_due_a_working_day_before_the_lead(world):
    c = make(world, "dispatched_co")
    assert assignment_of(c.t, world.district).handle_due_at == HANDLE_DUE
    co = db.session.get(Assignment, c.co)
    assert (co.handle_due_at, co.handle_due_original_at, co.sign_due_at) == (CO_DUE, CO_DUE, SIGN_DUE)
    assert co.handle_warn_at == NOW + (CO_DUE - NOW) * 0.8


def test_co_unit_deadline_is_never_before_the_sign_deadline_and_hour_limits_are_shared(world):
    with unit_of_work():
        store("co_unit_days_before_lead", 10)
    t = world.dispatched(cos=[world.housing])
    assert assignment_of(t.id, world.housing).handle_due_at == SIGN_DUE
    t = world.dispatched(cos=[world.housing], urgency="urgent")
    assert assignment_of(t.id, world.housing).handle_due_at == assignment_of(t.id, world.district).handle_due_at
    with unit_of_work():
        store("co_unit_days_before_lead", 0)
    t = world.dispatched(cos=[world.housing])
    assert assignment_of(t.id, world.housing).handle_due_at == HANDLE_DUE


def test_an_overdue_co_unit_is_marked_and_escalated_on_its_own_and_no_longer_holds_the_lead(world):
    c = make(world, "co_signed")
    refused(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT), code("CO_UNITS_PENDING"))
    run_jobs(CO_DUE + timedelta(minutes=1))
    co, ld = db.session.get(Assignment, c.co), lead(c.t)
    assert co.handle_overdue_at == CO_DUE + timedelta(minutes=1) and co.escalation_level == 2
    assert ld.handle_overdue_at is None and ld.escalation_level == 1
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT))
    assert r.event["payload"]["co_pending"] == [world.housing.name]


# --- 并单 after dispatch and 拆单 -------------------------------------------------------
def test_merge_after_dispatch_into_an_open_ticket_of_the_same_lead_unit(world):
    master = world.signed()
    dup = world.dispatched(caller_phone="13900002222")
    refused(dup.id, lambda: svc.act("merge_dispatched", dup.id, world.dispatcher, dup.version, target=999999),
            invalid("into_ticket_id"))
    r = applied(dup.id, lambda: svc.act("merge_dispatched", dup.id, world.dispatcher, dup.version,
                                        target=master.id, note="同一部电梯"))
    assert (r.ticket["state"], r.ticket["closure"], r.ticket["merged_into_id"]) == (
        TicketState.CLOSED, Closure.MERGED, master.id)
    assert r.event["action"] is EventAction.MERGE and r.event["payload"]["after_dispatch"] is True
    assert {a["state"] for a in r.after["assignments"]} == {AssignmentState.DONE}


def test_merge_after_dispatch_needs_the_same_lead_unit(world):
    world.signed(lead=world.housing)
    dup = world.dispatched(caller_phone="13900002222")
    refused(dup.id, lambda: svc.act("merge_dispatched", dup.id, world.dispatcher, dup.version),
            code("NO_MERGE_CANDIDATE"))
    pending = world.record()
    refused(pending.id, lambda: svc.act("merge_dispatched", pending.id, world.dispatcher, pending.version), STATE)


def test_split_makes_a_new_ticket_of_the_same_citizen_for_another_unit(world):
    c = make(world, "signed")
    at(NOW + timedelta(hours=2))
    r = applied(c.t, lambda: svc.act("split", c.t, world.dispatcher, c.v, title="小区供水水压不足",
                                     content="3号楼高层供水水压不足", category_id=world.category.id,
                                     lead_unit_id=world.water.id, note="供水部分交自来水公司"))
    new = db.session.get(Ticket, r.result.id)
    old = fresh_ticket(c.t)
    assert r.ticket["state"] is TicketState.SIGNED and r.event["action"] is EventAction.SPLIT
    assert r.event["payload"]["new_ticket_id"] == new.id
    assert (new.split_from_id, new.caller_phone, new.caller_name, new.address, new.title) == (
        c.t, old.caller_phone, old.caller_name, old.address, "小区供水水压不足")
    assert new.state is TicketState.DISPATCHED and new.lead_unit_id == world.water.id
    assert [e.action for e in new.events] == [EventAction.SPLIT, EventAction.DISPATCH]
    assert new.number != old.number


def test_split_of_a_waiting_ticket_waits_for_dispatch_and_refusals(world):
    c = make(world, "pending")
    data = dict(title="供水", content="水压不足", category_id=world.category.id)
    refused(c.t, lambda: svc.act("split", c.t, world.dispatcher, c.v, **{**data, "title": ""}), invalid("title"))
    refused(c.t, lambda: svc.act("split", c.t, world.dispatcher, c.v, **{**data, "category_id": 0}),
            invalid("category_id"))
    refused(c.t, lambda: svc.act("split", c.t, world.operator, c.v, **data), ROLE)
    new = svc.act("split", c.t, world.dispatcher, c.v, **data)
    assert db.session.get(Ticket, new.id).state is TicketState.PENDING_DISPATCH
    d = make(world, "signed")
    refused(d.t, lambda: svc.act("split", d.t, world.dispatcher, d.v, **data, lead_unit_id=world.district.id),
            invalid("lead_unit_id"))
    e = make(world, "replied")
    refused(e.t, lambda: svc.act("split", e.t, world.dispatcher, e.v, **data), STATE)


# --- parity in this step's situations ---------------------------------------------------
def _suspension_pending(w):
    c = make(w, "signed")
    request_suspension(c)
    return c


def _coordinating(w):
    return returned_twice(w)


def _termination_pending(w):
    c = make(w, "co_signed")
    svc.act("request_termination", c.t, w.district_staff, c.v, reason="无法办理")
    return c


def _merge_candidate(w):
    w.signed()
    return make(w, "dispatched_co")


def test_parity_in_the_hard_routing_situations(world):
    master_id = world.record(caller_phone="13700003333").id
    for build in (_suspension_pending, suspended, _coordinating, _termination_pending, _merge_candidate):
        c = build(world)
        check_parity(world, c.t, master_id)


# --- through the page -------------------------------------------------------------------
def test_suspension_request_through_the_page(world, client, app):
    from tests.test_pages import login
    from tests.test_workbench import post_action
    c = make(world, "signed")
    login(client, world.district_staff.username)
    html = client.get(f"/tickets/{c.t}").get_data(as_text=True)
    assert "申请挂起" in html and "申请终止" in html
    resp = post_action(client, c.t, "request_suspension", reason="市民出国一个月", expected_resume_on="2026-11-20")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "预计恢复办理日期须晚于今天" in body and "市民出国一个月" in body
    resp = post_action(client, c.t, "request_suspension", reason="市民出国一个月", expected_resume_on="2026-12-20")
    assert resp.status_code == 302
    row = db.session.scalars(sa.select(Suspension)).one()
    assert (row.reason, row.expected_resume_on, row.state) == ("市民出国一个月", date(2026, 12, 20),
                                                               RequestState.PENDING)
    # the dispatcher sees the decision form with the request's context
    dispatcher = app.test_client()
    login(dispatcher, world.dispatcher.username)
    html = dispatcher.get(f"/tickets/{c.t}").get_data(as_text=True)
    assert "挂起审批" in html and "预计 2026-12-20 恢复办理" in html
