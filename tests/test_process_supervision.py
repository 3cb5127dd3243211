"""督办 on any ticket: 立督办单 (open_case) with its 督办编号, the centre's 催办 (urge_case)
raising the case on the second and third urging, and 甄别 (dispute / decide_dispute)
taking an unfair 不满意 out of the unit's figures."""
from __future__ import annotations

import re
from fractions import Fraction
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from hotline.callbacks.models import Callback
from hotline.deadlines.services import calendar
from hotline.enums import (EventAction, NotificationKind, RequestState, Satisfaction, SupervisionReason,
                           SupervisionState, SupervisorDecision, TicketState)
from hotline.extensions import db
from hotline.lifecycle import available_actions
from hotline.notifications.models import Notification
from hotline.reports.rates import as_fraction, unit_ranking
from hotline.scheduler import jobs
from hotline.scheduler.models import Escalation
from hotline.supervision.models import Dispute, SupervisionCase, SupervisionUrge
from hotline.supervision.queries import open_case_for
from hotline.supervision.codes import next_case_code
from tests import svc
from tests.factories import at
from tests.parity import VALID_INPUT, check_parity
from tests.test_pages import csrf_token, login
from tests.test_transitions_support import (NOW, ROLE, STALE, STATE, UNIT, Ctx, applied, code, fresh_ticket, make,
                                            refused)
from tests.test_transitions_support import invalid as bad


# Parity asks every registered action of the other process steps too: their valid input
# is registered by their test modules, imported here when this module runs alone.

#: The default case deadline of a case opened at NOW (SUPERVISION_DUE_WORKING_DAYS = 10).
DEFAULT_DUE = datetime(2026, 12, 7, 9, 30)


# --- helpers ---------------------------------------------------------------------------------
def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def mine(ticket_id) -> dict:
    """The rows of this step the core snapshot does not list."""
    db.session.expire_all()
    return {name: [dict(r) for r in db.session.execute(sa.select(model.__table__).where(
        model.__table__.c.ticket_id == ticket_id).order_by(model.__table__.c.id)).mappings()]
        for name, model in (("urges", SupervisionUrge), ("disputes", Dispute), ("notes", Notification))}


def refused_all(ticket_id, call, expect):
    before = mine(ticket_id)
    err = refused(ticket_id, call, expect)
    assert mine(ticket_id) == before, "a refused action changed this step's rows"
    return err


def open_case(c, who=None, **over):
    data = {"reason": "overdue", "level": "1", "note": "超期未办结，立督办单"}
    data.update(over)
    return svc.act("open_case", c.t, who or c.w.supervisor, c.v, **data)


def urge(c, case_id=None, who=None, note="请于本周内办结"):
    case_id = case_id or open_case_for(c.t).id
    return svc.act("urge_case", c.t, who or c.w.supervisor, target=case_id, note=note)


def case_of(tid) -> SupervisionCase:
    db.session.expire_all()
    return db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.ticket_id == tid)
                              .order_by(SupervisionCase.id.desc())).first()


def last_callback(tid) -> Callback:
    db.session.expire_all()
    return db.session.scalars(sa.select(Callback).where(Callback.ticket_id == tid).order_by(Callback.id.desc())).first()


def notices(kind, **where) -> list[Notification]:
    db.session.expire_all()
    stmt = sa.select(Notification).where(Notification.kind == kind)
    for k, v in where.items():
        stmt = stmt.where(getattr(Notification, k) == v)
    return list(db.session.scalars(stmt.order_by(Notification.id)))


def signoff_if_asked(c):
    """A supervised ticket's re-handled result may wait for a leader's sign-off (a setting)."""
    if fresh_ticket(c.t).state is TicketState.PENDING_SIGNOFF:
        svc.act("signoff_approve", c.t, c.w.leader, c.v, words="同意")


def unsatisfied_reasonable(w) -> Ctx:
    """A reasonable 不满意 at the callback: reopened at once under a supervision case."""
    c = make(w, "reviewed")
    svc.record_callback(c.t, w.callback_agent, c.v, reached=True, resolution="unresolved",
                        satisfaction=Satisfaction.UNSATISFIED, citizen_words="电梯还是坏的")
    return c


