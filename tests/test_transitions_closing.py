"""The back half of the loop: reply, review, callback, reopen under supervision, close as
unreachable."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from hotline.enums import (AssignmentState, Closure, EventAction, Resolution, Satisfaction,
                           SupervisionReason, SupervisionState, TicketState)
from hotline.supervision.models import SupervisionCase
from hotline.extensions import db
from tests import svc
from tests.factories import at, later
from tests.test_transitions_support import (HANDLE_DUE, NOW, REPLY_TEXT, ROLE, STALE, STATE, UNIT, Ctx,
                                            applied, assignment_of, case, code, make, refused, snapshot)
from tests.test_transitions_support import invalid as bad


def _callback(c, satisfaction="satisfied", reached=True, resolution="resolved", who=None, **kw):
    return svc.record_callback(c.t, who or c.w.callback_agent, c.v, reached=reached, resolution=resolution,
                               satisfaction=satisfaction, **kw)


def _not_reached(c, times=1):
    for _ in range(times):
        svc.record_callback(c.t, c.w.callback_agent, c.v, reached=False, note="无人接听")


def _loop_back_to_review(c):
    """From reopened: the unit replies again, the dispatcher accepts and a leader signs off."""
    svc.reply(c.t, c.w.district_staff, c.v, "已更换电梯主板")
    svc.review(c.t, c.w.dispatcher, c.v, accept=True)
    svc.act("signoff_approve", c.t, c.w.leader, c.v, words="同意")


# --- reply (办结反馈) -----------------------------------------------------------------
def test_lead_unit_replies_and_ticket_waits_for_review(world):
    c = make(world, "signed")
    later(days=1)
    a = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, f" {REPLY_TEXT} ", actions_taken="现场查看",
                                       contacted_citizen=True, contact_note="电话联系张先生"))
    assert r.ticket["state"] is TicketState.REPLIED
    assert r.assignment(a)["state"] is AssignmentState.REPLIED
    assert r.assignment(a)["replied_at"] == NOW + timedelta(days=1)
    (row,) = r.new_rows(type(r.result))
    assert row["id"] == r.result.id
    assert (row["assignment_id"], row["unit_id"], row["author_id"]) == (a, world.district.id, world.district_staff.id)
    assert row["result"] == REPLY_TEXT and row["public_text"] == ""   # only text written for the public is public
    assert row["actions_taken"] == "现场查看" and row["contacted_citizen"] is True
    assert row["review_ok"] is None
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.REPLY, TicketState.SIGNED, TicketState.REPLIED)
    assert r.event["note"] == REPLY_TEXT and r.event["assignment_id"] == a
    assert r.event["payload"]["reply_id"] == row["id"] and r.event["payload"]["late"] is False


def test_late_reply_is_accepted_and_marked_late(world):
    c = make(world, "signed")
    at(HANDLE_DUE + timedelta(hours=1))
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT))
    assert r.ticket["state"] is TicketState.REPLIED and r.event["payload"]["late"] is True


def test_parent_unit_staff_may_reply_for_its_sub_units_assignment(world):
    c = make(world, "dispatched_to_street")
    svc.sign(c.t, world.street_staff, c.v)
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT))
    assert r.ticket["state"] is TicketState.REPLIED
    assert r.new_rows(type(r.result))[0]["unit_id"] == world.street.id


REPLY_REFUSALS = [
    case("dispatcher_cannot_reply", "signed",
         lambda c: svc.reply(c.t, c.w.dispatcher, c.v, REPLY_TEXT), ROLE),
    case("other_unit_cannot_reply", "signed",
         lambda c: svc.reply(c.t, c.w.other_staff, c.v, REPLY_TEXT), UNIT),
    case("sub_unit_cannot_reply_without_hand_down", "signed",
         lambda c: svc.reply(c.t, c.w.street_staff, c.v, REPLY_TEXT), UNIT),
    case("stale_version", "signed",
         lambda c: svc.reply(c.t, c.w.district_staff, c.v - 1, REPLY_TEXT), STALE),
    case("result_is_required", "signed",
         lambda c: svc.reply(c.t, c.w.district_staff, c.v, "   "), bad("result")),
    case("not_before_signing", "dispatched",
         lambda c: svc.reply(c.t, c.w.district_staff, c.v, REPLY_TEXT), STATE),
    case("not_twice", "replied",
         lambda c: svc.reply(c.t, c.w.district_staff, c.v, REPLY_TEXT), STATE),
    case("not_after_review", "reviewed",
         lambda c: svc.reply(c.t, c.w.district_staff, c.v, REPLY_TEXT), STATE),
    case("not_when_unsatisfied_before_reopen", "unsatisfied",
         lambda c: svc.reply(c.t, c.w.district_staff, c.v, REPLY_TEXT), STATE),
    case("not_on_returned_ticket", "returned_after_sign",
         lambda c: svc.reply(c.t, c.w.district_staff, c.v, REPLY_TEXT), STATE),
    case("not_on_closed_ticket", "closed",
         lambda c: svc.reply(c.t, c.w.district_staff, c.v, REPLY_TEXT), STATE),
]


@pytest.mark.parametrize("situation, call, expect", REPLY_REFUSALS)
def test_illegal_reply_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


# --- review (审核) --------------------------------------------------------------------
def test_accepted_reply_goes_to_callback_with_a_callback_deadline(world):
    c = make(world, "replied")
    later(hours=2)
    r = applied(c.t, lambda: svc.review(c.t, world.dispatcher, c.v, accept=True))
    assert r.ticket["state"] is TicketState.REVIEWED
    assert r.ticket["callback_due_at"] == datetime(2026, 11, 24, 11, 30)   # 1 working day
    (row,) = r.after["replies"]
    assert (row["review_ok"], row["reviewed_at"], row["review_note"]) == (True, NOW + timedelta(hours=2), "")
    assert r.assignment(assignment_of(c.t, world.district).id)["state"] is AssignmentState.REPLIED
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.REVIEW_ACCEPT, TicketState.REPLIED, TicketState.REVIEWED)
    assert r.event["payload"]["reply_id"] == row["id"]


def test_rejected_reply_goes_back_to_the_unit_as_signed(world):
    c = make(world, "replied")
    a = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: svc.review(c.t, world.dispatcher, c.v, accept=False, note=" 请写明维修时间 "))
    assert r.ticket["state"] is TicketState.SIGNED
    assert r.ticket["callback_due_at"] is None
    assert r.assignment(a)["state"] is AssignmentState.SIGNED
    (row,) = r.after["replies"]
    assert (row["review_ok"], row["review_note"]) == (False, "请写明维修时间")
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.REVIEW_REJECT, TicketState.REPLIED, TicketState.SIGNED)
    assert r.event["note"] == "请写明维修时间" and r.event["assignment_id"] == a
    # the unit replies again; the new reply is the one reviewed next
    svc.reply(c.t, world.district_staff, c.v, "已于周二更换主板")
    r = applied(c.t, lambda: svc.review(c.t, world.dispatcher, c.v, accept=True))
    assert [x["review_ok"] for x in r.after["replies"]] == [False, True]


def test_rejected_reply_after_a_reopen_goes_back_to_reopened(world):
    c = make(world, "reopened")
    svc.reply(c.t, world.district_staff, c.v, "已更换电梯主板")
    r = applied(c.t, lambda: svc.review(c.t, world.dispatcher, c.v, accept=False, note="未说明市民意见"))
    assert r.ticket["state"] is TicketState.REOPENED
    assert r.event["to_state"] is TicketState.REOPENED
    assert r.assignment(assignment_of(c.t, world.district).id)["state"] is AssignmentState.SIGNED


REVIEW_REFUSALS = [
    case("unit_staff_cannot_review", "replied",
         lambda c: svc.review(c.t, c.w.district_staff, c.v, accept=True), ROLE),
    case("callback_agent_cannot_review", "replied",
         lambda c: svc.review(c.t, c.w.callback_agent, c.v, accept=True), ROLE),
    case("operator_cannot_review", "replied",
         lambda c: svc.review(c.t, c.w.operator, c.v, accept=True), ROLE),
    case("stale_version", "replied",
         lambda c: svc.review(c.t, c.w.dispatcher, c.v - 1, accept=True), STALE),
    case("reject_needs_a_note", "replied",
         lambda c: svc.review(c.t, c.w.dispatcher, c.v, accept=False), bad("note")),
    case("reject_needs_a_non_blank_note", "replied",
         lambda c: svc.review(c.t, c.w.dispatcher, c.v, accept=False, note="   "), bad("note")),
    case("nothing_to_review_when_signed", "signed",
         lambda c: svc.review(c.t, c.w.dispatcher, c.v, accept=True), STATE),
    case("not_twice", "reviewed",
         lambda c: svc.review(c.t, c.w.dispatcher, c.v, accept=True), STATE),
    case("reject_not_after_accept", "reviewed",
         lambda c: svc.review(c.t, c.w.dispatcher, c.v, accept=False, note="再看看"), STATE),
    case("not_on_closed_ticket", "closed",
         lambda c: svc.review(c.t, c.w.dispatcher, c.v, accept=True), STATE),
]


@pytest.mark.parametrize("situation, call, expect", REVIEW_REFUSALS)
def test_illegal_review_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


# --- record_callback (回访) -----------------------------------------------------------
@pytest.mark.parametrize("satisfaction", [Satisfaction.SATISFIED, Satisfaction.BASICALLY])
def test_satisfied_callback_closes_ticket_and_finishes_all_assignments(world, satisfaction):
    t = world.signed(cos=[world.housing, world.water])
    c = Ctx(world, t.id)
    housing = assignment_of(t.id, world.housing).id
    water = assignment_of(t.id, world.water).id
    svc.sign(t.id, world.housing_staff, c.v, assignment_id=housing)
    svc.reply(t.id, world.housing_staff, c.v, "已协助", assignment_id=housing)
    svc.sign(t.id, world.water_staff, c.v, assignment_id=water)
    svc.reply(t.id, world.water_staff, c.v, "供水正常", assignment_id=water)
    svc.reply(t.id, world.district_staff, c.v, REPLY_TEXT)
    svc.review(t.id, world.dispatcher, c.v, accept=True)
    later(hours=5)
    r = applied(t.id, lambda: _callback(c, satisfaction=satisfaction, citizen_words=" 修好了 ",
                                        request_reasonable=True))
    assert r.ticket["state"] is TicketState.CLOSED
    assert r.ticket["closure"] is Closure.SATISFIED
    assert r.ticket["closed_at"] == NOW + timedelta(hours=5)
    assert [a["state"] for a in r.after["assignments"]] == [AssignmentState.DONE] * 3
    (cb,) = r.new_rows(type(r.result))
    assert (cb["reached"], cb["satisfaction"], cb["resolution"], cb["round"]) == (
        True, satisfaction, Resolution.RESOLVED, 0)
    assert cb["citizen_words"] == "修好了" and cb["request_reasonable"] is True
    assert cb["agent_id"] == world.callback_agent.id
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.CALLBACK, TicketState.REVIEWED, TicketState.CLOSED)
    assert r.event["note"] == "修好了"
    assert r.event["payload"]["satisfaction"] == satisfaction.value


def test_unsatisfied_callback_leaves_ticket_unsatisfied_and_open(world):
    c = make(world, "reviewed")
    a = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: _callback(c, satisfaction="unsatisfied", resolution="unresolved",
                                       citizen_words="电梯还是坏的", request_reasonable=False))
    assert r.ticket["state"] is TicketState.UNSATISFIED
    assert r.ticket["closure"] is None and r.ticket["closed_at"] is None
    assert r.assignment(a)["state"] is AssignmentState.REPLIED
    (cb,) = r.new_rows(type(r.result))
    assert cb["satisfaction"] is Satisfaction.UNSATISFIED
    assert (r.event["from_state"], r.event["to_state"]) == (TicketState.REVIEWED, TicketState.UNSATISFIED)


def test_unreached_callback_is_recorded_and_ticket_stays_reviewed(world):
    c = make(world, "reviewed")
    r = applied(c.t, lambda: svc.record_callback(c.t, world.callback_agent, c.v, reached=False, note="无人接听"))
    assert r.ticket["state"] is TicketState.REVIEWED
    (cb,) = r.new_rows(type(r.result))
    assert (cb["reached"], cb["satisfaction"], cb["resolution"], cb["note"]) == (False, None, None, "无人接听")
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.CALLBACK, TicketState.REVIEWED, TicketState.REVIEWED)
    assert r.event["payload"]["failed_attempts"] == 1
    r = applied(c.t, lambda: svc.record_callback(c.t, world.callback_agent, c.v, reached=False))
    assert r.event["payload"]["failed_attempts"] == 2


CALLBACK_REFUSALS = [
    case("dispatcher_cannot_record_callback", "reviewed", lambda c: _callback(c, who=c.w.dispatcher), ROLE),
    case("operator_cannot_record_callback", "reviewed", lambda c: _callback(c, who=c.w.operator), ROLE),
    case("unit_cannot_record_callback", "reviewed", lambda c: _callback(c, who=c.w.district_staff), ROLE),
    case("stale_version", "reviewed",
         lambda c: svc.record_callback(c.t, c.w.callback_agent, c.v - 1, reached=True, resolution="resolved",
                                       satisfaction="satisfied"), STALE),
    case("satisfaction_required_when_reached", "reviewed", lambda c: _callback(c, satisfaction=None),
         bad("satisfaction")),
    case("unknown_satisfaction", "reviewed", lambda c: _callback(c, satisfaction="ecstatic"), bad("satisfaction")),
    case("resolution_required_when_reached", "reviewed", lambda c: _callback(c, resolution=None),
         bad("resolution")),
    case("not_before_review", "replied", lambda c: _callback(c), STATE),
    case("not_while_unit_handles", "signed", lambda c: _callback(c), STATE),
    case("not_twice_after_unsatisfied", "unsatisfied", lambda c: _callback(c), STATE),
    case("not_while_reopened", "reopened", lambda c: _callback(c), STATE),
    case("not_on_closed_ticket", "closed", lambda c: _callback(c), STATE),
    case("unreached_not_on_closed_ticket", "closed", lambda c: _callback(c, reached=False), STATE),
]


@pytest.mark.parametrize("situation, call, expect", CALLBACK_REFUSALS)
def test_illegal_callback_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


# --- close as unreachable (未联系上) --------------------------------------------------
def test_three_unreached_callbacks_then_close_as_unreachable(world):
    c = make(world, "reviewed")
    _not_reached(c, 3)
    later(hours=1)
    r = applied(c.t, lambda: svc.close(c.t, world.callback_agent, c.v, "unreachable"))
    assert r.ticket["state"] is TicketState.CLOSED
    assert r.ticket["closure"] is Closure.UNREACHABLE
    assert r.ticket["closed_at"] == NOW + timedelta(hours=1)
    assert [a["state"] for a in r.after["assignments"]] == [AssignmentState.DONE]
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.CLOSE, TicketState.REVIEWED, TicketState.CLOSED)
    assert r.event["payload"]["closure"] == "unreachable"
    assert r.event["actor_id"] == world.callback_agent.id


@pytest.mark.parametrize("attempts", [0, 1, 2])
def test_close_as_unreachable_with_fewer_than_three_attempts_is_refused(world, attempts):
    c = make(world, "reviewed")
    _not_reached(c, attempts)
    err = refused(c.t, lambda: svc.close(c.t, world.callback_agent, c.v, Closure.UNREACHABLE),
                  code("CALLBACK_ATTEMPTS"))
    assert f"{attempts}" in err.message


def test_unreached_attempts_of_an_earlier_round_do_not_count(world):
    c = make(world, "reviewed")
    _not_reached(c, 3)
    _callback(c, satisfaction="unsatisfied", resolution="unresolved")  # reopens at once
    _loop_back_to_review(c)
    _not_reached(c, 2)
    refused(c.t, lambda: svc.close(c.t, world.callback_agent, c.v, Closure.UNREACHABLE), code("CALLBACK_ATTEMPTS"))
    _not_reached(c, 1)
    r = applied(c.t, lambda: svc.close(c.t, world.callback_agent, c.v, Closure.UNREACHABLE))
    assert r.ticket["closure"] is Closure.UNREACHABLE


CLOSE_UNREACHABLE_REFUSALS = [
    case("dispatcher_cannot_close_unreachable", "reviewed",
         lambda c: svc.close(c.t, c.w.dispatcher, c.v, Closure.UNREACHABLE), ROLE),
    case("unit_cannot_close_unreachable", "reviewed",
         lambda c: svc.close(c.t, c.w.district_staff, c.v, Closure.UNREACHABLE), ROLE),
    case("stale_version", "reviewed",
         lambda c: svc.close(c.t, c.w.callback_agent, c.v - 1, Closure.UNREACHABLE), STALE),
    case("not_before_review", "replied",
         lambda c: svc.close(c.t, c.w.callback_agent, c.v, Closure.UNREACHABLE), STATE),
    case("not_when_pending_dispatch", "pending",
         lambda c: svc.close(c.t, c.w.callback_agent, c.v, Closure.UNREACHABLE), STATE),
    case("not_on_closed_ticket", "closed",
         lambda c: svc.close(c.t, c.w.callback_agent, c.v, Closure.UNREACHABLE), STATE),
]


@pytest.mark.parametrize("situation, call, expect", CLOSE_UNREACHABLE_REFUSALS)
def test_illegal_close_as_unreachable_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


# --- reopen (重办) and supervision ----------------------------------------------------
def test_reopen_sends_ticket_back_to_the_lead_unit_under_supervision_level_1(world):
    c = make(world, "unsatisfied")
    later(days=1)          # Tuesday 09:30
    now = NOW + timedelta(days=1)
    a = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: svc.reopen(c.t, world.supervisor, c.v, " 电梯仍未修好，请重新办理 "))
    assert r.ticket["state"] is TicketState.REOPENED
    assert r.ticket["reopen_count"] == 1
    assert r.ticket["callback_due_at"] is None
    assert r.ticket["closure"] is None
    assert r.ticket["lead_unit_id"] == world.district.id
    row = r.assignment(a)
    assert row["state"] is AssignmentState.SIGNED and row["active"] is True
    new_due = datetime(2026, 12, 1, 9, 30)      # 5 working days from the reopen
    assert row["handle_due_at"] == new_due and row["handle_due_original_at"] == new_due
    (case_,) = r.new_rows(SupervisionCase)
    assert (case_["level"], case_["state"], case_["reason"]) == (1, SupervisionState.OPEN, SupervisionReason.UNSATISFIED)
    case_due = datetime(2026, 12, 8, 9, 30)     # the case's own limit: 10 working days
    assert (case_["unit_id"], case_["opened_by_id"], case_["opened_at"], case_["due_at"]) == (
        world.district.id, world.supervisor.id, now, case_due)
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.REOPEN, TicketState.UNSATISFIED, TicketState.REOPENED)
    assert r.event["note"] == "电梯仍未修好，请重新办理"
    assert r.event["payload"]["level"] == 1 and r.event["payload"]["supervision_case_id"] == case_["id"]


def test_supervisor_may_reopen(world):
    c = make(world, "unsatisfied")
    r = applied(c.t, lambda: svc.reopen(c.t, world.supervisor, c.v, "督办重办"))
    assert r.ticket["state"] is TicketState.REOPENED


def test_reopened_ticket_is_replied_by_the_same_unit_and_can_then_close(world):
    c = make(world, "reopened")
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, "已更换电梯主板"))
    assert (r.event["from_state"], r.event["to_state"]) == (TicketState.REOPENED, TicketState.REPLIED)
    svc.review(c.t, world.dispatcher, c.v, accept=True)
    svc.act("signoff_approve", c.t, world.leader, c.v, words="同意")  # 领导签批
    r = applied(c.t, lambda: _callback(c))
    assert r.ticket["state"] is TicketState.CLOSED
    assert r.new_rows(type(r.result))[0]["round"] == 1


def test_second_unsatisfied_and_reopen_escalates_the_supervision_case_to_level_2(world):
    c = make(world, "reopened")
    _loop_back_to_review(c)
    _callback(c, satisfaction="unsatisfied", resolution="partly", request_reasonable=False)
    r = applied(c.t, lambda: svc.reopen(c.t, world.supervisor, c.v, "再次不满意，升级督办"))
    assert r.ticket["reopen_count"] == 2
    assert r.ticket["state"] is TicketState.REOPENED
    (case_,) = r.after["supervision_cases"]           # the same case, one level up
    assert case_["level"] == 2 and case_["state"] is SupervisionState.OPEN
    assert r.event["payload"]["level"] == 2


REOPEN_REFUSALS = [
    case("operator_cannot_reopen", "unsatisfied",
         lambda c: svc.reopen(c.t, c.w.operator, c.v, "重办"), ROLE),
    case("dispatcher_cannot_decide_on_an_unreasonable_request", "unsatisfied",
         lambda c: svc.reopen(c.t, c.w.dispatcher, c.v, "重办"), ROLE),
    case("callback_agent_cannot_reopen", "unsatisfied",
         lambda c: svc.reopen(c.t, c.w.callback_agent, c.v, "重办"), ROLE),
    case("unit_cannot_reopen", "unsatisfied",
         lambda c: svc.reopen(c.t, c.w.district_staff, c.v, "重办"), ROLE),
    case("stale_version", "unsatisfied",
         lambda c: svc.reopen(c.t, c.w.supervisor, c.v - 1, "重办"), STALE),
    case("note_is_required", "unsatisfied",
         lambda c: svc.reopen(c.t, c.w.supervisor, c.v, ""), bad("note")),
    case("not_before_callback", "reviewed",
         lambda c: svc.reopen(c.t, c.w.supervisor, c.v, "重办"), STATE),
    case("not_twice", "reopened",
         lambda c: svc.reopen(c.t, c.w.supervisor, c.v, "重办"), STATE),
    case("not_a_closed_ticket", "closed",
         lambda c: svc.reopen(c.t, c.w.supervisor, c.v, "重办"), STATE),
    case("not_a_signed_ticket", "signed",
         lambda c: svc.reopen(c.t, c.w.supervisor, c.v, "重办"), STATE),
]


@pytest.mark.parametrize("situation, call, expect", REOPEN_REFUSALS)
def test_illegal_reopen_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


def test_reasonable_unsatisfied_callback_reopens_at_once_under_supervision(world):
    c = make(world, "reviewed")
    before = snapshot(c.t)
    _callback(c, satisfaction="unsatisfied", resolution="unresolved", citizen_words="没修好")
    after = snapshot(c.t)
    new = after["events"][len(before["events"]):]
    assert [(e["action"], e["from_state"], e["to_state"]) for e in new] == [
        (EventAction.CALLBACK, TicketState.REVIEWED, TicketState.UNSATISFIED),
        (EventAction.REOPEN, TicketState.UNSATISFIED, TicketState.REOPENED)]
    assert after["ticket"]["version"] == before["ticket"]["version"] + 1  # one action, two events
    (case_,) = after["supervision_cases"]
    assert case_["level"] == 1 and case_["state"] is SupervisionState.OPEN


def test_supervisor_confirms_unreasonable_request_and_ticket_closes_without_counting(world):
    from hotline.callbacks.models import Callback

    c = make(world, "unsatisfied")
    r = applied(c.t, lambda: svc.confirm_unreasonable(c.t, world.supervisor, c.v, "诉求超出政策范围"))
    assert r.ticket["state"] is TicketState.CLOSED and r.ticket["closure"] is Closure.UNREASONABLE
    cb = db.session.scalars(sa.select(Callback).where(Callback.ticket_id == c.t)).one()
    assert cb.supervisor_decision == "excluded"


def test_confirm_unreasonable_refusals(world):
    c = make(world, "unsatisfied")
    refused(c.t, lambda: svc.confirm_unreasonable(c.t, world.dispatcher, c.v, "x"), ROLE)
    refused(c.t, lambda: svc.confirm_unreasonable(c.t, world.supervisor, c.v, ""), bad("note"))
    refused(c.t, lambda: svc.confirm_unreasonable(c.t, world.supervisor, c.v - 1, "x"), STALE)
    d = make(world, "reviewed")
    refused(d.t, lambda: svc.confirm_unreasonable(d.t, world.supervisor, d.v, "x"), STATE)
