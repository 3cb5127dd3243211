"""The parity check of the lifecycle registry, for any situation a test builds:
an action is offered (available_actions) exactly when performing it with valid input
succeeds, and a refused action changes nothing. tests/test_parity.py runs it over every
situation of the core loop; the tests of each process step run it over theirs, and add
valid input for their actions to VALID_INPUT."""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

import pytest

from hotline.clock import clock
from hotline.enums import ReturnReason
from hotline.errors import DomainError
from hotline.extensions import db
from hotline.handling.operations import hand_down_options
from hotline.lifecycle import REGISTRY, available_actions, perform, unit_of_work
from hotline.tickets.models import Ticket
from tests.test_transitions_support import HANDLE_DUE, snapshot

USERS = ("operator", "dispatcher", "callback_agent", "supervisor", "manager", "admin", "leader", "district_staff",
         "street_staff", "community_staff", "housing_staff", "water_staff", "other_staff")

def draft_of(ticket: Ticket) -> dict:
    """The ticket's recorded fields as the edit form sends them."""
    return dict(channel=ticket.channel.value, request_type=ticket.request_type.value,
                category_id=ticket.category_id, urgency=ticket.urgency.value, anonymous=ticket.anonymous,
                caller_name=ticket.caller_name, caller_phone=ticket.caller_phone, confidential=ticket.confidential,
                address=ticket.address, district_id=ticket.district_id, title=ticket.title, content=ticket.content)


def _soon() -> object:
    return clock.now().date() + timedelta(days=10)


#: key -> function(world, ticket, target, user, master_id) -> valid input, for the process
#: steps' actions (the core loop's are in valid_input below). A new action adds its line.
VALID_INPUT: dict[str, Callable] = {
    # intake cases
    "refuse_intake": lambda w, ticket, target, user, m: {"reason": "litigation"},
    "transfer": lambda w, ticket, target, user, m: {"line": "120"},
    "send_back": lambda w, ticket, target, user, m: {"note": "事发地址记录不全，请补充"},
    "edit": lambda w, ticket, target, user, m: {**draft_of(ticket), "title": ticket.title + "（已更正）"},
    "withdraw": lambda w, ticket, target, user, m: {"note": "诉求人表示问题已自行解决"},
    # handling: suspension, termination; dispatch: coordination, merge, split
    "request_suspension": lambda w, ticket, target, user, m: {"reason": "市民出国，需待其回国后现场核实",
                                                              "expected_resume_on": _soon()},
    "decide_suspension": lambda w, ticket, target, user, m: {"decision": "approve", "note": "同意"},
    "resume": lambda w, ticket, target, user, m: {"note": "市民已回国"},
    "request_termination": lambda w, ticket, target, user, m: {"reason": "诉求对象已注销，无法办理"},
    "decide_termination": lambda w, ticket, target, user, m: {"decision": "approve"},
    "coordinate": lambda w, ticket, target, user, m: {"unit_id": w.water.id, "note": "由自来水公司办理"},
    "merge_dispatched": lambda w, ticket, target, user, m: {"note": "同一诉求"},
    "split": lambda w, ticket, target, user, m: {"title": "小区供水水压不足", "content": "3号楼供水水压不足",
                                                 "category_id": w.category.id, "lead_unit_id": w.water.id},
    # leader sign-off
    "signoff_approve": lambda w, ticket, target, user, m: {"words": "同意"},
    "signoff_return": lambda w, ticket, target, user, m: {"words": "请再核实"},
    # supervision on any ticket, 甄别
    "open_case": lambda w, ticket, target, user, m: {"reason": "leader_assigned", "level": "1",
                                                     "note": "领导交办：限期解决电梯停运问题"},
    "urge_case": lambda w, ticket, target, user, m: {"note": "请抓紧办理并报送进展"},
    "dispute": lambda w, ticket, target, user, m: {"reason": "市民要求超出政策范围，已依规解释",
                                                   "evidence": "《电梯维修资金管理办法》第八条；通话录音"},
    "decide_dispute": lambda w, ticket, target, user, m: {"decision": "uphold", "note": "理由成立"},
}


