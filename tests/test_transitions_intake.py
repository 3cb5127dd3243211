"""Transitions before a unit is involved: record, answer directly, dispatch, merge, close as
invalid; ticket numbering; the checks every transition shares (version, inactive user)."""
from __future__ import annotations

from datetime import datetime

import pytest

from hotline.enums import (AssignmentRole, AssignmentState, Closure, EventAction, RequestType,
                           TicketState, Urgency)
from hotline.errors import ValidationFailed
from hotline.extensions import db
from tests import svc
from tests.factories import at, later
from tests.test_transitions_support import (HANDLE_DUE, NOW, RETURN_DUE, ROLE, SIGN_DUE, STALE, STATE,
                                            applied, assignment_of, case, make, refused, snapshot)
from tests.test_transitions_support import invalid as bad


# --- record_ticket (受理) --------------------------------------------------------------
def test_operator_records_ticket_pending_dispatch_with_one_record_event(world):
    before = snapshot(None)
    t = svc.record_ticket(world.operator, world.draft(title="  小区电梯故障  ", caller_phone="138 0000 1111"))
    snap = snapshot(t.id)
    row = snap["ticket"]
    assert row["state"] is TicketState.PENDING_DISPATCH
    assert row["version"] == 1
    assert row["number"] == "12345-20261123-000001"
    assert row["created_by_id"] == world.operator.id
    assert row["created_at"] == NOW and row["updated_at"] == NOW
    assert row["title"] == "小区电梯故障"          # trimmed
    assert row["caller_phone"] == "13800001111"  # spaces removed
    assert row["request_type"] is RequestType.HELP and row["urgency"] is Urgency.NORMAL
    assert row["closure"] is None and row["lead_unit_id"] is None and row["dispatched_at"] is None
    assert snap["assignments"] == []
    assert len(snap["events"]) == 1
    ev = snap["events"][0]
    assert (ev["action"], ev["from_state"], ev["to_state"]) == (EventAction.RECORD, None,
                                                                TicketState.PENDING_DISPATCH)
    assert ev["actor_id"] == world.operator.id and ev["actor_unit_id"] == world.centre.id
    assert ev["at"] == NOW
    assert snap["counts"]["tickets"] == before["counts"]["tickets"] + 1


def test_dispatcher_may_also_record_a_ticket(world):
    t = svc.record_ticket(world.dispatcher, world.draft())
    assert snapshot(t.id)["ticket"]["created_by_id"] == world.dispatcher.id


@pytest.mark.parametrize("who", ["callback_agent", "supervisor", "manager", "admin", "district_staff"])
def test_only_operator_or_dispatcher_can_record_ticket(world, who):
    refused(None, lambda: svc.record_ticket(getattr(world, who), world.draft()), ROLE)


@pytest.mark.parametrize("over, field_name", [
    pytest.param({"caller_phone": ""}, "caller_phone", id="missing_phone"),
    pytest.param({"caller_phone": "call-me-maybe"}, "caller_phone", id="malformed_phone"),
    pytest.param({"category_id": None}, "category_id", id="missing_category"),
    pytest.param({"category_id": 999999}, "category_id", id="unknown_category"),
    pytest.param({"district_id": "STREET"}, "district_id", id="district_is_a_street"),
    pytest.param({"title": "   "}, "title", id="blank_title"),
    pytest.param({"title": "长" * 201}, "title", id="title_too_long"),
    pytest.param({"content": ""}, "content", id="missing_content"),
    pytest.param({"request_type": "gossip"}, "request_type", id="unknown_request_type"),
    pytest.param({"urgency": "whenever"}, "urgency", id="unknown_urgency"),
    pytest.param({"channel": "pigeon"}, "channel", id="unknown_channel"),
])
def test_invalid_draft_is_refused_and_records_nothing(world, over, field_name):
    if over.get("district_id") == "STREET":
        over = {"district_id": world.street.id}
    refused(None, lambda: svc.record_ticket(world.operator, world.draft(**over)), bad(field_name))


def test_refused_record_does_not_use_up_a_number(world):
    with pytest.raises(ValidationFailed):
        svc.record_ticket(world.operator, world.draft(title=""))
    assert world.record().number == "12345-20261123-000001"


