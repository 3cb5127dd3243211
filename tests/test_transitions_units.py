"""Unit-side transitions: sign, hand down; return, and the dispatcher's answer to a return
(re-dispatch, overrule); co-unit flows; which unit may act on which assignment."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hotline.enums import (AssignmentRole, AssignmentState, EventAction, ReturnDecision, ReturnReason, Role,
                           TicketState, UnitKind)
from hotline.extensions import db
from tests import svc
from tests.factories import UnitFactory, UserFactory, at, later
from tests.test_transitions_support import (NOW, REPLY_TEXT, RETURN_DUE, ROLE, SIGN_DUE, STALE, STATE, UNIT,
                                            applied, assignment_of, case, code, make, refused, snapshot)
from tests.test_transitions_support import invalid as bad


def _refuse(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


# --- sign (签收) ----------------------------------------------------------------------
def test_lead_unit_signs_and_ticket_becomes_signed(world):
    c = make(world, "dispatched")
    later(minutes=20)
    a = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: svc.sign(c.t, world.district_staff, c.v))
    assert r.ticket["state"] is TicketState.SIGNED
    row = r.assignment(a)
    assert row["state"] is AssignmentState.SIGNED
    assert row["signed_at"] == datetime(2026, 11, 23, 9, 50)
    assert row["signed_by_id"] == world.district_staff.id
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.SIGN, TicketState.DISPATCHED, TicketState.SIGNED)
    assert r.event["actor_id"] == world.district_staff.id
    assert r.event["actor_unit_id"] == world.district.id
    assert r.event["assignment_id"] == a
    assert r.event["payload"]["role"] == "lead" and r.event["payload"]["late"] is False


def test_late_sign_is_allowed_and_marked_late(world):
    c = make(world, "dispatched")
    at(SIGN_DUE + timedelta(minutes=1))
    r = applied(c.t, lambda: svc.sign(c.t, world.district_staff, c.v))
    assert r.ticket["state"] is TicketState.SIGNED
    assert r.event["payload"]["late"] is True


def test_parent_unit_staff_may_sign_its_sub_units_assignment(world):
    c = make(world, "dispatched_to_street")
    r = applied(c.t, lambda: svc.sign(c.t, world.district_staff, c.v))
    assert r.ticket["state"] is TicketState.SIGNED
    assert r.event["actor_unit_id"] == world.district.id
    assert assignment_of(c.t, world.street).signed_by_id == world.district_staff.id


def test_co_unit_signs_without_changing_ticket_state(world):
    c = make(world, "dispatched_co")
    r = applied(c.t, lambda: svc.sign(c.t, world.housing_staff, c.v))
    assert r.ticket["state"] is TicketState.DISPATCHED
    assert r.assignment(c.co)["state"] is AssignmentState.SIGNED
    assert r.assignment(assignment_of(c.t, world.district).id)["state"] is AssignmentState.DISPATCHED
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.SIGN, TicketState.DISPATCHED, TicketState.DISPATCHED)
    assert r.event["assignment_id"] == c.co and r.event["payload"]["role"] == "co"


SIGN_REFUSALS = [
    case("dispatcher_cannot_sign", "dispatched",
         lambda c: svc.sign(c.t, c.w.dispatcher, c.v), ROLE),
    case("operator_cannot_sign", "dispatched",
         lambda c: svc.sign(c.t, c.w.operator, c.v), ROLE),
    case("unit_cannot_sign_other_units_ticket", "dispatched",
         lambda c: svc.sign(c.t, c.w.other_staff, c.v), UNIT),
    case("sibling_department_cannot_sign", "dispatched",
         lambda c: svc.sign(c.t, c.w.housing_staff, c.v), UNIT),
    case("sub_unit_cannot_sign_parent_units_assignment", "dispatched",
         lambda c: svc.sign(c.t, c.w.street_staff, c.v), UNIT),
    case("community_cannot_sign_streets_assignment", "dispatched_to_street",
         lambda c: svc.sign(c.t, c.w.community_staff, c.v), UNIT),
    case("stale_version", "dispatched",
         lambda c: svc.sign(c.t, c.w.district_staff, c.v - 1), STALE),
    case("already_signed", "signed",
         lambda c: svc.sign(c.t, c.w.district_staff, c.v), STATE),
    case("replied_ticket", "replied",
         lambda c: svc.sign(c.t, c.w.district_staff, c.v), STATE),
    case("returned_ticket", "returned",
         lambda c: svc.sign(c.t, c.w.district_staff, c.v), STATE),
    case("closed_ticket", "closed",
         lambda c: svc.sign(c.t, c.w.district_staff, c.v), STATE),
    case("pending_ticket_has_no_unit", "pending",
         lambda c: svc.sign(c.t, c.w.district_staff, c.v), UNIT),
    case("co_unit_cannot_sign_twice", "co_signed",
         lambda c: svc.sign(c.t, c.w.housing_staff, c.v), STATE),
    case("after_redispatch_old_unit_cannot_sign", "redispatched",
         lambda c: svc.sign(c.t, c.w.district_staff, c.v), UNIT),
    case("assignment_id_of_other_unit", "dispatched_co",
         lambda c: svc.sign(c.t, c.w.district_staff, c.v, assignment_id=c.co), UNIT),
]


@pytest.mark.parametrize("situation, call, expect", SIGN_REFUSALS)
def test_illegal_sign_is_refused_and_changes_nothing(world, situation, call, expect):
    _refuse(world, situation, call, expect)


def test_unit_cannot_sign_other_units_ticket(world):
    c = make(world, "dispatched")
    err = refused(c.t, lambda: svc.sign(c.t, world.other_staff, c.v), UNIT)
    assert err.status == 403


# --- hand down (下派) -----------------------------------------------------------------
def test_unit_hands_down_to_its_sub_unit_and_stays_answerable(world):
    c = make(world, "signed")
    a = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: svc.hand_down(c.t, world.district_staff, c.v, world.street.id, "请街道核实"))
    assert r.ticket["state"] is TicketState.SIGNED
    assert r.ticket["lead_unit_id"] == world.district.id
    row = r.assignment(a)
    assert row["unit_id"] == world.district.id          # the district stays answerable
    assert row["handler_unit_id"] == world.street.id
    assert row["state"] is AssignmentState.SIGNED
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.HAND_DOWN, TicketState.SIGNED, TicketState.SIGNED)
    assert r.event["note"] == "请街道核实"
    assert r.event["payload"]["to_unit_id"] == world.street.id
    assert r.event["assignment_id"] == a


def test_unit_may_hand_down_two_levels_to_a_community(world):
    c = make(world, "signed")
    svc.hand_down(c.t, world.district_staff, c.v, world.community.id)
    assert assignment_of(c.t, world.district).handler_unit_id == world.community.id


def test_street_hands_down_further_to_its_community_who_replies(world):
    c = make(world, "handed_down")
    r = applied(c.t, lambda: svc.hand_down(c.t, world.street_staff, c.v, world.community.id))
    assert r.event["actor_unit_id"] == world.street.id
    assert r.assignment(assignment_of(c.t, world.district).id)["handler_unit_id"] == world.community.id
    r = applied(c.t, lambda: svc.reply(c.t, world.community_staff, c.v, REPLY_TEXT))
    assert r.ticket["state"] is TicketState.REPLIED


def test_sub_unit_replies_on_handed_down_ticket_for_the_answerable_unit(world):
    c = make(world, "handed_down")
    r = applied(c.t, lambda: svc.reply(c.t, world.street_staff, c.v, REPLY_TEXT))
    assert r.ticket["state"] is TicketState.REPLIED
    assert r.event["action"] is EventAction.REPLY and r.event["actor_unit_id"] == world.street.id
    (reply_row,) = r.new_rows(type(r.result))
    assert reply_row["unit_id"] == world.district.id and reply_row["author_id"] == world.street_staff.id


def test_unit_that_handed_down_can_still_reply_itself(world):
    c = make(world, "handed_down")
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT))
    assert r.ticket["state"] is TicketState.REPLIED


def test_sub_unit_signs_ticket_handed_down_before_signing(world):
    """DESIGN: the district may pass a ticket straight down; the street then signs it."""
    c = make(world, "dispatched")
    r = applied(c.t, lambda: svc.hand_down(c.t, world.district_staff, c.v, world.street.id))
    assert r.ticket["state"] is TicketState.DISPATCHED
    r = applied(c.t, lambda: svc.sign(c.t, world.street_staff, c.v))
    assert r.ticket["state"] is TicketState.SIGNED
    assert r.event["actor_unit_id"] == world.street.id


def test_unit_may_re_hand_down_to_another_of_its_sub_units(world):
    """Hand down goes to any sub-unit of one's own unit, also after a first hand down."""
    street2 = UnitFactory(code="D1S2", name="东兴街道办事处", kind=UnitKind.STREET, level=3, parent=world.district)
    c = make(world, "handed_down")
    r = applied(c.t, lambda: svc.hand_down(c.t, world.district_staff, c.v, street2.id))
    assert r.assignment(assignment_of(c.t, world.district).id)["handler_unit_id"] == street2.id