# --- situations ------------------------------------------------------------------------------
def _case_opened(w) -> Ctx:
    c = make(w, "signed")
    c.extra["case"] = open_case(c).id
    return c


def _case_urged_twice(w) -> Ctx:
    c = _case_opened(w)
    urge(c, c.case)
    urge(c, c.case)
    return c


def _dispute_pending(w) -> Ctx:
    c = unsatisfied_reasonable(w)
    c.extra["dispute"] = svc.act("dispute", c.t, w.district_staff, **VALID_INPUT["dispute"](w, None, None, None, None)).id
    return c


@pytest.mark.parametrize("situation", ["case_opened", "case_urged_twice", "dispute_pending"])
def test_parity_in_this_steps_situations(world, situation):
    master_id = world.record(caller_phone="13700003333").id
    c = {"case_opened": _case_opened, "case_urged_twice": _case_urged_twice,
         "dispute_pending": _dispute_pending}[situation](world)
    check_parity(world, c.t, master_id)


# --- 立督办单 --------------------------------------------------------------------------------
@pytest.mark.parametrize("situation", ["dispatched", "signed", "returned", "extension_pending", "replied",
                                       "handed_down"])
def test_supervisor_opens_a_case_on_a_ticket_being_handled(world, situation):
    c = make(world, situation)
    before_state = fresh_ticket(c.t).state
    r = applied(c.t, lambda: open_case(c, reason="media", note="媒体关注，请限期办结"))
    case = r.result
    (row,) = r.new_rows(SupervisionCase)
    assert row["id"] == case.id and row["code"] == "DB-2026-000001"
    assert (row["reason"], row["state"], row["level"]) == (SupervisionReason.MEDIA, SupervisionState.OPEN, 1)
    assert (row["unit_id"], row["opened_by_id"], row["opened_at"]) == (world.district.id, world.supervisor.id, NOW)
    assert row["due_at"] == DEFAULT_DUE == calendar().add_working_days(NOW, 10).at
    assert row["note"] == "媒体关注，请限期办结" and row["urge_count"] == 0
    assert r.ticket["state"] is before_state  # the ticket's course does not change
    assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
        EventAction.OPEN_CASE, before_state, before_state)
    assert r.event["payload"]["code"] == "DB-2026-000001" and r.event["payload"]["reason"] == "media"
    (note,) = notices(NotificationKind.ESCALATION, unit_id=world.district.id)
    assert "DB-2026-000001" in note.title and "媒体关注" in note.title


def test_open_case_with_a_level_and_a_date(world):
    c = make(world, "signed")
    r = applied(c.t, lambda: open_case(c, level="2", due_on=date(2026, 12, 1), reason="repeated"))
    (row,) = r.new_rows(SupervisionCase)
    assert row["level"] == 2 and row["due_at"] == datetime(2026, 12, 1, 9, 30)


def test_case_codes_are_numbered_by_year_and_reopening_gets_one(world):
    first = _case_opened(world)
    second = _case_opened(world)
    third = unsatisfied_reasonable(world)  # the callback's reopen opens a case too
    assert [case_of(c.t).code for c in (first, second, third)] == ["DB-2026-000001", "DB-2026-000002",
                                                                   "DB-2026-000003"]
    at(datetime(2027, 1, 4, 9, 0))
    nxt = make(world, "signed")
    assert open_case(nxt).code == "DB-2027-000001"
    assert next_case_code(datetime(2027, 6, 1)) == "DB-2027-000002"
    assert next_case_code(datetime(2026, 6, 1)) == "DB-2026-000004"


