"""Rules pinned before the package is restructured: the leader-instruction gate at the
service level, the supervision level cap, the escalation reset on an approved extension,
exact boundaries of the deadline and escalation clocks, and the ranking's
satisfaction-rate denominator. Each test fails if the rule it names is removed."""
from fractions import Fraction
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from hotline.enums import EventAction, Satisfaction, TicketState
from hotline.scheduler import jobs
from hotline.scheduler.models import Escalation
from hotline.supervision.models import SupervisionCase
from tests import svc as esc
from hotline.deadlines.services import WorkCalendar, calendar, forget_calendar
from hotline.extensions import db
from hotline.reports.definitions import Definitions
from hotline.reports.rates import as_fraction, unit_ranking
from tests import svc
from hotline.tickets.models import Assignment, Ticket, TicketEvent
from tests.conftest import count
from tests.factories import at
from tests.test_transitions_support import (EXTENDED_TO, HANDLE_DUE, NOW, REPLY_TEXT, applied, assignment_of,
                                            code, make, refused, version)

MONDAY = datetime(2026, 11, 23)  # conftest's START is this Monday, 09:30


def fresh(tid) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, tid)


def lead(tid) -> Assignment:
    return fresh(tid).lead_assignment


def open_case(tid) -> SupervisionCase:
    db.session.expire_all()
    return db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.ticket_id == tid)
                              .order_by(SupervisionCase.id.desc())).first()


def case_levels(tid) -> list[int]:
    db.session.expire_all()
    return db.session.scalars(sa.select(SupervisionCase.level).where(SupervisionCase.ticket_id == tid)
                              .order_by(SupervisionCase.id)).all()


def unsatisfied_round(w, tid):
    """The unit replies, the dispatcher accepts, the citizen is 不满意 (a reasonable
    request): the same ticket reopens to the same lead unit."""
    svc.reply(tid, w.district_staff, version(tid), "再次处理。")
    svc.review(tid, w.dispatcher, version(tid), accept=True)
    svc.act("signoff_approve", tid, w.leader, version(tid), words="同意")  # 领导签批
    svc.record_callback(tid, w.callback_agent, version(tid), reached=True, resolution="unresolved",
                        satisfaction=Satisfaction.UNSATISFIED, citizen_words="还是没修好")
    assert fresh(tid).state is TicketState.REOPENED


def reopened_with_instruction(w):
    c = make(w, "reopened")
    case = open_case(c.t)
    esc.give_instruction(case.id, w.supervisor, "请区政府主要负责同志亲自督办")
    return c, case


# --- the leader-instruction gate at the service level ---------------------------------
GATED = {
    "reply": lambda c: svc.reply(c.t, c.w.district_staff, c.v, REPLY_TEXT),
    "hand_down": lambda c: svc.hand_down(c.t, c.w.district_staff, c.v, c.w.street.id, note="请街道核实"),
    "request_extension": lambda c: svc.request_extension(
        c.t, c.w.district_staff, c.v, lead(c.t).handle_due_at + timedelta(days=1), "需协调电梯厂家"),
}


@pytest.mark.parametrize("action", list(GATED))
def test_unread_leader_instruction_blocks_the_lead_unit_until_acknowledged(world, action):
    c, case = reopened_with_instruction(world)
    call = GATED[action]
    before = fresh(c.t)
    v, state, n_events = before.version, before.state, count(TicketEvent, TicketEvent.ticket_id == c.t)
    refused(c.t, lambda: call(c), code("INSTRUCTION_UNREAD"))
    after = fresh(c.t)
    assert (after.version, after.state) == (v, state) == (v, TicketState.REOPENED)
    assert count(TicketEvent, TicketEvent.ticket_id == c.t) == n_events
    esc.acknowledge_instruction(case.id, world.district_staff)
    r = applied(c.t, lambda: call(c))
    expected = {"reply": EventAction.REPLY, "hand_down": EventAction.HAND_DOWN,
                "request_extension": EventAction.REQUEST_EXTENSION}[action]
    assert r.event["action"] is expected


def test_a_new_instruction_after_an_acknowledged_one_blocks_again(world):
    c, case = reopened_with_instruction(world)
    esc.acknowledge_instruction(case.id, world.district_staff)
    esc.give_instruction(case.id, world.supervisor, "再次批示：本周内必须修复")
    refused(c.t, lambda: GATED["reply"](c), code("INSTRUCTION_UNREAD"))