def test_street_of_another_district_cannot_act_on_handed_down_ticket(world):
    other_street = UnitFactory(code="D2S1", name="西长街道", kind=UnitKind.STREET, level=3,
                               parent=world.other_district)
    other_street_staff = UserFactory(username="d2s1", unit=other_street, roles=[Role.UNIT_STAFF])
    c = make(world, "handed_down")
    refused(c.t, lambda: svc.reply(c.t, other_street_staff, c.v, REPLY_TEXT), UNIT)


HAND_DOWN_REFUSALS = [
    case("dispatcher_cannot_hand_down", "signed",
         lambda c: svc.hand_down(c.t, c.w.dispatcher, c.v, c.w.street.id), ROLE),
    case("other_unit_cannot_hand_down", "signed",
         lambda c: svc.hand_down(c.t, c.w.other_staff, c.v, c.w.street.id), UNIT),
    case("sub_unit_cannot_hand_down_before_it_got_the_ticket", "signed",
         lambda c: svc.hand_down(c.t, c.w.street_staff, c.v, c.w.community.id), UNIT),
    case("stale_version", "signed",
         lambda c: svc.hand_down(c.t, c.w.district_staff, c.v - 1, c.w.street.id), STALE),
    case("not_to_another_district", "signed",
         lambda c: svc.hand_down(c.t, c.w.district_staff, c.v, c.w.other_district.id), bad("sub_unit_id")),
    case("not_to_a_department", "signed",
         lambda c: svc.hand_down(c.t, c.w.district_staff, c.v, c.w.housing.id), bad("sub_unit_id")),
    case("not_up_to_the_centre", "signed",
         lambda c: svc.hand_down(c.t, c.w.district_staff, c.v, c.w.centre.id), bad("sub_unit_id")),
    case("not_to_itself", "signed",
         lambda c: svc.hand_down(c.t, c.w.district_staff, c.v, c.w.district.id), bad("sub_unit_id")),
    case("not_to_an_unknown_unit", "signed",
         lambda c: svc.hand_down(c.t, c.w.district_staff, c.v, 999999), bad("sub_unit_id")),
    case("not_without_a_unit", "signed",
         lambda c: svc.hand_down(c.t, c.w.district_staff, c.v, None), bad("sub_unit_id")),
    case("street_cannot_hand_back_up_to_district", "handed_down",
         lambda c: svc.hand_down(c.t, c.w.street_staff, c.v, c.w.district.id), bad("sub_unit_id")),
    case("not_to_the_current_handler_again", "handed_down",
         lambda c: svc.hand_down(c.t, c.w.district_staff, c.v, c.w.street.id), bad("sub_unit_id")),
    case("replied_ticket", "replied",
         lambda c: svc.hand_down(c.t, c.w.district_staff, c.v, c.w.street.id), STATE),
    case("returned_ticket", "returned",
         lambda c: svc.hand_down(c.t, c.w.district_staff, c.v, c.w.street.id), STATE),
    case("closed_ticket", "closed",
         lambda c: svc.hand_down(c.t, c.w.district_staff, c.v, c.w.street.id), STATE),
]