# --- valid input for each action ---------------------------------------------------------
def _free_unit(w, ticket):
    taken = {a.unit_id for a in ticket.active_assignments()}
    return next(u for u in (w.water, w.other_district, w.housing, w.district) if u.id not in taken)


#: The core loop's actions, whose valid input valid_input() builds itself.
CORE_INPUT = {"answer", "dispatch", "redispatch", "overrule", "close", "reopen", "confirm_unreasonable",
              "accept_case", "close_unreachable", "merge", "hand_down", "return", "extension", "decide_extension",
              "reply", "review", "callback", "progress", "instruction", "sign", "ack_instruction"}


def valid_input(key, w, ticket, target, user, master_id) -> dict:
    if key in VALID_INPUT:
        return VALID_INPUT[key](w, ticket, target, user, master_id)
    if key == "answer":
        return {"answer": "已告知市民办理流程。"}
    if key == "dispatch":
        return {"lead_unit_id": w.district.id, "co_unit_ids": []}
    if key == "redispatch":
        if target is not None and target.assignment_id and ticket.lead_assignment is not None \
                and ticket.lead_assignment.id != target.assignment_id:
            return {"co_unit_ids": [_free_unit(w, ticket).id], "note": "改派协办"}
        return {"lead_unit_id": w.housing.id, "co_unit_ids": [], "note": "改派住建"}
    if key in ("overrule", "close", "reopen", "confirm_unreasonable", "accept_case", "close_unreachable"):
        return {"note": "经核实"}
    if key == "merge":
        return {"into_ticket_id": master_id}
    if key == "hand_down":
        options = hand_down_options(target, user) if target is not None else []
        return {"sub_unit_id": options[0].id if options else 0}
    if key == "return":
        return {"reason": ReturnReason.NOT_OUR_DUTY.value, "reason_text": "不属本单位职责"}
    if key == "extension":
        due = target.handle_due_at if target is not None else HANDLE_DUE
        return {"requested_due_at": due + timedelta(hours=1), "reason": "需协调厂家"}
    if key == "decide_extension":
        return {"decision": "approve", "note": "同意"}
    if key == "reply":
        return {"result": "已办理完毕"}
    if key == "review":
        return {"decision": "accept"}
    if key == "callback":
        return {"reached": True, "resolution": "resolved", "satisfaction": "satisfied"}
    if key in ("progress", "instruction"):
        return {"text": "本周进展与批示"}
    return {}


def _target_for(key, ticket, user):
    try:
        candidates = REGISTRY[key].targets(ticket, user, None)
    except DomainError:
        return None
    return candidates[0] if candidates else None


def _fresh(tid) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, tid)


def _try(key, tid, user, data) -> DomainError | None:
    """Perform inside a savepoint that is rolled back: None when it succeeded."""
    ticket = _fresh(tid)
    savepoint = db.session.begin_nested()
    try:
        perform(key, tid, user, ticket.version, **data)
        return None
    except DomainError as err:
        return err
    finally:
        savepoint.rollback()
        db.session.expire_all()


def check_parity(world, ticket_id: int, master_id: int, users=USERS) -> None:
    """Every user x every registered action on this ticket: offered iff it succeeds."""
    known = set(VALID_INPUT) | CORE_INPUT
    assert set(REGISTRY) <= known, f"no valid input for {sorted(set(REGISTRY) - known)}: add it to VALID_INPUT"
    mismatches = []
    for name in users:
        user = getattr(world, name, None)
        if user is None:
            continue
        offered = available_actions(_fresh(ticket_id), user)
        for key in REGISTRY:
            ticket = _fresh(ticket_id)
            target = offered.get(key, _target_for(key, ticket, user))
            data = valid_input(key, world, ticket, target, user, master_id)
            err = _try(key, ticket_id, user, data)
            if (key in offered) != (err is None):
                mismatches.append(f"{name} {key}: offered={key in offered} "
                                  f"refused={err.code + ' ' + err.message if err else None}")
            if err is not None and user.has_role(*REGISTRY[key].roles):
                before = snapshot(ticket_id)
                with pytest.raises(DomainError):
                    with unit_of_work():
                        perform(key, ticket_id, user, _fresh(ticket_id).version, **data)
                assert snapshot(ticket_id) == before, f"refused {key} by {name} changed the database"
    assert not mismatches, "\n".join(mismatches)