# --- the supervision case's level cap ---------------------------------------------------
@pytest.mark.parametrize("rounds,expected", [(1, 1), (2, 2), (3, 3), (4, 3)])
def test_repeated_unsatisfied_raises_the_case_at_most_to_level_3(world, rounds, expected):
    t = world.reviewed()
    svc.record_callback(t.id, world.callback_agent, version(t.id), reached=True, resolution="unresolved",
                        satisfaction=Satisfaction.UNSATISFIED)  # reasonable: reopens at once (case level 1)
    for _ in range(rounds - 1):
        unsatisfied_round(world, t.id)
    assert case_levels(t.id) == [expected]  # one case, raised in place
    assert fresh(t.id).reopen_count == rounds
    assert count(Escalation, Escalation.subject == "case", Escalation.reason == "unsatisfied_again") == expected - 1


def test_escalation_job_never_raises_a_level_3_case_further(world):
    t = world.reviewed()
    svc.record_callback(t.id, world.callback_agent, version(t.id), reached=True, resolution="unresolved",
                        satisfaction=Satisfaction.UNSATISFIED)
    unsatisfied_round(world, t.id)
    unsatisfied_round(world, t.id)
    case = open_case(t.id)
    assert case.level == 3 and fresh(t.id).state is TicketState.REOPENED
    due = case.due_at
    for moment in (due + timedelta(hours=1), due + timedelta(days=7), due + timedelta(days=30),
                   due + timedelta(days=90)):
        at(moment)
        jobs.escalation()
        jobs.escalation()
        assert case_levels(t.id) == [3]
    assert count(Escalation, Escalation.subject == "case", Escalation.reason == "supervision_overdue") == 0
    levels = db.session.scalars(sa.select(Escalation.level)).all()
    assert max(levels) == 3
    assert lead(t.id).escalation_level == 3


def test_escalation_job_takes_a_level_1_case_to_3_and_no_further(world):
    t = world.reviewed()
    svc.record_callback(t.id, world.callback_agent, version(t.id), reached=True, resolution="unresolved",
                        satisfaction=Satisfaction.UNSATISFIED)
    case = open_case(t.id)
    assert case.level == 1
    due = case.due_at
    seen = []
    for moment in (due + timedelta(seconds=1), due + timedelta(days=7), due + timedelta(days=30),
                   due + timedelta(days=60), due + timedelta(days=120)):
        at(moment)
        for _ in range(3):
            jobs.escalation()
        seen.append(case_levels(t.id)[0])
    assert seen == [2, 3, 3, 3, 3]
    assert db.session.scalars(sa.select(Escalation.level).where(Escalation.subject == "case")
                              .order_by(Escalation.level)).all() == [2, 3]
    assert max(db.session.scalars(sa.select(Escalation.level))) == 3
    assert lead(t.id).escalation_level == 3


def test_escalation_job_never_raises_an_assignment_beyond_level_3(world):
    t = world.signed()
    due = lead(t.id).handle_due_at
    for days in (0, 3, 5, 10, 30, 100):
        at(due + timedelta(days=days, minutes=1))
        jobs.escalation()
        jobs.escalation()
        assert lead(t.id).escalation_level <= 3
    assert lead(t.id).escalation_level == 3
    assert db.session.scalars(sa.select(Escalation.level).order_by(Escalation.level)).all() == [2, 3]


# --- an approved extension resets escalation ------------------------------------------
def _overdue_and_escalated_with_a_pending_extension(world):
    c = make(world, "signed")
    at(HANDLE_DUE - timedelta(hours=1))
    req = svc.request_extension(c.t, world.district_staff, c.v, EXTENDED_TO, "需协调电梯厂家更换配件")
    at(HANDLE_DUE + timedelta(minutes=1))
    jobs.deadline_watch()
    jobs.escalation()
    a = lead(c.t)
    assert a.escalation_level == 2 and a.handle_overdue_at == HANDLE_DUE + timedelta(minutes=1)
    return c, req