@pytest.mark.parametrize("situation, call, expect", HAND_DOWN_REFUSALS)
def test_illegal_hand_down_is_refused_and_changes_nothing(world, situation, call, expect):
    _refuse(world, situation, call, expect)


def test_hand_down_to_inactive_sub_unit_is_refused(world):
    c = make(world, "signed")
    world.street.active = False
    db.session.commit()
    refused(c.t, lambda: svc.hand_down(c.t, world.district_staff, c.v, world.street.id), bad("sub_unit_id"))


# --- return (退单) --------------------------------------------------------------------
def test_lead_unit_returns_dispatched_ticket_to_the_dispatcher(world):
    c = make(world, "dispatched")
    later(hours=1)
    a = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: svc.return_ticket(c.t, world.district_staff, c.v, "not_our_duty", " 属住建职责 "))
    assert r.ticket["state"] is TicketState.RETURNED
    assert r.assignment(a)["state"] is AssignmentState.RETURNED
    assert r.assignment(a)["active"] is True
    (ret,) = r.new_rows(type(r.result))
    assert ret["id"] == r.result.id
    assert (ret["assignment_id"], ret["unit_id"], ret["returned_by_id"]) == (
        a, world.district.id, world.district_staff.id)
    assert ret["returned_at"] == NOW + timedelta(hours=1)
    assert ret["reason"] is ReturnReason.NOT_OUR_DUTY and ret["reason_text"] == "属住建职责"
    assert ret["decision"] is ReturnDecision.PENDING and ret["decided_at"] is None
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.RETURN, TicketState.DISPATCHED, TicketState.RETURNED)
    assert r.event["note"] == "属住建职责"
    assert r.event["payload"]["reason"] == "not_our_duty"