OPEN_REFUSALS = [
    ("dispatcher_cannot", "signed", lambda c: open_case(c, who=c.w.dispatcher), ROLE),
    ("unit_cannot", "signed", lambda c: open_case(c, who=c.w.district_staff), ROLE),
    ("not_before_dispatch", "pending", lambda c: open_case(c), STATE),
    ("not_when_closed", "closed", lambda c: open_case(c), STATE),
    ("not_while_callback_waits", "reviewed", lambda c: open_case(c), STATE),
    ("not_when_a_case_is_open", "reopened", lambda c: open_case(c), code("CASE_OPEN")),
    ("reason_unsatisfied_is_the_callbacks", "signed", lambda c: open_case(c, reason="unsatisfied"), bad("reason")),
    ("unknown_reason", "signed", lambda c: open_case(c, reason="whim"), bad("reason")),
    ("level_out_of_range", "signed", lambda c: open_case(c, level="4"), bad("level")),
    ("due_today", "signed", lambda c: open_case(c, due_on=NOW.date()), bad("due_on")),
    ("due_bad_text", "signed", lambda c: open_case(c, due_on="12月1日"), bad("due_on")),
    ("note_required", "signed", lambda c: open_case(c, note="  "), bad("note")),
    ("stale_version", "signed", lambda c: svc.act("open_case", c.t, c.w.supervisor, c.v - 1, reason="overdue",
                                                   note="x"), STALE),
]


@pytest.mark.parametrize("situation,call,expect", [pytest.param(s, f, e, id=i) for i, s, f, e in OPEN_REFUSALS])
def test_open_case_refusals_change_nothing(world, situation, call, expect):
    c = make(world, situation)
    refused_all(c.t, lambda: call(c), expect)


def test_second_case_only_after_the_first_was_accepted(world):
    c = _case_opened(world)
    refused_all(c.t, lambda: open_case(c), code("CASE_OPEN"))


# --- 催办 ------------------------------------------------------------------------------------
def test_urging_is_numbered_and_the_second_and_third_raise_the_case(world):
    c = Ctx(world, world.signed(lead=world.street).id)  # a street: level 2 is its district
    case_id = open_case(c).id
    expected = [(1, 1, False), (2, 2, True), (3, 3, True), (4, 3, False)]
    for number, level, raised in expected:
        r = applied(c.t, lambda: urge(c, case_id, note=f"第{number}次催办"))
        row = r.result
        assert (row.number, row.level, row.note, row.by_id) == (number, level, f"第{number}次催办", world.supervisor.id)
        assert r.ticket["state"] is TicketState.SIGNED
        assert (r.event["action"], r.event["from_state"], r.event["to_state"]) == (
            EventAction.MANUAL_URGE, TicketState.SIGNED, TicketState.SIGNED)
        payload = r.event["payload"]
        assert (payload["number"], payload["level"], payload["raised"]) == (number, level, raised)
        assert r.event["note"] == f"第{number}次催办"
        assert (case_of(c.t).urge_count, case_of(c.t).level) == (number, level)
    assert [(u.number, u.level) for u in db.session.scalars(sa.select(SupervisionUrge).order_by(SupervisionUrge.id))] \
        == [(1, 1), (2, 2), (3, 3), (4, 3)]
    to_unit = notices(NotificationKind.MANUAL_URGE, unit_id=world.street.id)
    assert len(to_unit) == 4 and "第 2 次催办" in to_unit[1].title and to_unit[1].body == "第2次催办"
    # the raises are reported up the chain: the supervising unit, then the centre
    assert [n.unit_id for n in notices(NotificationKind.ESCALATION)[1:]] == [world.district.id, world.centre.id]
    assert count(Escalation) == 0  # the scheduler's steps stay the scheduler's


def test_the_unit_sees_how_often_it_was_urged(world, client):
    c = _case_urged_twice(world)
    login(client, "d1staff")
    html = client.get(f"/tickets/{c.t}").get_data(as_text=True)
    assert "已催办 2 次" in html
    html = client.get(f"/supervision/{c.case}").get_data(as_text=True)
    assert 'id="urge-count">2 次' in html and "第 2 次催办" in html and "DB-2026-000001" in html


