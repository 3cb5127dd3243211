"""分类处置: the unit's 阶段性答复 (interim reply with a plan and a follow-up date), the
callback's classification (已解决 / 合理但暂不能解决 → 纳入计划 / 诉求不合理 / 无法联系),
the planned ticket's final reply from PLANNED, and the `follow_up` job that urges the
unit on the follow-up date, once per date."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from hotline.callbacks.models import Callback
from hotline.enums import (AlertClock, AssignmentState, CallbackOutcome, Closure, EventAction, NotificationKind,
                           Satisfaction, TicketState)
from hotline.extensions import db
from hotline.lifecycle import available_actions
from hotline.notifications.models import Notification
from hotline.scheduler import jobs
from hotline.scheduler.models import Alert
from hotline.tickets.models import Reply, TicketEvent
from tests import svc
from tests.factories import at
from tests.parity import check_parity
from tests.test_pages import csrf_token, login
from tests.test_transitions_support import (HANDLE_DUE, REPLY_TEXT, STATE, UNIT, Ctx, applied, assignment_of,
                                            fresh_ticket, make, refused)
from tests.test_transitions_support import invalid as bad


FOLLOW_UP = date(2026, 12, 15)
PLAN = "已列入明年老旧电梯改造计划，预计12月中旬完成招标"


# --- helpers ---------------------------------------------------------------------------------
def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def interim_reply(c, follow_up_on=FOLLOW_UP, plan=PLAN, who=None):
    return svc.act("reply", c.t, who or c.w.district_staff, c.v, result="诉求合理，暂不能解决，已纳入计划",
                   interim=True, plan=plan, follow_up_on=follow_up_on)


def callback(c, outcome=None, satisfaction="basically", reached=True, resolution="partly", **kw):
    data = dict(reached=reached, outcome=outcome, **kw)
    if reached:
        data.update(resolution=resolution, satisfaction=satisfaction)
    return svc.act("callback", c.t, c.w.callback_agent, c.v, **data)


def last_callback(tid) -> Callback:
    db.session.expire_all()
    return db.session.scalars(sa.select(Callback).where(Callback.ticket_id == tid).order_by(Callback.id.desc())).first()


def signoff_if_asked(c):
    if fresh_ticket(c.t).state is TicketState.PENDING_SIGNOFF:
        svc.act("signoff_approve", c.t, c.w.leader, c.v, words="同意")


def _interim_replied(w) -> Ctx:
    c = make(w, "signed")
    interim_reply(c)
    return c


def _interim_reviewed(w) -> Ctx:
    c = _interim_replied(w)
    svc.review(c.t, w.dispatcher, c.v, accept=True)
    signoff_if_asked(c)
    return c


def _planned(w) -> Ctx:
    c = _interim_reviewed(w)
    callback(c, outcome="planned")
    return c


def _planned_replied(w) -> Ctx:
    c = _planned(w)
    svc.reply(c.t, w.district_staff, c.v, "已完成电梯更换")
    return c


SITUATIONS = {"interim_replied": _interim_replied, "interim_reviewed": _interim_reviewed, "planned": _planned,
              "planned_replied": _planned_replied}


@pytest.mark.parametrize("situation", ["planned", "interim_reviewed"])
def test_parity_in_this_steps_situations(world, situation):
    master_id = world.record(caller_phone="13700003333").id
    c = SITUATIONS[situation](world)
    check_parity(world, c.t, master_id)


# --- 阶段性答复 ------------------------------------------------------------------------------
def test_lead_unit_gives_an_interim_reply_with_a_plan_and_a_date(world):
    c = make(world, "signed")
    r = applied(c.t, lambda: interim_reply(c, follow_up_on="2026-12-15"))
    row = db.session.get(Reply, r.result.id)
    assert (row.interim, row.plan, row.follow_up_on) == (True, PLAN, FOLLOW_UP)
    assert r.ticket["state"] is TicketState.REPLIED  # it is reviewed and called back like any reply
    assert r.event["action"] is EventAction.REPLY
    assert (r.event["payload"]["interim"], r.event["payload"]["follow_up_on"]) == (True, "2026-12-15")


def test_a_plain_reply_is_not_interim(world):
    c = make(world, "signed")
    row = svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT)
    assert (row.interim, row.plan, row.follow_up_on) == (False, "", None)


INTERIM_REFUSALS = [
    ("plan_required", lambda c: interim_reply(c, plan=" "), bad("plan")),
    ("date_required", lambda c: interim_reply(c, follow_up_on=None), bad("follow_up_on")),
    ("date_in_the_future", lambda c: interim_reply(c, follow_up_on=date(2026, 11, 23)), bad("follow_up_on")),
    ("date_readable", lambda c: interim_reply(c, follow_up_on="下个月"), bad("follow_up_on")),
]


@pytest.mark.parametrize("call,expect", [pytest.param(f, e, id=i) for i, f, e in INTERIM_REFUSALS])
def test_interim_reply_refusals_change_nothing(world, call, expect):
    c = make(world, "signed")
    refused(c.t, lambda: call(c), expect)


# --- the callback classifies ------------------------------------------------------------------
def test_reasonable_but_not_solvable_now_is_planned_with_the_interim_date(world):
    c = _interim_reviewed(world)
    lead = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: callback(c, outcome="planned", satisfaction="unsatisfied"))
    assert r.ticket["state"] is TicketState.PLANNED and r.ticket["follow_up_on"] == FOLLOW_UP
    assert r.ticket["closed_at"] is None and r.ticket["callback_due_at"] is None
    assert r.assignment(lead)["state"] is AssignmentState.REPLIED and r.assignment(lead)["active"] is True
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.CALLBACK, TicketState.REVIEWED, TicketState.PLANNED)
    assert r.event["payload"]["outcome"] == "planned" and r.event["payload"]["plan"] == PLAN
    cb = last_callback(c.t)
    assert cb.outcome is CallbackOutcome.PLANNED and cb.satisfaction is Satisfaction.UNSATISFIED
    assert count(TicketEvent, TicketEvent.ticket_id == c.t, TicketEvent.action == EventAction.REOPEN) == 0


def test_planned_with_a_date_given_at_the_callback(world):
    c = make(world, "reviewed")  # a plain reply: the agent gives the date
    r = applied(c.t, lambda: callback(c, outcome="planned", follow_up_on=date(2026, 12, 20)))
    assert r.ticket["state"] is TicketState.PLANNED and r.ticket["follow_up_on"] == date(2026, 12, 20)


def test_the_other_classifications(world):
    resolved = make(world, "reviewed")
    callback(resolved, outcome="resolved", satisfaction="satisfied")
    assert fresh_ticket(resolved.t).closure is Closure.SATISFIED
    assert last_callback(resolved.t).outcome is CallbackOutcome.RESOLVED

    unreasonable = make(world, "reviewed")
    callback(unreasonable, outcome="unreasonable", satisfaction="unsatisfied")
    assert fresh_ticket(unreasonable.t).state is TicketState.UNSATISFIED  # waits for the supervisor
    assert last_callback(unreasonable.t).request_reasonable is False
    svc.confirm_unreasonable(unreasonable.t, world.supervisor, unreasonable.v, "诉求超出政策范围")
    assert fresh_ticket(unreasonable.t).closure is Closure.UNREASONABLE

    unreachable = make(world, "reviewed")
    callback(unreachable, outcome="unreachable", reached=False)
    assert fresh_ticket(unreachable.t).state is TicketState.REVIEWED  # a failed attempt
    assert last_callback(unreachable.t).outcome is CallbackOutcome.UNREACHABLE

    # without a classification it follows from the other answers, as before
    plain = make(world, "reviewed")
    svc.record_callback(plain.t, world.callback_agent, plain.v, reached=False, note="无人接听")
    assert last_callback(plain.t).outcome is CallbackOutcome.UNREACHABLE
    svc.record_callback(plain.t, world.callback_agent, plain.v, reached=True, resolution="unresolved",
                        satisfaction="unsatisfied", request_reasonable=False)
    assert last_callback(plain.t).outcome is CallbackOutcome.UNREASONABLE


CALLBACK_REFUSALS = [
    ("planned_needs_a_date", "reviewed", lambda c: callback(c, outcome="planned"), bad("follow_up_on")),
    ("planned_date_in_the_future", "reviewed",
     lambda c: callback(c, outcome="planned", follow_up_on=date(2026, 11, 23)), bad("follow_up_on")),
    ("unreachable_means_not_reached", "reviewed", lambda c: callback(c, outcome="unreachable"), bad("outcome")),
    ("not_reached_is_unreachable", "reviewed", lambda c: callback(c, outcome="resolved", reached=False),
     bad("outcome")),
    ("unreasonable_is_consistent", "reviewed",
     lambda c: callback(c, outcome="planned", request_reasonable=False, follow_up_on=FOLLOW_UP), bad("outcome")),
    ("reasonable_is_consistent", "reviewed",
     lambda c: callback(c, outcome="unreasonable", request_reasonable=True), bad("outcome")),
    ("unknown_outcome", "reviewed", lambda c: callback(c, outcome="maybe"), bad("outcome")),
]


@pytest.mark.parametrize("situation,call,expect", [pytest.param(s, f, e, id=i) for i, s, f, e in CALLBACK_REFUSALS])
def test_classification_refusals_change_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


def test_an_interim_date_that_passed_asks_for_a_new_one(world):
    c = _interim_reviewed(world)
    at(datetime(2026, 12, 16, 9, 0))
    refused(c.t, lambda: callback(c, outcome="planned"), bad("follow_up_on"))
    callback(c, outcome="planned", follow_up_on=date(2027, 1, 15))
    assert fresh_ticket(c.t).follow_up_on == date(2027, 1, 15)


# --- from PLANNED ----------------------------------------------------------------------------
def test_the_lead_unit_replies_again_from_planned(world):
    c = _planned(world)
    assert "reply" in available_actions(fresh_ticket(c.t), world.district_staff)
    lead = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, "已完成电梯更换"))
    assert (r.event["from_state"], r.event["to_state"]) == (TicketState.PLANNED, TicketState.REPLIED)
    assert r.assignment(lead)["state"] is AssignmentState.REPLIED


PLANNED_REFUSALS = [
    ("other_unit_cannot_reply", lambda c: svc.reply(c.t, c.w.other_staff, c.v, REPLY_TEXT), UNIT),
    ("dispatcher_cannot_review", lambda c: svc.review(c.t, c.w.dispatcher, c.v, accept=True), STATE),
    ("no_callback_while_planned", lambda c: callback(c, outcome="resolved", satisfaction="satisfied"), STATE),
    ("no_return_from_a_plan", lambda c: svc.return_ticket(c.t, c.w.district_staff, c.v, "not_our_duty", "x"),
     STATE),
]


@pytest.mark.parametrize("call,expect", [pytest.param(f, e, id=i) for i, f, e in PLANNED_REFUSALS])
def test_planned_refusals_change_nothing(world, call, expect):
    c = _planned(world)
    refused(c.t, lambda: call(c), expect)


def test_a_planned_ticket_is_not_overdue_nor_escalated(world):
    _planned(world)
    at(HANDLE_DUE + timedelta(days=3))
    watch = jobs.deadline_watch()
    assert watch["handle_overdue"] == 0 and watch["handle_urge"] == 0
    assert jobs.escalation() == {"level_2": 0, "level_3": 0}


# --- the follow-up job -----------------------------------------------------------------------
def test_follow_up_urges_the_unit_once_per_date(world):
    c = _planned(world)
    at(datetime(2026, 12, 14, 23, 0))
    assert jobs.follow_up() == {"follow_up_urged": 0}
    at(datetime(2026, 12, 15, 8, 0))
    assert jobs.follow_up() == {"follow_up_urged": 1}
    assert jobs.follow_up() == {"follow_up_urged": 0}
    at(datetime(2026, 12, 16, 8, 0))
    assert jobs.follow_up() == {"follow_up_urged": 0}
    assert count(Alert, Alert.clock == AlertClock.FOLLOW_UP) == 1
    ev = db.session.scalars(sa.select(TicketEvent).where(TicketEvent.action == EventAction.FOLLOW_UP_URGE)).one()
    assert (ev.ticket_id, ev.from_state, ev.to_state) == (c.t, TicketState.PLANNED, TicketState.PLANNED)
    (note,) = db.session.scalars(sa.select(Notification).where(Notification.kind == NotificationKind.FOLLOW_UP_URGE))
    assert note.unit_id == world.district.id and "计划跟踪" in note.title
    version = fresh_ticket(c.t).version
    jobs.follow_up()
    assert fresh_ticket(c.t).version == version  # a notice, not an action


def test_a_new_follow_up_date_is_a_new_urging_and_a_replied_plan_is_not_urged(world):
    planned = _planned(world)
    replied = _planned_replied(world)
    at(datetime(2026, 12, 15, 8, 0))
    assert jobs.follow_up() == {"follow_up_urged": 1}
    assert count(Alert, Alert.ticket_id == replied.t) == 0
    # the planned one is re-planned at its next callback round
    interim_reply(planned, follow_up_on=date(2027, 1, 15), plan="招标延期，明年一月完成招标")
    svc.review(planned.t, world.dispatcher, planned.v, accept=True)
    signoff_if_asked(planned)
    callback(planned, outcome="planned")
    at(datetime(2027, 1, 15, 8, 0))
    assert jobs.follow_up() == {"follow_up_urged": 1}
    assert count(Alert, Alert.ticket_id == planned.t) == 2


# --- full loop -------------------------------------------------------------------------------
def test_loop_interim_reply_kept_open_as_planned_urged_then_closed(world):
    c = make(world, "signed")
    interim_reply(c)
    svc.review(c.t, world.dispatcher, c.v, accept=True)
    signoff_if_asked(c)
    callback(c, outcome="planned", satisfaction="basically", citizen_words="理解，等改造")
    t = fresh_ticket(c.t)
    assert (t.state, t.follow_up_on, t.closed_at) == (TicketState.PLANNED, FOLLOW_UP, None)
    # the follow-up date: the job urges the unit, once however often it runs
    at(datetime(2026, 12, 15, 8, 0))
    assert jobs.follow_up()["follow_up_urged"] == 1
    assert jobs.follow_up()["follow_up_urged"] == 0
    assert count(TicketEvent, TicketEvent.ticket_id == c.t, TicketEvent.action == EventAction.FOLLOW_UP_URGE) == 1
    # the final reply goes through review and callback and closes the ticket
    at(datetime(2026, 12, 18, 10, 0))
    svc.reply(c.t, world.district_staff, c.v, "电梯已更换并通过验收")
    svc.review(c.t, world.dispatcher, c.v, accept=True)
    signoff_if_asked(c)
    callback(c, outcome="resolved", satisfaction="satisfied", resolution="resolved")
    t = fresh_ticket(c.t)
    assert (t.state, t.closure) == (TicketState.CLOSED, Closure.SATISFIED)
    assert [cb.outcome for cb in db.session.scalars(sa.select(Callback).where(Callback.ticket_id == c.t)
                                                    .order_by(Callback.id))] == [CallbackOutcome.PLANNED,
                                                                                 CallbackOutcome.RESOLVED]
    at(datetime(2026, 12, 20, 8, 0))
    assert jobs.follow_up()["follow_up_urged"] == 0


# --- through the page ------------------------------------------------------------------------
def test_interim_reply_and_planned_callback_through_the_pages(world, client):
    c = make(world, "signed")
    login(client, "d1staff")
    html = client.get(f"/tickets/{c.t}").get_data(as_text=True)
    base = {"reply-csrf_token": csrf_token(html), "reply-version": str(c.v),
            "reply-assignment_id": str(assignment_of(c.t, world.district).id), "reply-result": "暂不能解决",
            "reply-interim": "y", "reply-plan": PLAN}
    resp = client.post(f"/tickets/{c.t}/reply", data=base, content_type="multipart/form-data")
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "阶段性答复须填写计划跟踪日期" in page and PLAN in page
    resp = client.post(f"/tickets/{c.t}/reply", data={**base, "reply-follow_up_on": "2026-12-15"},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    svc.review(c.t, world.dispatcher, c.v, accept=True)
    signoff_if_asked(c)
    agent = client.application.test_client()
    login(agent, "callback")
    html = agent.get(f"/tickets/{c.t}").get_data(as_text=True)
    resp = agent.post(f"/tickets/{c.t}/callback", data={
        "callback-csrf_token": csrf_token(html), "callback-version": str(c.v), "callback-reached": "1",
        "callback-resolution": "partly", "callback-satisfaction": "basically", "callback-outcome": "planned"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    t = fresh_ticket(c.t)
    assert (t.state, t.follow_up_on) == (TicketState.PLANNED, FOLLOW_UP)
    page = client.get(f"/tickets/{c.t}").get_data(as_text=True)
    assert "纳入计划" in page and "2026-12-15" in page and 'id="action-reply"' in page