def test_lead_unit_may_return_after_signing_within_the_window(world):
    c = make(world, "signed")
    at(RETURN_DUE)
    r = applied(c.t, lambda: svc.return_ticket(c.t, world.district_staff, c.v, "other", "属地在西城区"))
    assert r.ticket["state"] is TicketState.RETURNED
    assert r.event["from_state"] is TicketState.SIGNED


def test_return_after_the_return_window_is_refused(world):
    c = make(world, "dispatched")
    at(assignment_of(c.t, world.district).return_due_at + timedelta(minutes=1))
    refused(c.t, lambda: svc.return_ticket(c.t, world.district_staff, c.v, "wrong_area"),
            code("RETURN_WINDOW_PASSED"))


def test_overruled_return_cannot_be_returned_again(world):
    c = make(world, "overruled")
    assert assignment_of(c.t, world.district).return_due_at > NOW  # still inside the return window
    refused(c.t, lambda: svc.return_ticket(c.t, world.district_staff, c.v, "wrong_area"),
            code("RETURN_OVERRULED"))


def test_co_unit_return_leaves_ticket_state_unchanged(world):
    c = make(world, "dispatched_co")
    r = applied(c.t, lambda: svc.return_ticket(c.t, world.housing_staff, c.v, "not_our_duty",
                                               assignment_id=c.co))
    assert r.ticket["state"] is TicketState.DISPATCHED
    assert r.assignment(c.co)["state"] is AssignmentState.RETURNED
    assert r.assignment(assignment_of(c.t, world.district).id)["state"] is AssignmentState.DISPATCHED
    assert (r.event["from_state"], r.event["to_state"]) == (TicketState.DISPATCHED, TicketState.DISPATCHED)
    assert r.event["payload"]["role"] == "co"
    assert r.new_rows(type(r.result))[0]["unit_id"] == world.housing.id


