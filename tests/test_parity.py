"""Parity of the lifecycle registry: an action is offered ⇔ performing it succeeds.

For every situation a ticket can be in (every state, plus the gates: instruction unread,
co-unit pending, return window passed, extension pending, three failed callbacks, an
open supervision case ...), every user of the test city (each centre role; unit staff of
the lead unit, of a unit above it, below it, of a co-unit and of an unrelated unit) and
every registered action:

- offered: `available_actions` lists it (the ticket page's buttons and the API's
  available actions come from there);
- performed with valid input it succeeds (inside a savepoint, rolled back) exactly when it
  is offered; when it is refused, the refusal goes through a real unit of work and the
  database is exactly as before;
- the ticket page shows exactly the offered actions' buttons.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from hotline.clock import clock
from hotline.enums import Role, Satisfaction, TicketState
from hotline.lifecycle import REGISTRY, available_actions
from hotline.supervision.queries import open_case_for
from tests import svc
from tests.factories import at
from tests.parity import _fresh, check_parity
from tests.test_pages import login
from tests.test_transitions_support import HANDLE_DUE, RETURN_DUE, SITUATIONS, Ctx, make

# --- situations beyond the transition tests' catalogue ----------------------------------
def _instruction_unread(w):
    c = make(w, "reopened")
    svc.give_instruction(open_case_for(c.t).id, w.supervisor, "请主要负责同志亲自督办")
    return c


def _instruction_read(w):
    c = _instruction_unread(w)
    svc.acknowledge_instruction(open_case_for(c.t).id, w.district_staff)
    return c


def _re_replied(w):
    """Reopened and replied again: the case is open, the ticket waits for review."""
    c = make(w, "reopened")
    svc.reply(c.t, w.district_staff, c.v, "已彻底修复")
    return c


def _closed_under_supervision(w):
    c = _re_replied(w)
    svc.review(c.t, w.dispatcher, c.v, True)
    svc.act("signoff_approve", c.t, w.leader, c.v, words="同意，请回访核实")
    svc.record_callback(c.t, w.callback_agent, c.v, True, resolution="resolved",
                        satisfaction=Satisfaction.SATISFIED)
    return c


def _callbacks_failed(w):
    c = make(w, "reviewed")
    for _ in range(3):
        svc.record_callback(c.t, w.callback_agent, c.v, False, note="无人接听")
    return c


def _callback_failed_once(w):
    c = make(w, "reviewed")
    svc.record_callback(c.t, w.callback_agent, c.v, False, note="无人接听")
    return c


def _co_replied(w):
    """The co-unit replied; the lead may now consolidate and reply."""
    c = make(w, "co_signed")
    svc.reply(c.t, w.housing_staff, c.v, "住建局意见：已督促维保单位", assignment_id=c.co)
    return c


def _co_overdue(w):
    """The co-unit is past its deadline: it no longer holds the lead's reply."""
    c = make(w, "co_signed")
    at(HANDLE_DUE + timedelta(seconds=1))
    return c


def _return_window_passed(w):
    c = make(w, "signed")
    at(RETURN_DUE + timedelta(seconds=1))
    return c


def _handle_overdue(w):
    c = make(w, "signed")
    at(HANDLE_DUE + timedelta(hours=1))
    return c


def _handed_down_to_community(w):
    c = make(w, "handed_down")
    svc.hand_down(c.t, w.street_staff, c.v, w.community.id, note="请社区核实")
    return c


EXTRA = {
    "instruction_unread": _instruction_unread,
    "instruction_read": _instruction_read,
    "re_replied": _re_replied,
    "closed_under_supervision": _closed_under_supervision,
    "callbacks_failed": _callbacks_failed,
    "callback_failed_once": _callback_failed_once,
    "co_replied": _co_replied,
    "co_overdue": _co_overdue,
    "return_window_passed": _return_window_passed,
    "handle_overdue": _handle_overdue,
    "handed_down_to_community": _handed_down_to_community,
}
ALL = {**SITUATIONS, **EXTRA}


@pytest.mark.parametrize("situation", sorted(ALL))
def test_offered_exactly_when_performing_succeeds(app, world, situation):
    master_id = world.record(caller_phone="13700003333").id
    c: Ctx = ALL[situation](world)
    check_parity(world, c.t, master_id)


PAGE_USERS = {"operator": "operator", "dispatcher": "dispatcher", "callback_agent": "callback",
              "supervisor": "supervisor", "district_staff": "d1staff", "street_staff": "s1staff",
              "housing_staff": "housing", "other_staff": "d2staff"}


@pytest.mark.parametrize("situation", ["pending", "dispatched_co", "signed_co", "co_replied", "returned",
                                       "co_returned", "extension_pending", "handed_down", "replied", "reviewed",
                                       "callbacks_failed", "unsatisfied", "instruction_unread",
                                       "return_window_passed"])
def test_ticket_page_buttons_are_the_offered_actions(app, world, client, situation):
    c: Ctx = ALL[situation](world)
    now = clock.now()
    for attr, username in PAGE_USERS.items():
        user = getattr(world, attr)
        offered = {k for k in available_actions(_fresh(c.t), user, now) if not REGISTRY[k].on_case}
        visitor = app.test_client()
        login(visitor, username)
        resp = visitor.get(f"/tickets/{c.t}")
        if resp.status_code != 200:  # not the user's to see: nothing may be offered either
            assert resp.status_code in (403, 404) and not offered, (attr, resp.status_code, offered)
            continue
        shown = set(re.findall(r'id="action-([a-z_]+)"', resp.get_data(as_text=True))) & set(REGISTRY)
        assert shown == offered, (attr, situation, shown, offered)


def test_dispatcher_is_not_offered_reopen_that_only_a_supervisor_may_do(app, world):
    """The drift this registry removed: 重办 of a flagged 不满意 is the supervisor's."""
    c = make(world, "unsatisfied")
    ticket = _fresh(c.t)
    assert ticket.state is TicketState.UNSATISFIED
    assert "reopen" not in available_actions(ticket, world.dispatcher)
    assert {"reopen", "confirm_unreasonable"} <= set(available_actions(ticket, world.supervisor))
    assert REGISTRY["reopen"].roles == (Role.SUPERVISOR,)