def test_approved_extension_into_the_future_resets_escalation_and_overdue_mark(world):
    c, req = _overdue_and_escalated_with_a_pending_extension(world)
    at(HANDLE_DUE + timedelta(hours=2))
    svc.approve_extension(c.t, world.dispatcher, c.v, req.id, "同意")
    a = lead(c.t)
    assert a.handle_due_at == EXTENDED_TO
    assert a.escalation_level == 1 and a.handle_overdue_at is None
    # escalation starts over from the new deadline
    at(EXTENDED_TO - timedelta(minutes=1))
    jobs.escalation()
    assert lead(c.t).escalation_level == 1
    at(EXTENDED_TO + timedelta(minutes=1))
    jobs.escalation()
    assert lead(c.t).escalation_level == 2


def test_approved_extension_already_past_keeps_escalation_and_overdue_mark(world):
    c, req = _overdue_and_escalated_with_a_pending_extension(world)
    at(EXTENDED_TO)  # the new deadline is now, not in the future
    svc.approve_extension(c.t, world.dispatcher, c.v, req.id, "同意")
    a = lead(c.t)
    assert a.handle_due_at == EXTENDED_TO
    assert a.escalation_level == 2 and a.handle_overdue_at == HANDLE_DUE + timedelta(minutes=1)


# --- boundaries -----------------------------------------------------------------------
def test_lead_reply_waits_for_a_co_unit_up_to_and_including_its_due_moment(world):
    c = make(world, "signed_co")
    co_due = assignment_of(c.t, world.housing).handle_due_at
    assert co_due == datetime(2026, 11, 27, 9, 30)  # 1 working day before the lead's (co_unit_days_before_lead)
    at(co_due - timedelta(seconds=1))
    refused(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT), code("CO_UNITS_PENDING"))
    at(co_due)
    refused(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT), code("CO_UNITS_PENDING"))
    at(co_due + timedelta(seconds=1))
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT))
    assert r.ticket["state"] is TicketState.REPLIED
    assert r.event["payload"]["co_pending"] == [world.housing.name]


def test_lead_reply_does_not_wait_for_a_co_unit_that_has_replied(world):
    c = make(world, "co_signed")
    svc.reply(c.t, world.housing_staff, c.v, "已处理")
    r = applied(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT))
    assert r.event["payload"]["co_replied"] == [world.housing.name]


def test_dispatch_at_exactly_18_00_counts_from_the_next_opening(world):
    start = at(datetime(2026, 11, 23, 18, 0))  # Monday, the end of the working day
    t = world.dispatched(request_type="help")
    a = t.lead_assignment
    assert a.dispatched_at == start and a.handle_started_at == start
    assert a.sign_due_at == datetime(2026, 11, 25, 9, 0)     # Tue 09:00 + 1 working day
    assert a.return_due_at == datetime(2026, 11, 26, 9, 0)   # + 2 working days
    assert a.handle_due_at == datetime(2026, 12, 1, 9, 0)    # + 5 working days (over the weekend)
    assert a.handle_due_original_at == a.handle_due_at
    assert a.sign_warn_at == start + (a.sign_due_at - start) * 0.8
    assert a.handle_warn_at == start + (a.handle_due_at - start) * 0.8
    assert a.calendar_confirmed is True


def test_dispatch_one_minute_before_18_00_counts_from_the_dispatch(world):
    start = at(datetime(2026, 11, 23, 17, 59))
    a = world.dispatched(request_type="help").lead_assignment
    assert a.sign_due_at == datetime(2026, 11, 24, 17, 59)
    assert a.handle_due_at == datetime(2026, 11, 30, 17, 59)
    assert a.dispatched_at == start


def test_dispatch_at_exactly_09_00_counts_from_then(world):
    at(datetime(2026, 11, 24, 9, 0))
    a = world.dispatched(request_type="help").lead_assignment
    assert a.sign_due_at == datetime(2026, 11, 25, 9, 0)
    assert a.handle_due_at == datetime(2026, 12, 1, 9, 0)


def _cal() -> WorkCalendar:
    forget_calendar()
    return calendar()


@pytest.mark.parametrize("start,end,expected", [
    (datetime(2026, 11, 23, 10), datetime(2026, 11, 30, 10), 5),                 # Mon to Mon: exactly 5
    (datetime(2026, 11, 23, 10), datetime(2026, 11, 30, 9, 59, 59), 4),          # one second short
    (datetime(2026, 11, 23, 10), datetime(2026, 11, 24, 10), 1),                 # exactly 1
    (datetime(2026, 11, 23, 10), datetime(2026, 11, 24, 9, 59, 59), 0),
    (datetime(2026, 11, 27, 10), datetime(2026, 11, 30, 10), 1),                 # Fri to Mon: 1
    (datetime(2026, 11, 23, 10), datetime(2026, 11, 23, 10), 0),                 # no time at all
    (datetime(2026, 9, 30, 10), datetime(2026, 10, 10, 10), 3),                  # 8, 9, 10 (make-up Sat) Oct
    (datetime(2026, 11, 23, 10), datetime(2026, 12, 7, 10), 10),
])
def test_working_days_between_exact_counts(app, start, end, expected):
    assert _cal().working_days_between(start, end) == expected