def test_ticket_numbers_are_sequential_within_a_day(world):
    numbers = [world.record().number for _ in range(3)]
    assert numbers == ["12345-20261123-000001", "12345-20261123-000002", "12345-20261123-000003"]


def test_ticket_numbers_restart_at_one_on_the_next_day(world):
    world.record()
    at(datetime(2026, 11, 23, 23, 59, 59))
    assert world.record().number == "12345-20261123-000002"
    at(datetime(2026, 11, 24, 0, 0, 1))
    assert world.record().number == "12345-20261124-000001"
    assert world.record().number == "12345-20261124-000002"
    # going back to a day already numbered continues that day's sequence, never reuses
    at(datetime(2026, 11, 23, 18, 0))
    assert world.record().number == "12345-20261123-000003"


def test_operator_records_and_answers_on_the_call_in_one_step(world):
    t = svc.record_ticket(world.operator, world.draft(), answer=" 已告知报修电话 ")
    snap = snapshot(t.id)
    assert snap["ticket"]["state"] is TicketState.CLOSED
    assert snap["ticket"]["closure"] is Closure.ANSWERED
    assert snap["ticket"]["direct_answer"] == "已告知报修电话"
    assert [(e["action"], e["from_state"], e["to_state"]) for e in snap["events"]] == [
        (EventAction.RECORD, None, TicketState.PENDING_DISPATCH),
        (EventAction.ANSWER, TicketState.PENDING_DISPATCH, TicketState.CLOSED)]


def test_record_with_blank_answer_is_refused_and_records_nothing(world):
    refused(None, lambda: svc.record_ticket(world.operator, world.draft(), answer="  "), bad("answer"))
    assert world.record().number == "12345-20261123-000001"


# --- answer_directly (直接答复) --------------------------------------------------------
def _article(active=True):
    from hotline.intake.models import KnowledgeArticle

    art = KnowledgeArticle(title="电梯报修", body="请拨打物业报修电话", updated_at=NOW, active=active)
    db.session.add(art)
    db.session.commit()
    return art.id


def test_operator_answers_directly_and_ticket_closes_as_answered(world):
    from hotline.intake.models import KnowledgeArticle

    c = make(world, "pending")
    art = _article()
    later(minutes=4)
    r = applied(c.t, lambda: svc.answer_directly(c.t, world.operator, c.v, " 物业报修电话 8888 ",
                                                 kb_article_id=str(art)))
    assert r.ticket["state"] is TicketState.CLOSED
    assert r.ticket["closure"] is Closure.ANSWERED
    assert r.ticket["closed_at"] == datetime(2026, 11, 23, 9, 34)
    assert r.ticket["direct_answer"] == "物业报修电话 8888"
    assert r.ticket["kb_article_id"] == art
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.ANSWER, TicketState.PENDING_DISPATCH, TicketState.CLOSED)
    assert r.event["actor_id"] == world.operator.id
    assert r.event["note"] == "物业报修电话 8888"
    assert r.event["payload"]["kb_article_id"] == art
    assert r.after["assignments"] == []
    assert db.session.get(KnowledgeArticle, art).times_used == 1


def test_answer_directly_with_unknown_or_inactive_article_is_refused(world):
    from hotline.intake.models import KnowledgeArticle

    c = make(world, "pending")
    refused(c.t, lambda: svc.answer_directly(c.t, world.operator, c.v, "答复", kb_article_id=999999),
            bad("kb_article_id"))
    art = _article(active=False)
    refused(c.t, lambda: svc.answer_directly(c.t, world.operator, c.v, "答复", kb_article_id=art),
            bad("kb_article_id"))
    assert db.session.get(KnowledgeArticle, art).times_used == 0