URGE_REFUSALS = [
    ("unit_cannot", "case_opened", lambda c: urge(c, c.case, who=c.w.district_staff), ROLE),
    ("dispatcher_cannot", "case_opened", lambda c: urge(c, c.case, who=c.w.dispatcher), ROLE),
    ("note_required", "case_opened", lambda c: urge(c, c.case, note=""), bad("note")),
    ("no_case", "signed", lambda c: svc.act("urge_case", c.t, c.w.supervisor, note="催办"), bad("case_id")),
    ("unit_has_replied", "case_replied", lambda c: urge(c, c.case), code("NOT_URGEABLE")),
    ("case_closed", "case_accepted", lambda c: urge(c, c.case), code("CASE_CLOSED")),
]


def _case_replied(w):
    c = _case_opened(w)
    svc.reply(c.t, w.district_staff, c.v, "已修复")
    return c


def _case_accepted(w):
    c = _case_replied(w)
    svc.review(c.t, w.dispatcher, c.v, accept=True)
    signoff_if_asked(c)
    svc.record_callback(c.t, w.callback_agent, c.v, reached=True, resolution="resolved", satisfaction="satisfied")
    svc.accept_case(c.case, w.supervisor, "已办结，销号")
    return c


LOCAL = {"case_opened": _case_opened, "case_replied": _case_replied, "case_accepted": _case_accepted}


@pytest.mark.parametrize("situation,call,expect", [pytest.param(s, f, e, id=i) for i, s, f, e in URGE_REFUSALS])
def test_urge_refusals_change_nothing(world, situation, call, expect):
    c = LOCAL[situation](world) if situation in LOCAL else make(world, situation)
    refused_all(c.t, lambda: call(c), expect)


# --- 甄别 ------------------------------------------------------------------------------------
def test_the_lead_unit_applies_for_a_dispute_of_a_counted_unsatisfied(world):
    c = unsatisfied_reasonable(world)
    cb = last_callback(c.t)
    r = applied(c.t, lambda: svc.act("dispute", c.t, world.district_staff, reason=" 已依规解释 ", evidence="录音"))
    assert r.ticket["state"] is TicketState.REOPENED
    row = db.session.get(Dispute, r.result.id)
    assert (row.callback_id, row.unit_id, row.applicant_id, row.state) == (
        cb.id, world.district.id, world.district_staff.id, RequestState.PENDING)
    assert (row.reason, row.evidence) == ("已依规解释", "录音")
    assert (r.event["action"], r.event["payload"]["callback_id"]) == (EventAction.DISPUTE, cb.id)
    (note,) = notices(NotificationKind.DISPUTE)
    assert note.role == "supervisor" and note.ticket_id == c.t
    assert last_callback(c.t).supervisor_decision is None  # still counted until decided


def test_a_closed_tickets_earlier_unsatisfied_may_be_disputed(world):
    c = unsatisfied_reasonable(world)
    unsatisfied = last_callback(c.t).id
    svc.reply(c.t, world.district_staff, c.v, "已更换主板")
    svc.review(c.t, world.dispatcher, c.v, accept=True)
    signoff_if_asked(c)
    svc.record_callback(c.t, world.callback_agent, c.v, reached=True, resolution="resolved", satisfaction="satisfied")
    assert fresh_ticket(c.t).state is TicketState.CLOSED
    assert "dispute" in available_actions(fresh_ticket(c.t), world.district_staff)
    row = svc.act("dispute", c.t, world.district_staff, reason="首轮不满意系误解", evidence="现场照片")
    assert row.callback_id == unsatisfied