def test_working_days_between_matches_add_working_days(app):
    c = _cal()
    start = datetime(2026, 11, 23, 10)
    for n in range(0, 12):
        due = c.add_working_days(start, n).at
        assert c.working_days_between(start, due) == n
        assert c.working_days_between(start, due - timedelta(seconds=1)) == max(n - 1, 0)


def test_reply_records_whole_working_days_since_dispatch(world):
    c = make(world, "signed")
    at(NOW + timedelta(days=7))  # Mon to Mon: 5 working days exactly
    svc.reply(c.t, world.district_staff, c.v, REPLY_TEXT)
    assert lead(c.t).reply_working_days == 5


def test_first_escalation_only_after_the_due_moment(world):
    c = make(world, "signed")
    at(HANDLE_DUE)
    assert jobs.escalation() == {"level_2": 0, "level_3": 0}
    at(HANDLE_DUE + timedelta(seconds=1))
    assert jobs.escalation() == {"level_2": 1, "level_3": 0}
    assert lead(c.t).escalation_level == 2


def test_re_escalation_at_exactly_3_working_days_overdue_not_before(world, app):
    assert app.config["ESCALATE_AGAIN_AFTER_WORKING_DAYS"] == 3
    c = make(world, "signed")  # handle due Mon 30 Nov 09:30
    at(HANDLE_DUE + timedelta(minutes=1))
    assert jobs.escalation()["level_2"] == 1
    at(datetime(2026, 12, 2, 9, 30))  # 2 working days overdue
    assert jobs.escalation() == {"level_2": 0, "level_3": 0}
    at(datetime(2026, 12, 3, 9, 29, 59))  # one second short of 3 working days
    assert jobs.escalation() == {"level_2": 0, "level_3": 0}
    assert lead(c.t).escalation_level == 2
    at(datetime(2026, 12, 3, 9, 30))  # exactly 3 working days overdue
    assert jobs.escalation() == {"level_2": 0, "level_3": 1}
    assert lead(c.t).escalation_level == 3
    at(datetime(2026, 12, 4, 9, 30))  # 4 working days: nothing further
    assert jobs.escalation() == {"level_2": 0, "level_3": 0}


def test_re_escalation_counts_working_days_over_a_weekend(world):
    at(datetime(2026, 11, 19, 9, 30))  # Thursday: help, 5 working days, due Thu 26 Nov 09:30
    t = world.signed(request_type="help")
    assert lead(t.id).handle_due_at == datetime(2026, 11, 26, 9, 30)
    at(datetime(2026, 11, 26, 9, 31))
    assert jobs.escalation()["level_2"] == 1
    at(datetime(2026, 11, 30, 9, 30))  # Fri, Mon: 2 working days (the weekend does not count)
    assert jobs.escalation()["level_3"] == 0
    at(datetime(2026, 12, 1, 9, 30))  # Tue: exactly 3 working days
    assert jobs.escalation()["level_3"] == 1


# --- the ranking's satisfaction-rate denominator ------------------------------------
def _callback(w, tid, **kw):
    return svc.record_callback(tid, w.callback_agent, version(tid), **kw)