RETURN_REFUSALS = [
    case("dispatcher_cannot_return", "dispatched",
         lambda c: svc.return_ticket(c.t, c.w.dispatcher, c.v, "not_our_duty"), ROLE),
    case("other_unit_cannot_return", "dispatched",
         lambda c: svc.return_ticket(c.t, c.w.other_staff, c.v, "not_our_duty"), UNIT),
    case("sub_unit_handler_cannot_return_to_centre", "handed_down",
         lambda c: svc.return_ticket(c.t, c.w.street_staff, c.v, "not_our_duty"), UNIT),
    case("stale_version", "dispatched",
         lambda c: svc.return_ticket(c.t, c.w.district_staff, c.v - 1, "not_our_duty"), STALE),
    case("reason_is_required", "dispatched",
         lambda c: svc.return_ticket(c.t, c.w.district_staff, c.v, None), bad("reason")),
    case("unknown_reason", "dispatched",
         lambda c: svc.return_ticket(c.t, c.w.district_staff, c.v, "too_busy"), bad("reason")),
    case("other_reason_needs_text", "dispatched",
         lambda c: svc.return_ticket(c.t, c.w.district_staff, c.v, "other", "  "), bad("reason_text")),
    case("already_returned", "returned",
         lambda c: svc.return_ticket(c.t, c.w.district_staff, c.v, "not_our_duty"), STATE),
    case("replied_ticket", "replied",
         lambda c: svc.return_ticket(c.t, c.w.district_staff, c.v, "not_our_duty"), STATE),
    case("reopened_ticket", "reopened",
         lambda c: svc.return_ticket(c.t, c.w.district_staff, c.v, "not_our_duty"), STATE),
    case("closed_ticket", "closed",
         lambda c: svc.return_ticket(c.t, c.w.district_staff, c.v, "not_our_duty"), STATE),
    case("overruled_return", "overruled",
         lambda c: svc.return_ticket(c.t, c.w.district_staff, c.v, "not_our_duty"), code("RETURN_OVERRULED")),
]


@pytest.mark.parametrize("situation, call, expect", RETURN_REFUSALS)
def test_illegal_return_is_refused_and_changes_nothing(world, situation, call, expect):
    _refuse(world, situation, call, expect)


# --- re-dispatch (改派) ---------------------------------------------------------------
def test_redispatch_of_lead_return_replaces_the_whole_dispatch(world):
    t = world.dispatched(cos=[world.water])
    ret = svc.return_ticket(t.id, world.district_staff, t.version, "not_our_duty")
    old_lead, old_co = assignment_of(t.id, world.district).id, assignment_of(t.id, world.water).id
    later(hours=2)
    r = applied(t.id, lambda: svc.redispatch(t.id, world.dispatcher, t.version, ret.id,
                                             lead_unit_id=world.housing.id, co_unit_ids=[world.other_district.id],
                                             note="改派住建局"))
    assert r.ticket["state"] is TicketState.DISPATCHED
    assert r.ticket["lead_unit_id"] == world.housing.id
    assert r.assignment(old_lead)["active"] is False
    assert r.assignment(old_lead)["state"] is AssignmentState.RETURNED
    assert r.assignment(old_co)["active"] is False
    assert r.assignment(old_co)["state"] is AssignmentState.CANCELLED
    new = [a for a in r.after["assignments"] if a["active"]]
    assert [(a["unit_id"], a["role"], a["state"], a["round"]) for a in new] == [
        (world.housing.id, AssignmentRole.LEAD, AssignmentState.DISPATCHED, 2),
        (world.other_district.id, AssignmentRole.CO, AssignmentState.DISPATCHED, 2)]
    assert all(a["dispatched_at"] == NOW + timedelta(hours=2) for a in new)
    assert new[0]["sign_due_at"] == SIGN_DUE + timedelta(hours=2)   # new clocks from the re-dispatch
    (decided,) = r.after["ticket_returns"]
    assert decided["decision"] is ReturnDecision.REDISPATCHED
    assert decided["decided_by_id"] == world.dispatcher.id and decided["decision_note"] == "改派住建局"
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.REDISPATCH, TicketState.RETURNED, TicketState.DISPATCHED)
    assert r.event["payload"]["return_id"] == ret.id


def test_new_lead_unit_signs_after_redispatch(world):
    c = make(world, "redispatched")
    r = applied(c.t, lambda: svc.sign(c.t, world.housing_staff, c.v))
    assert r.ticket["state"] is TicketState.SIGNED