ANSWER_REFUSALS = [
    case("dispatcher_cannot_answer_directly", "pending",
         lambda c: svc.answer_directly(c.t, c.w.dispatcher, c.v, "答复"), ROLE),
    case("unit_staff_cannot_answer_directly", "pending",
         lambda c: svc.answer_directly(c.t, c.w.district_staff, c.v, "答复"), ROLE),
    case("stale_version", "pending",
         lambda c: svc.answer_directly(c.t, c.w.operator, c.v - 1, "答复"), STALE),
    case("answer_is_required", "pending",
         lambda c: svc.answer_directly(c.t, c.w.operator, c.v, "  "), bad("answer")),
    case("dispatched_ticket", "dispatched",
         lambda c: svc.answer_directly(c.t, c.w.operator, c.v, "答复"), STATE),
    case("already_answered", "answered",
         lambda c: svc.answer_directly(c.t, c.w.operator, c.v, "答复"), STATE),
    case("merged_ticket", "merged",
         lambda c: svc.answer_directly(c.t, c.w.operator, c.v, "答复"), STATE),
]


@pytest.mark.parametrize("situation, call, expect", ANSWER_REFUSALS)
def test_illegal_answer_directly_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


# --- dispatch (派单) ------------------------------------------------------------------
def test_dispatcher_dispatches_to_lead_and_co_units_with_their_deadlines(world):
    c = make(world, "pending")
    r = applied(c.t, lambda: svc.dispatch(c.t, world.dispatcher, c.v, world.district.id,
                                          [world.housing.id, str(world.water.id)], note="请尽快处理"))
    assert r.ticket["state"] is TicketState.DISPATCHED
    assert r.ticket["lead_unit_id"] == world.district.id
    assert r.ticket["dispatched_at"] == NOW
    rows = r.after["assignments"]
    assert [(a["unit_id"], a["role"], a["state"], a["active"], a["round"]) for a in rows] == [
        (world.district.id, AssignmentRole.LEAD, AssignmentState.DISPATCHED, True, 1),
        (world.housing.id, AssignmentRole.CO, AssignmentState.DISPATCHED, True, 1),
        (world.water.id, AssignmentRole.CO, AssignmentState.DISPATCHED, True, 1),
    ]
    co_due = datetime(2026, 11, 27, 9, 30)  # co-units: 1 working day before the lead (co_unit_days_before_lead)
    for a in rows:
        due = HANDLE_DUE if a["role"] is AssignmentRole.LEAD else co_due
        assert (a["sign_due_at"], a["handle_due_at"], a["handle_due_original_at"], a["return_due_at"]) == (
            SIGN_DUE, due, due, RETURN_DUE)
        assert a["dispatched_by_id"] == world.dispatcher.id and a["handler_unit_id"] is None
        assert a["signed_at"] is None and a["extension_count"] == 0
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.DISPATCH, TicketState.PENDING_DISPATCH, TicketState.DISPATCHED)
    assert r.event["note"] == "请尽快处理"
    assert r.event["actor_id"] == world.dispatcher.id
    assert [(p["unit_id"], p["role"]) for p in r.event["payload"]["assignments"]] == [
        (world.district.id, "lead"), (world.housing.id, "co"), (world.water.id, "co")]


def test_dispatch_deadlines_follow_request_type_and_urgency(world):
    t = world.record(request_type="complaint", urgency="urgent")
    svc.dispatch(t.id, world.dispatcher, t.version, world.district.id)
    a = assignment_of(t.id, world.district)
    assert a.sign_due_at == datetime(2026, 11, 23, 11, 30)      # 2 hours
    assert a.handle_due_at == datetime(2026, 11, 24, 9, 30)     # 24 hours
    assert a.return_due_at == datetime(2026, 11, 23, 11, 30)    # 2 hours


