"""Extensions (延期): the unit's request and the dispatcher's approval or refusal."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hotline.enums import AssignmentState, EventAction, ExtensionState, TicketState
from tests import svc
from tests.factories import at, later
from tests.test_transitions_support import (EXTENDED_TO, EXTENSION_MAX, HANDLE_DUE, NOW, ROLE, STALE, STATE,
                                            UNIT, applied, assignment_of, case, code, make, refused,
                                            snapshot)
from tests.test_transitions_support import invalid as bad

REASON = "需协调电梯厂家更换配件"


def _request(c, who=None, due=EXTENDED_TO, reason=REASON, **kw):
    return svc.request_extension(c.t, who or c.w.district_staff, c.v, due, reason, **kw)


# --- request_extension (延期申请) -----------------------------------------------------
def test_lead_unit_requests_extension_which_waits_for_approval(world):
    c = make(world, "signed")
    later(hours=1)
    a = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: _request(c, reason=" " + REASON + " "))
    assert r.ticket["state"] is TicketState.SIGNED
    assert r.assignment(a)["handle_due_at"] == HANDLE_DUE       # nothing moves before approval
    assert r.assignment(a)["extension_count"] == 0
    (req,) = r.new_rows(type(r.result))
    assert req["id"] == r.result.id
    assert (req["assignment_id"], req["requested_by_id"], req["requested_at"]) == (
        a, world.district_staff.id, NOW + timedelta(hours=1))
    assert (req["old_due_at"], req["requested_due_at"], req["state"]) == (
        HANDLE_DUE, EXTENDED_TO, ExtensionState.PENDING)
    assert req["reason"] == REASON
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.REQUEST_EXTENSION, TicketState.SIGNED, TicketState.SIGNED)
    assert r.event["note"] == REASON and r.event["assignment_id"] == a
    assert r.event["payload"]["requested_due_at"] == EXTENDED_TO.isoformat()


def test_extension_may_reach_exactly_the_maximum(world):
    c = make(world, "signed")
    r = applied(c.t, lambda: _request(c, due=EXTENSION_MAX))
    assert r.new_rows(type(r.result))[0]["requested_due_at"] == EXTENSION_MAX


def test_extension_beyond_the_maximum_is_refused(world):
    c = make(world, "signed")
    refused(c.t, lambda: _request(c, due=EXTENSION_MAX + timedelta(minutes=1)), bad("requested_due_at"))


def test_extension_maximum_counts_from_the_original_deadline_after_an_approval(world):
    c = make(world, "extension_approved")
    assert assignment_of(c.t, world.district).handle_due_at == EXTENDED_TO
    refused(c.t, lambda: _request(c, due=EXTENSION_MAX + timedelta(days=1)), bad("requested_due_at"))
    applied(c.t, lambda: _request(c, due=EXTENSION_MAX))


def test_extension_after_the_deadline_is_refused(world):
    c = make(world, "signed")
    at(HANDLE_DUE)
    refused(c.t, lambda: _request(c), code("EXTENSION_TOO_LATE"))


def test_urgent_ticket_extension_is_not_allowed(world):
    c = make(world, "urgent_signed")
    due = assignment_of(c.t, world.district).handle_due_at
    refused(c.t, lambda: _request(c, due=due + timedelta(hours=12)), code("EXTENSION_NOT_ALLOWED"))


def test_second_pending_extension_is_refused(world):
    c = make(world, "extension_pending")
    refused(c.t, lambda: _request(c, due=EXTENDED_TO + timedelta(days=1)), code("EXTENSION_PENDING"))


def test_new_extension_may_be_asked_after_a_refusal(world):
    c = make(world, "extension_refused")
    r = applied(c.t, lambda: _request(c, due=EXTENDED_TO + timedelta(days=1)))
    assert len(r.after["extension_requests"]) == 2


def test_co_unit_requests_extension_of_its_own_deadline(world):
    c = make(world, "co_signed")
    r = applied(c.t, lambda: _request(c, who=world.housing_staff, assignment_id=c.co))
    (req,) = r.new_rows(type(r.result))
    assert req["assignment_id"] == c.co
    assert r.event["assignment_id"] == c.co


def test_sub_unit_may_request_extension_on_handed_down_ticket(world):
    c = make(world, "handed_down")
    r = applied(c.t, lambda: _request(c, who=world.street_staff))
    assert r.event["actor_unit_id"] == world.street.id


EXTENSION_REQUEST_REFUSALS = [
    case("dispatcher_cannot_request", "signed", lambda c: _request(c, who=c.w.dispatcher), ROLE),
    case("other_unit_cannot_request", "signed", lambda c: _request(c, who=c.w.other_staff), UNIT),
    case("stale_version", "signed",
         lambda c: svc.request_extension(c.t, c.w.district_staff, c.v - 1, EXTENDED_TO, REASON), STALE),
    case("not_before_signing", "dispatched", lambda c: _request(c), STATE),
    case("not_after_replying", "replied", lambda c: _request(c), STATE),
    case("not_on_returned_ticket", "returned", lambda c: _request(c), STATE),
    case("not_on_closed_ticket", "closed", lambda c: _request(c), STATE),
    case("reason_is_required", "signed", lambda c: _request(c, reason="  "), bad("reason")),
    case("date_is_required", "signed", lambda c: _request(c, due=None), bad("requested_due_at")),
    case("date_must_be_a_datetime", "signed", lambda c: _request(c, due="2026-12-04"), bad("requested_due_at")),
    case("date_must_be_after_current_deadline", "signed", lambda c: _request(c, due=HANDLE_DUE),
         bad("requested_due_at")),
]


@pytest.mark.parametrize("situation, call, expect", EXTENSION_REQUEST_REFUSALS)
def test_illegal_extension_request_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


# --- approve_extension (同意延期) -----------------------------------------------------
def test_approved_extension_moves_the_handle_deadline(world):
    c = make(world, "extension_pending")
    later(hours=2)
    a = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: svc.approve_extension(c.t, world.dispatcher, c.v, c.request_id, "同意"))
    assert r.ticket["state"] is TicketState.SIGNED
    row = r.assignment(a)
    assert row["handle_due_at"] == EXTENDED_TO
    assert row["handle_due_original_at"] == HANDLE_DUE
    assert row["extension_count"] == 1
    (req,) = r.after["extension_requests"]
    assert req["state"] is ExtensionState.APPROVED
    assert (req["decided_by_id"], req["decided_at"], req["decision_note"], req["new_due_at"]) == (
        world.dispatcher.id, NOW + timedelta(hours=2), "同意", EXTENDED_TO)
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.APPROVE_EXTENSION, TicketState.SIGNED, TicketState.SIGNED)
    assert r.event["payload"] == {"request_id": c.request_id, "old_due_at": HANDLE_DUE.isoformat(),
                                  "new_due_at": EXTENDED_TO.isoformat()}


def test_dispatcher_may_approve_a_shorter_extension_than_asked(world):
    c = make(world, "extension_pending")
    shorter = datetime(2026, 12, 2, 9, 30)
    r = applied(c.t, lambda: svc.approve_extension(c.t, world.dispatcher, c.v, c.request_id, new_due_at=shorter))
    assert r.assignment(assignment_of(c.t, world.district).id)["handle_due_at"] == shorter
    assert r.after["extension_requests"][0]["new_due_at"] == shorter


def test_approved_co_unit_extension_moves_only_the_co_units_deadline(world):
    c = make(world, "co_signed")
    req = _request(c, who=world.housing_staff, assignment_id=c.co)
    r = applied(c.t, lambda: svc.approve_extension(c.t, world.dispatcher, c.v, req.id))
    assert r.assignment(c.co)["handle_due_at"] == EXTENDED_TO
    assert r.assignment(assignment_of(c.t, world.district).id)["handle_due_at"] == HANDLE_DUE


EXTENSION_APPROVE_REFUSALS = [
    case("unit_staff_cannot_approve", "extension_pending",
         lambda c: svc.approve_extension(c.t, c.w.district_staff, c.v, c.request_id), ROLE),
    case("callback_agent_cannot_approve", "extension_pending",
         lambda c: svc.approve_extension(c.t, c.w.callback_agent, c.v, c.request_id), ROLE),
    case("stale_version", "extension_pending",
         lambda c: svc.approve_extension(c.t, c.w.dispatcher, c.v - 1, c.request_id), STALE),
    case("unknown_request", "extension_pending",
         lambda c: svc.approve_extension(c.t, c.w.dispatcher, c.v, 999999), bad("request_id")),
    case("already_approved", "extension_approved",
         lambda c: svc.approve_extension(c.t, c.w.dispatcher, c.v, c.request_id), code("EXTENSION_DECIDED")),
    case("already_refused", "extension_refused",
         lambda c: svc.approve_extension(c.t, c.w.dispatcher, c.v, c.request_id), code("EXTENSION_DECIDED")),
    case("not_beyond_the_requested_date", "extension_pending",
         lambda c: svc.approve_extension(c.t, c.w.dispatcher, c.v, c.request_id,
                                         new_due_at=EXTENDED_TO + timedelta(days=1)), bad("new_due_at")),
    case("not_at_or_before_the_current_deadline", "extension_pending",
         lambda c: svc.approve_extension(c.t, c.w.dispatcher, c.v, c.request_id, new_due_at=HANDLE_DUE),
         bad("new_due_at")),
]


@pytest.mark.parametrize("situation, call, expect", EXTENSION_APPROVE_REFUSALS)
def test_illegal_extension_approval_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


def test_extension_of_another_ticket_cannot_be_approved_here(world):
    other = make(world, "extension_pending")
    c = make(world, "signed")
    refused(c.t, lambda: svc.approve_extension(c.t, world.dispatcher, c.v, other.request_id), bad("request_id"))
    assert snapshot(other.t)["extension_requests"][0]["state"] is ExtensionState.PENDING


def test_extension_cannot_be_approved_after_the_unit_replied(world):
    c = make(world, "extension_pending")
    svc.reply(c.t, world.district_staff, c.v, "已修复")
    refused(c.t, lambda: svc.approve_extension(c.t, world.dispatcher, c.v, c.request_id), STATE)
    assert assignment_of(c.t, world.district).state is AssignmentState.REPLIED


# --- refuse_extension (拒绝延期) ------------------------------------------------------
def test_refused_extension_keeps_the_deadline(world):
    c = make(world, "extension_pending")
    a = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: svc.refuse_extension(c.t, world.dispatcher, c.v, c.request_id, " 理由不充分 "))
    assert r.ticket["state"] is TicketState.SIGNED
    assert r.assignment(a) == next(x for x in r.before["assignments"] if x["id"] == a)
    (req,) = r.after["extension_requests"]
    assert req["state"] is ExtensionState.REFUSED
    assert (req["decided_by_id"], req["decided_at"], req["decision_note"], req["new_due_at"]) == (
        world.dispatcher.id, NOW, "理由不充分", None)
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.REFUSE_EXTENSION, TicketState.SIGNED, TicketState.SIGNED)
    assert r.event["note"] == "理由不充分" and r.event["assignment_id"] == a


EXTENSION_REFUSE_REFUSALS = [
    case("unit_staff_cannot_refuse", "extension_pending",
         lambda c: svc.refuse_extension(c.t, c.w.district_staff, c.v, c.request_id, "不同意"), ROLE),
    case("stale_version", "extension_pending",
         lambda c: svc.refuse_extension(c.t, c.w.dispatcher, c.v - 1, c.request_id, "不同意"), STALE),
    case("note_is_required", "extension_pending",
         lambda c: svc.refuse_extension(c.t, c.w.dispatcher, c.v, c.request_id, ""), bad("note")),
    case("unknown_request", "extension_pending",
         lambda c: svc.refuse_extension(c.t, c.w.dispatcher, c.v, 999999, "不同意"), bad("request_id")),
    case("already_approved", "extension_approved",
         lambda c: svc.refuse_extension(c.t, c.w.dispatcher, c.v, c.request_id, "不同意"), code("EXTENSION_DECIDED")),
    case("already_refused", "extension_refused",
         lambda c: svc.refuse_extension(c.t, c.w.dispatcher, c.v, c.request_id, "不同意"), code("EXTENSION_DECIDED")),
]


@pytest.mark.parametrize("situation, call, expect", EXTENSION_REFUSE_REFUSALS)
def test_illegal_extension_refusal_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)