def test_redispatch_of_co_return_replaces_only_that_co_unit(world):
    c = make(world, "co_returned")
    lead = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: svc.redispatch(c.t, world.dispatcher, c.v, c.return_id,
                                            co_unit_ids=[world.other_district.id]))
    assert r.ticket["state"] is TicketState.DISPATCHED
    assert r.ticket["lead_unit_id"] == world.district.id
    assert r.assignment(c.co)["active"] is False
    assert r.assignment(c.co)["state"] is AssignmentState.RETURNED
    assert r.assignment(lead) == next(a for a in r.before["assignments"] if a["id"] == lead)
    assert r.assignment(c.water_co) == next(a for a in r.before["assignments"] if a["id"] == c.water_co)
    (added,) = [a for a in r.after["assignments"] if a["id"] not in {x["id"] for x in r.before["assignments"]}]
    assert (added["unit_id"], added["role"], added["state"], added["active"], added["round"]) == (
        world.other_district.id, AssignmentRole.CO, AssignmentState.DISPATCHED, True, 2)
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.REDISPATCH, TicketState.DISPATCHED, TicketState.DISPATCHED)
    assert r.after["ticket_returns"][0]["decision"] is ReturnDecision.REDISPATCHED


def test_redispatch_of_co_return_may_simply_drop_the_co_unit(world):
    c = make(world, "co_returned")
    r = applied(c.t, lambda: svc.redispatch(c.t, world.dispatcher, c.v, c.return_id))
    assert len(r.after["assignments"]) == len(r.before["assignments"])
    assert r.assignment(c.co)["active"] is False


REDISPATCH_REFUSALS = [
    case("operator_cannot_redispatch", "returned",
         lambda c: svc.redispatch(c.t, c.w.operator, c.v, c.return_id, c.w.housing.id), ROLE),
    case("unit_staff_cannot_redispatch", "returned",
         lambda c: svc.redispatch(c.t, c.w.district_staff, c.v, c.return_id, c.w.housing.id), ROLE),
    case("stale_version", "returned",
         lambda c: svc.redispatch(c.t, c.w.dispatcher, c.v - 1, c.return_id, c.w.housing.id), STALE),
    case("unknown_return", "returned",
         lambda c: svc.redispatch(c.t, c.w.dispatcher, c.v, 999999, c.w.housing.id), bad("return_id")),
    case("new_lead_required", "returned",
         lambda c: svc.redispatch(c.t, c.w.dispatcher, c.v, c.return_id, None), bad("lead_unit_id")),
    case("not_to_the_centre", "returned",
         lambda c: svc.redispatch(c.t, c.w.dispatcher, c.v, c.return_id, c.w.centre.id), bad("lead_unit_id")),
    case("co_unit_equals_new_lead", "returned",
         lambda c: svc.redispatch(c.t, c.w.dispatcher, c.v, c.return_id, c.w.housing.id, [c.w.housing.id]),
         bad("co_unit_ids")),
    case("already_overruled", "overruled",
         lambda c: svc.redispatch(c.t, c.w.dispatcher, c.v, c.return_id, c.w.housing.id), code("RETURN_DECIDED")),
    case("already_redispatched", "redispatched",
         lambda c: svc.redispatch(c.t, c.w.dispatcher, c.v, c.return_id, c.w.water.id), code("RETURN_DECIDED")),
    case("co_return_to_unit_already_on_ticket", "co_returned",
         lambda c: svc.redispatch(c.t, c.w.dispatcher, c.v, c.return_id, co_unit_ids=[c.w.water.id]),
         bad("co_unit_ids")),
    case("co_return_to_the_lead_unit", "co_returned",
         lambda c: svc.redispatch(c.t, c.w.dispatcher, c.v, c.return_id, co_unit_ids=[c.w.district.id]),
         bad("co_unit_ids")),
]


@pytest.mark.parametrize("situation, call, expect", REDISPATCH_REFUSALS)
def test_illegal_redispatch_is_refused_and_changes_nothing(world, situation, call, expect):
    _refuse(world, situation, call, expect)