def test_supervisor_upholds_or_rejects_a_dispute(world):
    c = _dispute_pending(world)
    r = applied(c.t, lambda: svc.act("decide_dispute", c.t, world.supervisor, decision="uphold", note="理由成立"))
    row = db.session.get(Dispute, c.dispute)
    assert (row.state, row.decided_by_id, row.decision_note) == (RequestState.APPROVED, world.supervisor.id, "理由成立")
    cb = last_callback(c.t)
    assert (cb.supervisor_decision, cb.decided_by_id) == (SupervisorDecision.EXCLUDED, world.supervisor.id)
    assert r.event["action"] is EventAction.DISPUTE_UPHELD and r.ticket["state"] is TicketState.REOPENED
    (note,) = notices(NotificationKind.DISPUTE, unit_id=world.district.id)
    assert "甄别成立" in note.title
    # nothing left to dispute on this ticket
    refused_all(c.t, lambda: svc.act("dispute", c.t, world.district_staff, reason="再申请", evidence="x"),
                code("NO_DISPUTABLE_CALLBACK"))

    d = _dispute_pending(world)
    r = applied(d.t, lambda: svc.act("decide_dispute", d.t, world.supervisor, decision="reject", note="证据不足"))
    assert r.event["action"] is EventAction.DISPUTE_REJECTED
    assert db.session.get(Dispute, d.dispute).state is RequestState.REFUSED
    assert last_callback(d.t).supervisor_decision is SupervisorDecision.COUNTED
    # one dispute per callback
    refused_all(d.t, lambda: svc.act("dispute", d.t, world.district_staff, reason="再申请", evidence="x"),
                code("ALREADY_DISPUTED"))


def _re_replied_after_unsatisfied(w):
    c = unsatisfied_reasonable(w)
    svc.reply(c.t, w.district_staff, c.v, "已更换主板")
    return c


def _unsatisfied_handed_down(w):
    c = make(w, "handed_down")
    svc.reply(c.t, w.street_staff, c.v, "已处理")
    svc.review(c.t, w.dispatcher, c.v, accept=True)
    svc.record_callback(c.t, w.callback_agent, c.v, reached=True, resolution="unresolved", satisfaction="unsatisfied")
    return c


DISPUTE_INPUT = {"reason": "已依规解释", "evidence": "录音"}
DISPUTE_REFUSALS = [
    ("supervisor_cannot_apply", "unsat", lambda c: svc.act("dispute", c.t, c.w.supervisor, **DISPUTE_INPUT), ROLE),
    ("other_unit_cannot", "unsat", lambda c: svc.act("dispute", c.t, c.w.other_staff, **DISPUTE_INPUT), UNIT),
    ("sub_unit_handling_cannot", "unsat_handed_down",
     lambda c: svc.act("dispute", c.t, c.w.street_staff, **DISPUTE_INPUT), UNIT),
    ("nothing_to_dispute", "signed", lambda c: svc.act("dispute", c.t, c.w.district_staff, **DISPUTE_INPUT),
     code("NO_DISPUTABLE_CALLBACK")),
    ("flagged_unreasonable_does_not_count_yet", "unsatisfied",
     lambda c: svc.act("dispute", c.t, c.w.district_staff, **DISPUTE_INPUT), code("NO_DISPUTABLE_CALLBACK")),
    ("not_while_the_reply_waits", "unsat_re_replied",
     lambda c: svc.act("dispute", c.t, c.w.district_staff, **DISPUTE_INPUT), STATE),
    ("one_pending_at_a_time", "dispute_pending",
     lambda c: svc.act("dispute", c.t, c.w.district_staff, **DISPUTE_INPUT), code("DISPUTE_PENDING")),
    ("reason_required", "unsat", lambda c: svc.act("dispute", c.t, c.w.district_staff, reason="", evidence="x"),
     bad("reason")),
    ("evidence_required", "unsat", lambda c: svc.act("dispute", c.t, c.w.district_staff, reason="x", evidence=""),
     bad("evidence")),
    ("unit_cannot_decide", "dispute_pending",
     lambda c: svc.act("decide_dispute", c.t, c.w.district_staff, decision="uphold", note="x"), ROLE),
    ("decision_required", "dispute_pending",
     lambda c: svc.act("decide_dispute", c.t, c.w.supervisor, decision="", note="x"), bad("decision")),
    ("decision_note_required", "dispute_pending",
     lambda c: svc.act("decide_dispute", c.t, c.w.supervisor, decision="reject", note=""), bad("note")),
    ("no_pending_dispute", "unsat",
     lambda c: svc.act("decide_dispute", c.t, c.w.supervisor, decision="uphold", note="x"),
     code("NO_PENDING_DISPUTE")),
]
DISPUTE_SITUATIONS = {"unsat": unsatisfied_reasonable, "unsat_handed_down": _unsatisfied_handed_down,
                      "unsat_re_replied": _re_replied_after_unsatisfied, "dispute_pending": _dispute_pending}