DISPATCH_REFUSALS = [
    case("operator_cannot_dispatch", "pending",
         lambda c: svc.dispatch(c.t, c.w.operator, c.v, c.w.district.id), ROLE),
    case("unit_staff_cannot_dispatch", "pending",
         lambda c: svc.dispatch(c.t, c.w.district_staff, c.v, c.w.district.id), ROLE),
    case("supervisor_cannot_dispatch", "pending",
         lambda c: svc.dispatch(c.t, c.w.supervisor, c.v, c.w.district.id), ROLE),
    case("stale_version", "pending",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, c.v - 1, c.w.district.id), STALE),
    case("missing_version", "pending",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, None, c.w.district.id), bad("version")),
    case("already_dispatched", "dispatched",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, c.v, c.w.housing.id), STATE),
    case("signed_ticket", "signed",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, c.v, c.w.housing.id), STATE),
    case("returned_ticket_needs_redispatch", "returned",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, c.v, c.w.housing.id), STATE),
    case("closed_ticket", "answered",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, c.v, c.w.district.id), STATE),
    case("no_lead_unit", "pending",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, c.v, None), bad("lead_unit_id")),
    case("unknown_lead_unit", "pending",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, c.v, 999999), bad("lead_unit_id")),
    case("lead_is_the_centre", "pending",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, c.v, c.w.centre.id), bad("lead_unit_id")),
    case("co_unit_equals_lead", "pending",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, c.v, c.w.district.id, [c.w.district.id]), bad("co_unit_ids")),
    case("co_unit_twice", "pending",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, c.v, c.w.district.id, [c.w.water.id, c.w.water.id]),
         bad("co_unit_ids")),
    case("co_unit_is_the_centre", "pending",
         lambda c: svc.dispatch(c.t, c.w.dispatcher, c.v, c.w.district.id, [c.w.centre.id]), bad("co_unit_ids")),
]


@pytest.mark.parametrize("situation, call, expect", DISPATCH_REFUSALS)
def test_illegal_dispatch_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


def test_dispatch_to_inactive_unit_is_refused(world):
    c = make(world, "pending")
    world.housing.active = False
    db.session.commit()
    refused(c.t, lambda: svc.dispatch(c.t, world.dispatcher, c.v, world.housing.id), bad("lead_unit_id"))


def test_second_of_two_concurrent_dispatches_gets_stale_version(world):
    c = make(world, "pending")
    seen = c.v
    svc.dispatch(c.t, world.dispatcher, seen, world.district.id)
    refused(c.t, lambda: svc.dispatch(c.t, world.dispatcher, seen, world.housing.id), STALE)


def test_inactive_user_cannot_act(world):
    c = make(world, "pending")
    world.dispatcher.active = False
    db.session.commit()
    refused(c.t, lambda: svc.dispatch(c.t, world.dispatcher, c.v, world.district.id), ROLE)


# --- merge (并单) ---------------------------------------------------------------------
def test_dispatcher_merges_duplicate_into_master_which_is_untouched(world):
    master = world.record()
    dup = world.record(caller_phone="13900002222")
    master_before = snapshot(master.id)
    r = applied(dup.id, lambda: svc.merge(dup.id, world.dispatcher, dup.version, master.id, "同一部电梯"))
    assert r.ticket["state"] is TicketState.CLOSED
    assert r.ticket["closure"] is Closure.MERGED
    assert r.ticket["merged_into_id"] == master.id
    assert r.ticket["closed_at"] == NOW
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.MERGE, TicketState.PENDING_DISPATCH, TicketState.CLOSED)
    assert r.event["note"] == "同一部电梯"
    assert r.event["payload"]["into_ticket_id"] == master.id
    master_after = snapshot(master.id)
    assert master_after["ticket"] == master_before["ticket"]
    assert master_after["events"] == master_before["events"]


def test_ticket_may_be_merged_into_a_dispatched_master(world):
    master = world.dispatched()
    dup = world.record()
    svc.merge(dup.id, world.dispatcher, dup.version, master.id)
    assert snapshot(dup.id)["ticket"]["merged_into_id"] == master.id


MERGE_REFUSALS = [
    case("operator_cannot_merge", "pending",
         lambda c: svc.merge(c.t, c.w.operator, c.v, c.other), ROLE),
    case("stale_version", "pending",
         lambda c: svc.merge(c.t, c.w.dispatcher, c.v - 1, c.other), STALE),
    case("into_itself", "pending",
         lambda c: svc.merge(c.t, c.w.dispatcher, c.v, c.t), bad("into_ticket_id")),
    case("into_nothing", "pending",
         lambda c: svc.merge(c.t, c.w.dispatcher, c.v, None), bad("into_ticket_id")),
    case("into_unknown_ticket", "pending",
         lambda c: svc.merge(c.t, c.w.dispatcher, c.v, 999999), bad("into_ticket_id")),
    case("dispatched_ticket_cannot_be_merged", "dispatched",
         lambda c: svc.merge(c.t, c.w.dispatcher, c.v, c.other), STATE),
    case("already_merged", "merged",
         lambda c: svc.merge(c.t, c.w.dispatcher, c.v, c.master), STATE),
]