def test_redispatch_with_return_of_another_ticket_is_refused(world):
    other = make(world, "returned")
    c = make(world, "returned")
    refused(c.t, lambda: svc.redispatch(c.t, world.dispatcher, c.v, other.return_id, world.housing.id),
            bad("return_id"))
    assert snapshot(other.t)["ticket_returns"][0]["decision"] is ReturnDecision.PENDING


def _closed_with_pending_co_return(world):
    c = make(world, "co_returned")
    svc.sign(c.t, world.district_staff, c.v)
    svc.sign(c.t, world.water_staff, c.v, assignment_id=c.water_co)
    svc.reply(c.t, world.water_staff, c.v, "供水正常", assignment_id=c.water_co)
    svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT)
    svc.review(c.t, world.dispatcher, c.v, accept=True)
    svc.record_callback(c.t, world.callback_agent, c.v, reached=True, resolution="resolved",
                        satisfaction="satisfied")
    assert snapshot(c.t)["ticket"]["state"] is TicketState.CLOSED
    return c


def test_co_return_cannot_be_redispatched_on_a_closed_ticket(world):
    c = _closed_with_pending_co_return(world)
    refused(c.t, lambda: svc.redispatch(c.t, world.dispatcher, c.v, c.return_id,
                                        co_unit_ids=[world.other_district.id]), STATE)


def test_co_return_cannot_be_overruled_on_a_closed_ticket(world):
    c = _closed_with_pending_co_return(world)
    refused(c.t, lambda: svc.overrule_return(c.t, world.dispatcher, c.v, c.return_id, "须协办"), STATE)


# --- overrule a return (驳回退单) -----------------------------------------------------
def test_overruled_return_sends_unsigned_ticket_back_to_the_unit(world):
    c = make(world, "returned")
    a = assignment_of(c.t, world.district).id
    r = applied(c.t, lambda: svc.overrule_return(c.t, world.dispatcher, c.v, c.return_id, " 属地管理 "))
    assert r.ticket["state"] is TicketState.DISPATCHED
    assert r.ticket["lead_unit_id"] == world.district.id
    assert r.assignment(a)["state"] is AssignmentState.DISPATCHED
    assert r.assignment(a)["return_overruled"] is True and r.assignment(a)["active"] is True
    (ret,) = r.after["ticket_returns"]
    assert ret["decision"] is ReturnDecision.OVERRULED
    assert (ret["decided_by_id"], ret["decided_at"], ret["decision_note"]) == (world.dispatcher.id, NOW, "属地管理")
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.OVERRULE_RETURN, TicketState.RETURNED, TicketState.DISPATCHED)
    assert r.event["note"] == "属地管理"


def test_overruled_return_of_signed_ticket_goes_back_to_signed(world):
    c = make(world, "returned_after_sign")
    r = applied(c.t, lambda: svc.overrule_return(c.t, world.dispatcher, c.v, c.return_id, "须办理"))
    assert r.ticket["state"] is TicketState.SIGNED
    assert r.assignment(assignment_of(c.t, world.district).id)["state"] is AssignmentState.SIGNED


def test_unit_must_handle_after_its_return_was_overruled(world):
    c = make(world, "overruled")
    svc.sign(c.t, world.district_staff, c.v)
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT))
    assert r.ticket["state"] is TicketState.REPLIED


def test_overruled_co_return_sends_co_unit_back_without_touching_ticket_state(world):
    c = make(world, "co_returned")
    r = applied(c.t, lambda: svc.overrule_return(c.t, world.dispatcher, c.v, c.return_id, "须协办"))
    assert r.ticket["state"] is TicketState.DISPATCHED
    assert r.assignment(c.co)["state"] is AssignmentState.DISPATCHED
    assert r.assignment(c.co)["return_overruled"] is True
    assert (r.event["from_state"], r.event["to_state"]) == (TicketState.DISPATCHED, TicketState.DISPATCHED)