@pytest.mark.parametrize("situation,call,expect", [pytest.param(s, f, e, id=i) for i, s, f, e in DISPUTE_REFUSALS])
def test_dispute_refusals_change_nothing(world, situation, call, expect):
    c = DISPUTE_SITUATIONS[situation](world) if situation in DISPUTE_SITUATIONS else make(world, situation)
    refused_all(c.t, lambda: call(c), expect)


def test_a_decided_dispute_is_not_decided_again(world):
    c = _dispute_pending(world)
    svc.act("decide_dispute", c.t, world.supervisor, decision="reject", note="证据不足")
    refused_all(c.t, lambda: svc.act("decide_dispute", c.t, world.supervisor, target=c.dispute, decision="uphold",
                                     note="改判"), code("DISPUTE_DECIDED"))


# --- full loops ------------------------------------------------------------------------------
def test_loop_case_on_an_overdue_ticket_urged_escalated_rehandled_and_accepted(world):
    t = world.signed(lead=world.street)
    c = Ctx(world, t.id)
    due = fresh_ticket(c.t).lead_assignment.handle_due_at
    at(due + timedelta(hours=2))  # the unit missed its deadline
    case = open_case(c, reason="overdue", due_on=date(2026, 12, 3), note="超期未办结，请限期办结")
    assert case.code == "DB-2026-000001" and case.unit_id == world.street.id
    urge(c, case.id, note="第一次催办")
    assert case_of(c.t).level == 1
    # the case runs past its deadline while the unit still handles: the job raises it
    at(datetime(2026, 12, 3, 12, 0))
    jobs.escalation()
    assert case_of(c.t).level == 2
    assert count(Escalation, Escalation.subject == "case", Escalation.reason == "supervision_overdue") == 1
    urge(c, case.id, note="第二次催办")
    assert case_of(c.t).level == 3
    urge(c, case.id, note="第三次催办")
    assert (case_of(c.t).level, case_of(c.t).urge_count) == (3, 3)  # never above the top
    jobs.escalation()
    assert case_of(c.t).level == 3
    # re-handled, reviewed, called back, accepted
    svc.reply(c.t, world.street_staff, c.v, "已更换电梯主板，恢复运行")
    svc.review(c.t, world.dispatcher, c.v, accept=True)
    signoff_if_asked(c)
    svc.record_callback(c.t, world.callback_agent, c.v, reached=True, resolution="resolved", satisfaction="satisfied")
    assert fresh_ticket(c.t).state is TicketState.CLOSED
    svc.accept_case(case.id, world.supervisor, "已验收，销号")
    final = case_of(c.t)
    assert (final.state, final.close_note) == (SupervisionState.CLOSED, "已验收，销号")
    actions = [e.action for e in fresh_ticket(c.t).events]
    for a in (EventAction.OPEN_CASE, EventAction.MANUAL_URGE, EventAction.ESCALATE, EventAction.ACCEPT_CASE):
        assert a in actions
    assert actions.count(EventAction.MANUAL_URGE) == 3
    assert [u.level for u in db.session.scalars(sa.select(SupervisionUrge).order_by(SupervisionUrge.number))] \
        == [1, 3, 3]
    assert len(notices(NotificationKind.MANUAL_URGE, unit_id=world.street.id)) == 3