def test_satisfaction_rate_is_over_reached_counted_callbacks_not_closed_tickets(world):
    w = world
    # T1: two failed attempts, then reached and satisfied -> closed; 1 reached callback
    t1 = w.reviewed().id
    _callback(w, t1, reached=False)
    _callback(w, t1, reached=False)
    _callback(w, t1, reached=True, resolution="resolved", satisfaction="satisfied")
    # T2: three failed attempts, closed as 未联系上 -> closed, no reached callback
    t2 = w.reviewed().id
    for _ in range(3):
        _callback(w, t2, reached=False)
    svc.close(t2, w.callback_agent, version(t2), "unreachable")
    # T3: 不满意 (reasonable) reopens; second round 基本满意 -> closed; 2 reached callbacks
    t3 = w.reviewed().id
    _callback(w, t3, reached=True, resolution="unresolved", satisfaction="unsatisfied")
    svc.reply(t3, w.district_staff, version(t3), "再次处理。")
    svc.review(t3, w.dispatcher, version(t3), accept=True)
    svc.act("signoff_approve", t3, w.leader, version(t3), words="同意")  # 领导签批
    _callback(w, t3, reached=True, resolution="resolved", satisfaction="basically")
    # T4: 不满意 flagged unreasonable, still waiting for the supervisor -> not counted
    t4 = w.reviewed().id
    _callback(w, t4, reached=True, resolution="unresolved", satisfaction="unsatisfied", request_reasonable=False)
    # T5: 不满意 flagged unreasonable and confirmed -> closed (诉求不合理), callback excluded
    t5 = w.reviewed().id
    _callback(w, t5, reached=True, resolution="unresolved", satisfaction="unsatisfied", request_reasonable=False)
    svc.confirm_unreasonable(t5, w.supervisor, version(t5), "诉求超出政策范围")
    assert [fresh(t).state for t in (t1, t2, t3, t4, t5)] == [
        TicketState.CLOSED, TicketState.CLOSED, TicketState.CLOSED, TicketState.UNSATISFIED, TicketState.CLOSED]

    at(datetime(2026, 11, 30, 8, 0))
    data = unit_ranking(date(2026, 11, 23), date(2026, 11, 29), level=2)
    d = next(r for r in data["rows"] if r["unit"] == world.district.name)
    counts, rates = d["counts"], d["rates"]
    assert counts["closed"] == 4                 # T1, T2, T3, T5
    # per ticket, its final counted callback of the period (the default definition):
    # T1 满意, T3 基本满意 (its first, 不满意, is superseded); not T4 (pending) nor T5 (excluded)
    assert counts["callbacks_reached"] == 2
    assert (counts["satisfied"], counts["basically"], counts["unsatisfied"]) == (1, 1, 0)
    assert counts["resolved"] == 2
    assert counts["reopened"] == 1
    assert counts["pending_decision"] == 1       # T4 waits for the supervisor, shown apart
    assert as_fraction(rates["satisfaction_rate"]) == 1  # (1 + 1) / 2 with 基本满意 weighted 1
    assert as_fraction(rates["resolution_rate"]) == 1
    assert as_fraction(rates["reopen_rate"]) == Fraction(1, 2)
    # the first callback instead, and 基本满意 weighted 0.8: admin settings, read by the same code
    first = unit_ranking(date(2026, 11, 23), date(2026, 11, 29), level=2,
                         defs=Definitions(callback_pick="first", basic_weight="0.8"))
    d1 = next(r for r in first["rows"] if r["unit"] == world.district.name)
    assert (d1["counts"]["satisfied"], d1["counts"]["unsatisfied"]) == (1, 1)  # T1 满意, T3 不满意
    assert as_fraction(d1["rates"]["satisfaction_rate"]) == Fraction(1, 2)
    assert "0.8 × 基本满意" in first["formulas"]["satisfaction_rate"]
    # the rate's formula as the page states it
    sat = next(r for r in data["rates"] if r.key == "satisfaction_rate")
    assert (sat.num, sat.den) == (("satisfied", "basically"), "callbacks_reached")


def test_satisfaction_rate_counts_a_decided_unreasonable_callback_once_counted(world):
    w = world
    t = w.reviewed().id
    _callback(w, t, reached=True, resolution="unresolved", satisfaction="unsatisfied", request_reasonable=False)
    t_ok = w.reviewed().id
    _callback(w, t_ok, reached=True, resolution="resolved", satisfaction="satisfied")
    day = date(2026, 11, 23)
    d = next(r for r in unit_ranking(day, day)["rows"] if r["unit"] == world.district.name)
    assert (d["counts"]["callbacks_reached"], as_fraction(d["rates"]["satisfaction_rate"])) == (1, 1)
    svc.reopen(t, w.supervisor, version(t), "裁定计入")
    d = next(r for r in unit_ranking(day, day)["rows"] if r["unit"] == world.district.name)
    assert (d["counts"]["callbacks_reached"], as_fraction(d["rates"]["satisfaction_rate"])) == (2, Fraction(1, 2))