OVERRULE_REFUSALS = [
    case("operator_cannot_overrule", "returned",
         lambda c: svc.overrule_return(c.t, c.w.operator, c.v, c.return_id, "须办理"), ROLE),
    case("unit_staff_cannot_overrule", "returned",
         lambda c: svc.overrule_return(c.t, c.w.district_staff, c.v, c.return_id, "须办理"), ROLE),
    case("stale_version", "returned",
         lambda c: svc.overrule_return(c.t, c.w.dispatcher, c.v - 1, c.return_id, "须办理"), STALE),
    case("note_is_required", "returned",
         lambda c: svc.overrule_return(c.t, c.w.dispatcher, c.v, c.return_id, " "), bad("note")),
    case("unknown_return", "returned",
         lambda c: svc.overrule_return(c.t, c.w.dispatcher, c.v, 999999, "须办理"), bad("return_id")),
    case("already_overruled", "overruled",
         lambda c: svc.overrule_return(c.t, c.w.dispatcher, c.v, c.return_id, "须办理"), code("RETURN_DECIDED")),
    case("already_redispatched", "redispatched",
         lambda c: svc.overrule_return(c.t, c.w.dispatcher, c.v, c.return_id, "须办理"), code("RETURN_DECIDED")),
]


@pytest.mark.parametrize("situation, call, expect", OVERRULE_REFUSALS)
def test_illegal_overrule_is_refused_and_changes_nothing(world, situation, call, expect):
    _refuse(world, situation, call, expect)


# --- co-unit flow ---------------------------------------------------------------------
def test_co_unit_replies_to_the_lead_unit_with_co_reply(world):
    c = make(world, "co_signed")
    later(hours=3)
    r = applied(c.t, lambda: svc.reply(c.t, world.housing_staff, c.v, "已督促物业维修", assignment_id=c.co))
    assert r.ticket["state"] is TicketState.SIGNED
    assert r.assignment(c.co)["state"] is AssignmentState.REPLIED
    assert r.assignment(c.co)["replied_at"] == NOW + timedelta(hours=3)
    assert r.assignment(assignment_of(c.t, world.district).id)["state"] is AssignmentState.SIGNED
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.CO_REPLY, TicketState.SIGNED, TicketState.SIGNED)
    (row,) = r.new_rows(type(r.result))
    assert (row["unit_id"], row["assignment_id"], row["result"]) == (world.housing.id, c.co, "已督促物业维修")
    # the lead's reply then lists the co-unit as replied
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT))
    assert r.ticket["state"] is TicketState.REPLIED
    assert r.event["payload"]["co_replied"] == [world.housing.name]
    assert r.event["payload"]["co_pending"] == []


def test_lead_waits_for_a_co_unit_still_within_its_deadline(world):
    c = make(world, "signed_co")
    refused(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT), code("CO_UNITS_PENDING"))


def test_lead_may_reply_once_the_pending_co_unit_is_overdue(world):
    c = make(world, "signed_co")
    co_due = snapshot(c.t)["assignments"]
    due = max(a["handle_due_at"] for a in co_due if a["unit_id"] == world.housing.id)
    at(due + timedelta(minutes=1))
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT))
    assert r.ticket["state"] is TicketState.REPLIED
    assert r.event["payload"]["co_pending"] == [world.housing.name]


def test_co_unit_cannot_reply_before_signing(world):
    c = make(world, "signed_co")
    refused(c.t, lambda: svc.reply(c.t, world.housing_staff, c.v, "已处理"), STATE)


def test_co_unit_cannot_reply_twice(world):
    c = make(world, "co_signed")
    svc.reply(c.t, world.housing_staff, c.v, "已处理")
    refused(c.t, lambda: svc.reply(c.t, world.housing_staff, c.v, "再次反馈"), STATE)


def test_unit_that_is_lead_and_parent_of_co_unit_acts_on_the_chosen_assignment(world):
    t = world.dispatched(cos=[world.street])
    co = assignment_of(t.id, world.street).id
    r = applied(t.id, lambda: svc.sign(t.id, world.district_staff, t.version))   # lead first by default
    assert r.event["assignment_id"] == assignment_of(t.id, world.district).id
    r = applied(t.id, lambda: svc.sign(t.id, world.district_staff, t.version, assignment_id=co))
    assert r.event["assignment_id"] == co and r.assignment(co)["state"] is AssignmentState.SIGNED