def test_loop_upheld_dispute_changes_the_ranking_and_stays_on_record(world):
    happy = make(world, "reviewed")
    svc.record_callback(happy.t, world.callback_agent, happy.v, reached=True, resolution="resolved",
                        satisfaction="satisfied")
    c = unsatisfied_reasonable(world)
    today = NOW.date()

    def district():
        return {r["unit"]: r for r in unit_ranking(today, today)["rows"]}["东城区人民政府"]

    before = district()
    assert before["counts"]["callbacks_reached"] == 2 and as_fraction(before["rates"]["satisfaction_rate"]) == Fraction(1, 2)
    svc.act("dispute", c.t, world.district_staff, reason="市民诉求超出政策范围", evidence="政策文件")
    assert as_fraction(district()["rates"]["satisfaction_rate"]) == Fraction(1, 2)  # pending: still counted
    svc.act("decide_dispute", c.t, world.supervisor, decision="uphold", note="诉求超出政策范围，甄别成立")
    after = district()
    assert after["counts"]["callbacks_reached"] == 1 and as_fraction(after["rates"]["satisfaction_rate"]) == 1
    assert as_fraction(after["rates"]["resolution_rate"]) == 1
    # on record: the dispute, its decision and the events
    row = db.session.scalars(sa.select(Dispute).where(Dispute.ticket_id == c.t)).one()
    assert (row.state, row.decision_note) == (RequestState.APPROVED, "诉求超出政策范围，甄别成立")
    assert [e.action for e in fresh_ticket(c.t).events][-2:] == [EventAction.DISPUTE, EventAction.DISPUTE_UPHELD]
    # the re-handling goes on under its case
    assert fresh_ticket(c.t).state is TicketState.REOPENED and open_case_for(c.t) is not None


def test_rejected_dispute_leaves_the_ranking_alone(world):
    c = _dispute_pending(world)
    today = NOW.date()
    svc.act("decide_dispute", c.t, world.supervisor, decision="reject", note="证据不足")
    row = {r["unit"]: r for r in unit_ranking(today, today)["rows"]}["东城区人民政府"]
    assert row["counts"]["callbacks_reached"] == 1 and as_fraction(row["rates"]["satisfaction_rate"]) == 0


# --- through the page ------------------------------------------------------------------------
def test_open_case_through_the_page_with_csrf_and_a_bad_input_kept(world, client):
    c = make(world, "signed")
    login(client, "supervisor")
    html = client.get(f"/tickets/{c.t}").get_data(as_text=True)
    assert 'id="action-open_case"' in html
    assert 'name="open_case-due_on"' in html and 'value="2026-12-07"' in html  # the default deadline
    data = {"open_case-csrf_token": csrf_token(html), "open_case-version": str(c.v), "open_case-reason": "media",
            "open_case-level": "2", "open_case-due_on": "2026-11-23", "open_case-note": "市电视台曝光，限期整改"}
    resp = client.post(f"/tickets/{c.t}/open_case", data=data)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "督办期限须晚于今天" in page and "市电视台曝光，限期整改" in page
    assert re.search(r'<details class="action-box" id="action-open_case" open>', page)
    assert count(SupervisionCase) == 0
    # without the CSRF token: refused, nothing opened
    resp = client.post(f"/tickets/{c.t}/open_case", data={k: v for k, v in data.items() if "csrf" not in k})
    assert resp.status_code == 400 and count(SupervisionCase) == 0
    data["open_case-due_on"] = "2026-12-01"
    resp = client.post(f"/tickets/{c.t}/open_case", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    case = case_of(c.t)
    assert (case.code, case.level, case.reason, case.due_at) == (
        "DB-2026-000001", 2, SupervisionReason.MEDIA, datetime(2026, 12, 1, 9, 30))
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已立督办单 DB-2026-000001" in page
    # the centre urges from the case page
    html = client.get(f"/supervision/{case.id}").get_data(as_text=True)
    resp = client.post(f"/supervision/{case.id}/urge_case", data={
        "urge_case-csrf_token": csrf_token(html), "urge_case-case_id": str(case.id), "urge_case-note": ""})
    assert resp.status_code == 400 and "请填写催办意见" in resp.get_data(as_text=True)
    resp = client.post(f"/supervision/{case.id}/urge_case", data={
        "urge_case-csrf_token": csrf_token(html), "urge_case-case_id": str(case.id), "urge_case-note": "请本周办结"})
    assert resp.status_code == 302
    assert case_of(c.t).urge_count == 1
    listing = client.get("/supervision").get_data(as_text=True)
    assert "DB-2026-000001" in listing and "1 次" in listing