@pytest.mark.parametrize("situation, call, expect", MERGE_REFUSALS)
def test_illegal_merge_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    c.extra["other"] = world.record(caller_phone="13700003333").id  # a possible master
    refused(c.t, lambda: call(c), expect)


def test_merge_into_a_merged_ticket_is_refused(world):
    merged = make(world, "merged")       # merged.t is closed as merged into merged.master
    dup = make(world, "pending")
    refused(dup.t, lambda: svc.merge(dup.t, world.dispatcher, dup.v, merged.t), bad("into_ticket_id"))


# --- close as invalid (无效工单) ------------------------------------------------------
def test_dispatcher_closes_pending_ticket_as_invalid_with_a_note(world):
    c = make(world, "pending")
    r = applied(c.t, lambda: svc.close(c.t, world.dispatcher, c.v, "invalid", " 骚扰电话 "))
    assert r.ticket["state"] is TicketState.CLOSED
    assert r.ticket["closure"] is Closure.INVALID
    assert r.ticket["closed_at"] == NOW
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.CLOSE, TicketState.PENDING_DISPATCH, TicketState.CLOSED)
    assert r.event["note"] == "骚扰电话"
    assert r.event["payload"]["closure"] == "invalid"


CLOSE_INVALID_REFUSALS = [
    case("note_is_required", "pending",
         lambda c: svc.close(c.t, c.w.dispatcher, c.v, Closure.INVALID, ""), bad("note")),
    case("operator_cannot_close_invalid", "pending",
         lambda c: svc.close(c.t, c.w.operator, c.v, Closure.INVALID, "无效"), ROLE),
    case("callback_agent_cannot_close_invalid", "pending",
         lambda c: svc.close(c.t, c.w.callback_agent, c.v, Closure.INVALID, "无效"), ROLE),
    case("stale_version", "pending",
         lambda c: svc.close(c.t, c.w.dispatcher, c.v - 1, Closure.INVALID, "无效"), STALE),
    case("dispatched_ticket", "dispatched",
         lambda c: svc.close(c.t, c.w.dispatcher, c.v, Closure.INVALID, "无效"), STATE),
    case("replied_ticket", "replied",
         lambda c: svc.close(c.t, c.w.dispatcher, c.v, Closure.INVALID, "无效"), STATE),
    case("already_closed", "invalid",
         lambda c: svc.close(c.t, c.w.dispatcher, c.v, Closure.INVALID, "无效"), STATE),
    case("satisfied_is_not_a_manual_closure", "reviewed",
         lambda c: svc.close(c.t, c.w.callback_agent, c.v, Closure.SATISFIED, "满意"), bad("closure")),
    case("merged_is_not_a_manual_closure", "pending",
         lambda c: svc.close(c.t, c.w.dispatcher, c.v, "merged", "并单"), bad("closure")),
    case("unknown_closure", "pending",
         lambda c: svc.close(c.t, c.w.dispatcher, c.v, "vanished", "无效"), bad("closure")),
]


@pytest.mark.parametrize("situation, call, expect", CLOSE_INVALID_REFUSALS)
def test_illegal_close_is_refused_and_changes_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused(c.t, lambda: call(c), expect)


def test_confidential_ticket_goes_through_the_same_lifecycle(world):
    t = world.reviewed(confidential=True)
    svc.record_callback(t.id, world.callback_agent, t.version, reached=True, resolution="resolved",
                        satisfaction="satisfied")
    snap = snapshot(t.id)
    assert snap["ticket"]["confidential"] is True
    assert snap["ticket"]["state"] is TicketState.CLOSED
    assert [e["action"] for e in snap["events"]] == [
        EventAction.RECORD, EventAction.DISPATCH, EventAction.SIGN, EventAction.REPLY,
        EventAction.REVIEW_ACCEPT, EventAction.CALLBACK]
