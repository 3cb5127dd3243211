"""Rules the mutation run after the lifecycle restructuring found unpinned (see
/tmp/mutation-after.md): refusal codes and their boundaries, the supervision case's unit
and acceptance rules, the scheduler's exact boundaries and the texts a user reads, the
event payloads reports and pages read, the WARN_FRACTION setting and the default time
limit policy. Each test goes through the registry (tests.svc / perform) or a job, and
fails if the rule it names is changed."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from hotline import stages  # noqa: F401  (registers every lifecycle action)
from hotline.admin.models import Setting
from hotline.deadlines.models import TimeLimitPolicy
from hotline.deadlines.services import calendar, default_limit, limit_for, seed_default_policy
from hotline.enums import (AssignmentState, DeadlineClock, EventAction, LimitUnit, NotificationKind, RequestType,
                           ReturnReason, Role, Satisfaction, SupervisionState, TicketState, Urgency)
from hotline.errors import DomainError, PermissionDenied, ValidationFailed, Waiting
from hotline.extensions import db
from hotline.lifecycle import REGISTRY, after_commit, available_actions, perform, register, unit_of_work, \
    waiting_notices
from hotline.lifecycle.guards import flag
from hotline.notifications.models import Notification
from hotline.scheduler import jobs
from hotline.scheduler.models import Escalation
from hotline.supervision.models import SupervisionCase, SupervisionProgress
from hotline.tickets.models import Assignment, Ticket, TicketEvent, TicketSequence
from tests import svc
from tests.conftest import count
from tests.factories import at
from tests.test_transitions_support import assignment_of, make, refused, version

WD, H, MIN = LimitUnit.WORKING_DAYS, LimitUnit.HOURS, LimitUnit.MINUTES


def fresh(tid) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, tid)


def lead(tid) -> Assignment:
    return fresh(tid).lead_assignment


def events(tid, action=None) -> list[TicketEvent]:
    db.session.expire_all()
    stmt = sa.select(TicketEvent).where(TicketEvent.ticket_id == tid)
    if action is not None:
        stmt = stmt.where(TicketEvent.action == action)
    return db.session.scalars(stmt.order_by(TicketEvent.id)).all()


def notes_for(tid, kind=None) -> list[Notification]:
    db.session.expire_all()
    stmt = sa.select(Notification).where(Notification.ticket_id == tid)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return db.session.scalars(stmt.order_by(Notification.id)).all()


def reopened(w):
    """A reasonable 不满意: reopened to the district under an open level-1 case."""
    c = make(w, "reopened")
    db.session.expire_all()
    case = db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.ticket_id == c.t)).one()
    return c, case


def through_signoff(w, tid):
    """Where a leader's sign-off (领导签批) follows the review of a re-handled reply, give it."""
    if "signoff_approve" in REGISTRY and fresh(tid).state is not TicketState.REVIEWED:
        svc.act("signoff_approve", tid, w.leader, version(tid), words="同意")


def unsatisfied_again(w, tid, reasonable=True):
    svc.reply(tid, w.district_staff, version(tid), "再次处理。")
    svc.review(tid, w.dispatcher, version(tid), accept=True)
    through_signoff(w, tid)
    svc.record_callback(tid, w.callback_agent, version(tid), reached=True, resolution="unresolved",
                        satisfaction=Satisfaction.UNSATISFIED, citizen_words="还是没修好",
                        request_reasonable=None if reasonable else False)


# --- the WARN_FRACTION setting and the default policy ---------------------------------------
def test_warn_fraction_setting_moves_every_warning_moment(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "WARN_FRACTION", 0.5)
    t = world.signed()
    a = lead(t.id)
    start = a.dispatched_at
    assert a.sign_warn_at == start + (a.sign_due_at - start) / 2
    assert a.handle_warn_at == start + (a.handle_due_at - start) / 2
    # an approved extension recomputes the warning with the setting too
    new_due = a.handle_due_at + timedelta(days=2)
    req = svc.request_extension(t.id, world.district_staff, version(t.id), new_due, "需协调厂家")
    svc.approve_extension(t.id, world.dispatcher, version(t.id), req.id, "同意")
    assert lead(t.id).handle_warn_at == start + (new_due - start) / 2


def test_warn_fraction_setting_applies_to_a_reopened_ticket(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "WARN_FRACTION", 0.25)
    c, _ = reopened(world)
    a = lead(c.t)
    assert a.handle_warn_at == a.handle_started_at + (a.handle_due_at - a.handle_started_at) / 4


#: DESIGN.md's default time limits: (clock, request type) -> (normal, urgent, critical).
DESIGN_POLICY = {
    (DeadlineClock.SIGN, None): ((1, WD), (2, H), (30, MIN)),
    (DeadlineClock.HANDLE, None): ((5, WD), (24, H), (2, H)),
    (DeadlineClock.HANDLE, RequestType.CONSULTATION): ((3, WD), (24, H), (2, H)),
    (DeadlineClock.HANDLE, RequestType.HELP): ((5, WD), (24, H), (2, H)),
    (DeadlineClock.HANDLE, RequestType.SUGGESTION): ((5, WD), (24, H), (2, H)),
    (DeadlineClock.HANDLE, RequestType.COMPLAINT): ((15, WD), (24, H), (2, H)),
    (DeadlineClock.HANDLE, RequestType.REPORT): ((15, WD), (24, H), (2, H)),
    (DeadlineClock.RETURN, None): ((2, WD), (2, H), (30, MIN)),
    (DeadlineClock.CALLBACK, None): ((1, WD), (1, WD), (1, WD)),
    (DeadlineClock.EXTENSION_MAX, None): ((10, WD), None, None),
}
URGENCIES = (Urgency.NORMAL, Urgency.URGENT, Urgency.CRITICAL)


def test_seeded_policy_is_designs_table_cell_by_cell(app):
    stored = {(r.clock, r.request_type, r.urgency): (None if r.amount is None else (r.amount, r.unit))
              for r in db.session.scalars(sa.select(TimeLimitPolicy))}
    expected = {(clock, rtype, u): cell for (clock, rtype), cells in DESIGN_POLICY.items()
                for u, cell in zip(URGENCIES, cells)}
    assert stored == expected
    for (clock, rtype, u), cell in expected.items():
        for asked in ([rtype] if rtype else list(RequestType)):
            if rtype is None and clock is DeadlineClock.HANDLE:
                continue  # each request type has its own handle row
            assert limit_for(clock, asked, u) == cell, (clock, asked, u)


def test_without_a_policy_table_the_design_defaults_apply_and_seeding_restores_it(app):
    db.session.execute(sa.delete(TimeLimitPolicy))
    db.session.flush()
    # a clock with one row for every request type, and the per-type handle rows
    assert limit_for(DeadlineClock.SIGN, RequestType.HELP, Urgency.NORMAL) == (1, WD)
    assert limit_for(DeadlineClock.RETURN, RequestType.COMPLAINT, Urgency.CRITICAL) == (30, MIN)
    assert limit_for(DeadlineClock.HANDLE, RequestType.COMPLAINT, Urgency.NORMAL) == (15, WD)
    assert limit_for(DeadlineClock.HANDLE, RequestType.CONSULTATION, Urgency.NORMAL) == (3, WD)
    assert limit_for(DeadlineClock.HANDLE, None, Urgency.NORMAL) == (5, WD)
    assert limit_for(DeadlineClock.EXTENSION_MAX, RequestType.HELP, Urgency.URGENT) is None
    assert default_limit(DeadlineClock.CALLBACK, RequestType.REPORT, Urgency.CRITICAL) == (1, WD)
    n_cells = sum(len(cells) for cells in DESIGN_POLICY.values())
    assert seed_default_policy() == n_cells
    db.session.flush()
    assert count(TimeLimitPolicy) == n_cells
    assert seed_default_policy() == 0  # nothing missing any more


# --- the registry ---------------------------------------------------------------------------
def test_unknown_action_is_refused_with_its_code(world):
    t = world.record()
    with pytest.raises(DomainError) as info:
        perform("teleport", t.id, world.dispatcher, t.version)
    assert info.value.code == "UNKNOWN_ACTION" and "teleport" in info.value.message


def test_an_action_key_cannot_be_registered_twice(app):
    before = REGISTRY["sign"]
    with pytest.raises(RuntimeError):
        register("sign", "签收", (Role.UNIT_STAFF,))(lambda *a: None)
    assert REGISTRY["sign"] is before


def test_role_refusal_names_the_roles_and_an_inactive_user_is_refused(world):
    t = world.record()
    err = refused(t.id, lambda: svc.dispatch(t.id, world.operator, t.version, world.district.id), (
        PermissionDenied, "FORBIDDEN_ROLE", None))
    assert "派单员" in err.message
    world.dispatcher.active = False
    db.session.commit()
    refused(t.id, lambda: svc.dispatch(t.id, world.dispatcher, t.version, world.district.id), (
        PermissionDenied, "FORBIDDEN_ROLE", None))


@pytest.mark.parametrize("seen", [None, "", "v2"])
def test_a_missing_or_garbled_version_is_a_validation_error(world, seen):
    t = world.record()
    refused(t.id, lambda: svc.dispatch(t.id, world.dispatcher, seen, world.district.id),
            (ValidationFailed, "VALIDATION", "version"))


def test_wrong_state_refusal_names_state_and_action(world):
    c = make(world, "pending")
    with pytest.raises(DomainError) as info:
        svc.review(c.t, world.dispatcher, c.v, accept=True)
    err = info.value
    assert err.code == "INVALID_STATE" and err.details["state"] == "pending_dispatch"
    assert "待派单" in err.message and "审核" in err.message


def test_available_actions_by_stage_and_the_done_messages(world):
    t = world.record()
    ticket = fresh(t.id)
    assert {"dispatch", "merge", "close"} <= set(available_actions(ticket, world.dispatcher, stage="dispatch"))
    assert available_actions(ticket, world.dispatcher, stage="review") == {}
    assert REGISTRY["dispatch"].done_message(ticket) == "已派单"
    reviewed = world.reviewed()
    assert REGISTRY["review"].done_message(fresh(reviewed.id)) == "审核通过，已转回访"
    assert REGISTRY["callback"].done_message(None) == "回访已记录"


def test_waiting_notices_list_only_the_waiting_refusals(world):
    c = make(world, "signed_co")  # the lead signed; the housing co-unit has not replied
    notices = waiting_notices(fresh(c.t), world.district_staff)
    assert set(notices) == {"reply"} and notices["reply"].code == "CO_UNITS_PENDING"
    assert "市住房和城乡建设局" in notices["reply"].message
    assert waiting_notices(fresh(c.t), world.dispatcher) == {}


def test_an_own_unit_and_a_co_unit_below_it_the_lead_is_acted_on_first(world):
    """A district user whose ticket has the district as lead and its street as co-unit:
    without a target, 签收 takes the lead assignment."""
    t = world.dispatched(cos=[world.street])
    svc.sign(t.id, world.district_staff, version(t.id))
    assert fresh(t.id).state is TicketState.SIGNED
    assert lead(t.id).state is AssignmentState.SIGNED
    assert assignment_of(t.id, world.street).state is AssignmentState.DISPATCHED
    # naming the co-assignment (as a string, as a form sends it) acts on that one
    co = assignment_of(t.id, world.street)
    svc.sign(t.id, world.district_staff, version(t.id), assignment_id=str(co.id))
    assert assignment_of(t.id, world.street).state is AssignmentState.SIGNED


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), (" Yes ", True), ("on", True), ("0", False), ("no", False),
    (True, True), (False, False), (1, True), (0, False), (None, None), ("", None)])
def test_yes_no_inputs(app, value, expected):
    assert flag(value) is expected


# --- the unit of work -----------------------------------------------------------------------
def test_after_commit_callbacks_run_after_commit_only_and_never_undo_it(world, caplog, monkeypatch):
    ran = []
    logger = logging.getLogger("hotline.lifecycle")
    # alembic's fileConfig (the migrations the conftest runs in-process) disables loggers
    # that existed before it; the failure must still be logged when logging is on
    monkeypatch.setattr(logger, "disabled", False)
    logger.addHandler(caplog.handler)
    try:
        _after_commit_rounds(world, ran)
    finally:
        logger.removeHandler(caplog.handler)
    assert "after-commit callback failed" in caplog.text


def _after_commit_rounds(world, ran):
    with unit_of_work():
        t = svc._record_ticket(world.operator, world.draft())
        after_commit(lambda: ran.append("first"))
        after_commit(lambda: 1 / 0)
        after_commit(lambda: ran.append("second"))
        assert ran == []
    assert ran == ["first", "second"]
    assert fresh(t.id) is not None
    with pytest.raises(ZeroDivisionError):
        with unit_of_work():
            after_commit(lambda: ran.append("rolled back"))
            raise ZeroDivisionError
    with unit_of_work():
        pass
    assert ran == ["first", "second"]


# --- pending returns and extension requests as targets --------------------------------------
def test_return_decisions_name_their_refusals(world):
    c = make(world, "returned")
    other = make(world, "returned")
    refused(c.t, lambda: svc.overrule_return(c.t, world.dispatcher, c.v, other.return_id, "属地管理"),
            (ValidationFailed, "VALIDATION", "return_id"))
    refused(c.t, lambda: svc.overrule_return(c.t, world.dispatcher, c.v, "abc", "属地管理"),
            (ValidationFailed, "VALIDATION", "return_id"))
    svc.overrule_return(c.t, world.dispatcher, c.v, c.return_id, "属地管理")
    err = refused(c.t, lambda: svc.overrule_return(c.t, world.dispatcher, c.v, c.return_id, "再驳回"),
                  (DomainError, "RETURN_DECIDED", None))
    assert "已驳回" in err.message or "驳回" in err.message
    s = make(world, "signed")
    err = refused(s.t, lambda: svc.redispatch(s.t, world.dispatcher, s.v, None, lead_unit_id=world.housing.id),
                  (DomainError, "NO_PENDING_RETURN", None))
    assert err.message == "该工单没有待处理的退单"


def test_deciding_an_extension_with_none_pending_is_refused(world):
    c = make(world, "signed")
    refused(c.t, lambda: svc.refuse_extension(c.t, world.dispatcher, c.v, None, "不同意"),
            (DomainError, "NO_PENDING_EXTENSION", None))


# --- the supervision case -------------------------------------------------------------------
@pytest.mark.parametrize("staff", ["other_staff", "housing_staff", "street_staff"])
def test_only_the_case_units_staff_report_progress_or_acknowledge(world, staff):
    c, case = reopened(world)
    user = getattr(world, staff)
    refused(c.t, lambda: svc.report_progress(case.id, user, "本周已约谈物业"), (PermissionDenied, "NOT_YOUR_UNIT", None))
    svc.give_instruction(case.id, world.supervisor, "请主要负责同志督办")
    refused(c.t, lambda: svc.acknowledge_instruction(case.id, user), (PermissionDenied, "NOT_YOUR_UNIT", None))
    assert count(SupervisionProgress) == 0


def test_progress_waits_for_the_instruction_and_acknowledging_needs_one(world):
    c, case = reopened(world)
    refused(c.t, lambda: svc.acknowledge_instruction(case.id, world.district_staff),
            (DomainError, "NO_UNREAD_INSTRUCTION", None))
    svc.give_instruction(case.id, world.supervisor, "请区政府主要负责同志亲自督办")
    err = refused(c.t, lambda: svc.report_progress(case.id, world.district_staff, "本周已约谈物业"),
                  (DomainError, "INSTRUCTION_UNREAD", None))
    assert err.message == "请先阅读并确认领导批示"
    (note,) = notes_for(c.t, NotificationKind.INSTRUCTION)
    assert (note.unit_id, note.body) == (world.district.id, "请区政府主要负责同志亲自督办")
    assert note.title.startswith(f"领导批示：工单 {fresh(c.t).number} ") and note.title.endswith(
        "有新的批示，请先阅读确认")
    svc.acknowledge_instruction(case.id, world.district_staff)
    refused(c.t, lambda: svc.acknowledge_instruction(case.id, world.district_staff),
            (DomainError, "NO_UNREAD_INSTRUCTION", None))
    svc.report_progress(case.id, world.district_staff, "本周已约谈物业")
    (ev,) = events(c.t, EventAction.PROGRESS)
    assert ev.note == "本周已约谈物业" and ev.payload == {"case_id": case.id}


def test_acceptance_needs_a_closed_ticket_and_a_note_then_the_case_is_closed(world):
    c, case = reopened(world)
    err = refused(c.t, lambda: svc.accept_case(case.id, world.supervisor, "验收"),
                  (DomainError, "CASE_NOT_READY", None))
    assert "重办中" in err.message
    svc.reply(c.t, world.district_staff, c.v, "已彻底更换电梯控制系统。")
    svc.review(c.t, world.dispatcher, c.v, accept=True)
    through_signoff(world, c.t)
    svc.record_callback(c.t, world.callback_agent, c.v, reached=True, resolution="resolved",
                        satisfaction=Satisfaction.SATISFIED)
    refused(c.t, lambda: svc.accept_case(case.id, world.supervisor, "  "), (ValidationFailed, "VALIDATION", "note"))
    svc.accept_case(case.id, world.supervisor, "回访满意，现场核实已修复")
    db.session.expire_all()
    case = db.session.get(SupervisionCase, case.id)
    assert case.state is SupervisionState.CLOSED and case.close_note == "回访满意，现场核实已修复"
    (ev,) = events(c.t, EventAction.ACCEPT_CASE)
    assert ev.payload == {"case_id": case.id, "level": 1} and ev.note == "回访满意，现场核实已修复"
    for call in (lambda: svc.accept_case(case.id, world.supervisor, "再验收"),
                 lambda: svc.report_progress(case.id, world.district_staff, "进展")):
        err = refused(c.t, call, (DomainError, "CASE_CLOSED", None))
        assert err.message == "该督办单已验收销号"


def test_reopen_event_and_case_due_date(world):
    """The case is due after SUPERVISION_DUE_WORKING_DAYS (10) or with the new handle
    deadline, whichever is later."""
    c, case = reopened(world)  # a 求助 ticket: handle 5 working days
    reopen_at = fresh(c.t).updated_at
    (ev,) = events(c.t, EventAction.REOPEN)
    a = lead(c.t)
    assert ev.payload == {"supervision_case_id": case.id, "level": 1, "handle_due_at": a.handle_due_at.isoformat(),
                          "round": 1}
    assert case.due_at == calendar().add_working_days(reopen_at, 10).at > a.handle_due_at
    t = world.unsatisfied(request_type="complaint")  # handle 15 working days: later than 10
    svc.reopen(t.id, world.supervisor, version(t.id), "重办")
    db.session.expire_all()
    case2 = db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.ticket_id == t.id)).one()
    assert case2.due_at == lead(t.id).handle_due_at == calendar().add_working_days(case2.opened_at, 15).at


def test_second_unsatisfied_raises_the_case_to_the_supervising_unit_then_the_centre(world):
    world.district.supervisor_id = world.housing.id  # an explicit supervising unit (not the parent)
    db.session.commit()
    c, case = reopened(world)
    number = fresh(c.t).number
    unsatisfied_again(world, c.t)
    esc = db.session.scalars(sa.select(Escalation).where(Escalation.subject == "case")).one()
    assert (esc.level, esc.from_unit_id, esc.to_unit_id, esc.subject_id) == (2, world.district.id,
                                                                             world.housing.id, case.id)
    titles = {(n.unit_id, n.title) for n in notes_for(c.t, NotificationKind.ESCALATION)}
    title2 = f"升级督办：工单 {number} 再次回访不满意，督办升级至处室督导"
    assert titles == {(world.district.id, title2), (world.housing.id, title2)}
    unsatisfied_again(world, c.t)
    esc3 = db.session.scalars(sa.select(Escalation).where(Escalation.subject == "case", Escalation.level == 3)).one()
    assert (esc3.from_unit_id, esc3.to_unit_id) == (world.district.id, world.centre.id)
    title3 = f"升级督办：工单 {number} 再次回访不满意，督办升级至委级统筹"
    assert {n.unit_id for n in notes_for(c.t, NotificationKind.ESCALATION) if n.title == title3} == {
        world.district.id, world.centre.id}


def test_supervisor_rulings_on_a_flagged_unsatisfied(world):
    from hotline.callbacks.models import Callback
    from hotline.enums import SupervisorDecision

    t = world.unsatisfied()
    svc.reopen(t.id, world.supervisor, version(t.id), "诉求合理，重办")
    db.session.expire_all()
    cb = db.session.scalars(sa.select(Callback).where(Callback.ticket_id == t.id)).one()
    assert (cb.supervisor_decision, cb.decided_by_id) == (SupervisorDecision.COUNTED, world.supervisor.id)
    t2 = world.unsatisfied()
    svc.confirm_unreasonable(t2.id, world.supervisor, version(t2.id), "诉求超出政策范围")
    db.session.expire_all()
    cb2 = db.session.scalars(sa.select(Callback).where(Callback.ticket_id == t2.id)).one()
    assert cb2.supervisor_decision is SupervisorDecision.EXCLUDED
    (ev,) = events(t2.id, EventAction.CONFIRM_UNREASONABLE)
    assert ev.payload == {"callback_id": cb2.id, "closure": "unreasonable"}


# --- the scheduler: boundaries, texts, payloads -----------------------------------------------
def test_job_names_match_the_configured_schedule(app):
    assert set(app.config["JOB_INTERVALS"]) <= set(jobs.JOBS)
    assert {"deadline_watch", "escalation", "supervision", "callback_due", "send_email",
            "weekly_report"} <= set(jobs.JOBS)
    assert jobs.JOBS["send_email"] is jobs.send_email and jobs.JOBS["weekly_report"] is jobs.weekly_report


def test_alert_titles_payloads_and_the_handler_unit_is_told(world):
    t = world.dispatched()
    svc.hand_down(t.id, world.district_staff, version(t.id), world.street.id, note="请街道核实")
    a = lead(t.id)
    number = fresh(t.id).number
    at(a.sign_warn_at)
    assert jobs.deadline_watch()["sign_warning"] == 1
    at(a.sign_due_at)
    assert jobs.deadline_watch()["sign_urge"] == 1
    at(a.sign_due_at + timedelta(minutes=1))
    assert jobs.deadline_watch()["sign_overdue"] == 1
    assert lead(t.id).sign_overdue_at == a.sign_due_at + timedelta(minutes=1)
    assert lead(t.id).handle_overdue_at is None
    assert [(n.unit_id, n.kind, n.title) for n in notes_for(t.id)] == [
        (world.street.id, NotificationKind.SIGN_WARNING, f"预警：工单 {number} 签收期限将至，请及时签收"),
        (world.street.id, NotificationKind.SIGN_URGE, f"催办：工单 {number} 已到签收期限，请立即签收"),
        (world.street.id, NotificationKind.SIGN_OVERDUE, f"超期：工单 {number} 签收超期"),
    ]
    assert [(e.action, e.payload, e.note) for e in events(t.id)[-3:]] == [
        (EventAction.WARNING, {"source": "scheduler", "clock": "sign", "kind": "warning"}, ""),
        (EventAction.URGE, {"source": "scheduler", "clock": "sign", "kind": "urge"}, ""),
        (EventAction.OVERDUE, {"source": "scheduler", "clock": "sign", "kind": "overdue"}, ""),
    ]


def test_handle_alert_titles(world):
    t = world.signed()
    a = lead(t.id)
    number = fresh(t.id).number
    for moment in (a.handle_warn_at, a.handle_due_at, a.handle_due_at + timedelta(minutes=1)):
        at(moment)
        jobs.deadline_watch()
    assert [n.title for n in notes_for(t.id)] == [
        f"预警：工单 {number} 办理期限将至，请抓紧办理",
        f"催办：工单 {number} 已到办理期限，请立即办结反馈",
        f"超期：工单 {number} 办理超期"]
    assert lead(t.id).handle_overdue_at == a.handle_due_at + timedelta(minutes=1)


def test_an_unsigned_assignment_escalates_on_its_sign_deadline(world):
    t = world.dispatched(lead=world.street)
    a = lead(t.id)
    number = fresh(t.id).number
    at(a.sign_due_at)
    assert jobs.escalation() == {"level_2": 0, "level_3": 0}
    at(a.sign_due_at + timedelta(minutes=1))
    assert jobs.escalation() == {"level_2": 1, "level_3": 0}
    esc = db.session.scalars(sa.select(Escalation)).one()
    assert (esc.from_unit_id, esc.to_unit_id, esc.reason.value) == (world.street.id, world.district.id, "overdue")
    (ev,) = events(t.id, EventAction.ESCALATE)
    assert ev.payload == {"source": "scheduler", "kind": "escalation"} and ev.note == "升级至处室督导"
    assert {(n.unit_id, n.title) for n in notes_for(t.id, NotificationKind.ESCALATION)} == {
        (world.street.id, f"升级督办：工单 {number} 超期，已升级"),
        (world.district.id, f"升级督办：工单 {number} 超期，已升级")}
    # three working days after the sign deadline it goes up again, not a minute before
    again = calendar().add_working_days(a.sign_due_at, 3).at
    at(again - timedelta(minutes=1))
    assert jobs.escalation()["level_3"] == 0
    at(again)
    assert jobs.escalation()["level_3"] == 1


def test_an_overdue_case_goes_up_again_exactly_three_working_days_later(world):
    c, case = reopened(world)
    at(case.due_at)
    jobs.escalation()
    assert count(Escalation, Escalation.subject == "case") == 0
    at(case.due_at + timedelta(minutes=1))
    jobs.escalation()
    assert count(Escalation, Escalation.subject == "case", Escalation.level == 2) == 1
    again = calendar().add_working_days(case.due_at, 3).at
    at(again - timedelta(minutes=1))
    jobs.escalation()
    assert count(Escalation, Escalation.subject == "case", Escalation.level == 3) == 0
    at(again)
    jobs.escalation()
    assert count(Escalation, Escalation.subject == "case", Escalation.level == 3) == 1
    esc = db.session.scalars(sa.select(Escalation).where(Escalation.subject == "case", Escalation.level == 3)).one()
    assert esc.reason.value == "supervision_overdue" and esc.to_unit_id == world.centre.id


def test_callback_overdue_starts_after_the_deadline_with_its_notice(world):
    t = world.reviewed()
    due = fresh(t.id).callback_due_at
    at(due)
    assert jobs.callback_due()["callback_overdue"] == 0
    at(due + timedelta(seconds=1))
    assert jobs.callback_due()["callback_overdue"] == 1
    (n,) = notes_for(t.id, NotificationKind.CALLBACK_OVERDUE)
    assert (n.role, n.unit_id, n.title) == ("callback_agent", None, f"回访超期：工单 {t.number} 未在时限内回访")
    (ev,) = events(t.id, EventAction.CALLBACK_OVERDUE)
    assert ev.payload == {"source": "scheduler", "clock": "callback", "kind": "overdue"}


def test_a_report_at_the_start_of_the_week_counts_one_at_its_end_does_not(world):
    c, case = reopened(world)
    week1, week2 = case.opened_at + timedelta(days=7), case.opened_at + timedelta(days=14)
    db.session.add(SupervisionProgress(case_id=case.id, author_id=world.district_staff.id, created_at=week1,
                                       text="第二周第一刻报送"))
    db.session.commit()
    at(week2 + timedelta(hours=1))
    assert jobs.supervision()["progress_urged"] == 0  # reported within [week1, week2)
    db.session.add(SupervisionProgress(case_id=case.id, author_id=world.district_staff.id, created_at=week2 +
                                       timedelta(days=7), text="第四周第一刻报送"))
    db.session.commit()
    at(week2 + timedelta(days=7, hours=1))  # week [week2, week2+7d) had no report; the one at its end is next week's
    assert jobs.supervision()["progress_urged"] == 1
    (n,) = notes_for(c.t, NotificationKind.PROGRESS_URGE)
    assert (n.unit_id, n.title) == (world.district.id, f"督办进展催报：工单 {fresh(c.t).number} 本周进展未报送")
    (ev,) = events(c.t, EventAction.PROGRESS_URGE)
    assert ev.payload == {"source": "scheduler", "clock": "progress", "kind": "urge"}


# --- intake, dispatch, handling: numbers, refusals and the payloads pages read ----------------
def test_ticket_numbers_run_per_day_to_six_digits_then_stop(world):
    first = world.record()
    assert first.number == "12345-20261123-000001"
    db.session.execute(sa.update(TicketSequence).values(last=999_998))
    db.session.commit()
    assert world.record().number == "12345-20261123-999999"
    with pytest.raises(DomainError) as info:
        world.record()
    assert info.value.code == "NUMBER_EXHAUSTED"
    at(datetime(2026, 11, 24, 8, 0))
    assert world.record().number == "12345-20261124-000001"


def test_auto_dispatch_records_the_rule_it_followed(world):
    from hotline.routing.models import RoutingRule

    rule = RoutingRule(category_id=world.category.id, lead_unit_id=world.housing.id, co_unit_ids=[], certain=True)
    db.session.add_all([rule, Setting(key="auto_dispatch", value="1")])
    db.session.commit()
    t = world.record()
    (ev,) = events(t.id, EventAction.DISPATCH)
    assert ev.payload["auto"] is True and ev.payload["rule_id"] == rule.id
    assert [a["unit_id"] for a in ev.payload["assignments"]] == [world.housing.id]


def test_dispatch_event_lists_each_assignment_with_its_deadlines(world):
    t = world.record()
    svc.dispatch(t.id, world.dispatcher, t.version, world.district.id, [world.housing.id], note="请尽快处理")
    (ev,) = events(t.id, EventAction.DISPATCH)
    lead_a, co_a = lead(t.id), assignment_of(t.id, world.housing)
    assert ev.note == "请尽快处理"
    assert ev.payload == {"assignments": [
        {"unit_id": world.district.id, "unit": "东城区人民政府", "role": "lead",
         "sign_due_at": lead_a.sign_due_at.isoformat(), "handle_due_at": lead_a.handle_due_at.isoformat(),
         "calendar_confirmed": True},
        {"unit_id": world.housing.id, "unit": "市住房和城乡建设局", "role": "co",
         "sign_due_at": co_a.sign_due_at.isoformat(), "handle_due_at": co_a.handle_due_at.isoformat(),
         "calendar_confirmed": True}]}


@pytest.mark.parametrize("lead_id, cos, field, message", [
    (None, [], "lead_unit_id", "请选择承办单位"),
    ("centre", [], "lead_unit_id", "不能派给热线中心本身，请选择承办单位"),
    (999999, [], "lead_unit_id", "所选单位不存在或已停用"),
    ("district", ["district"], "co_unit_ids", "主办单位与协办单位不能重复"),
    ("district", ["housing", "housing"], "co_unit_ids", "主办单位与协办单位不能重复"),
])
def test_dispatch_unit_refusals(world, lead_id, cos, field, message):
    def uid(x):
        return getattr(world, x).id if isinstance(x, str) else x

    t = world.record()
    err = refused(t.id, lambda: svc.dispatch(t.id, world.dispatcher, t.version, uid(lead_id), [uid(u) for u in cos]),
                  (ValidationFailed, "VALIDATION", field))
    assert err.message == message


def test_merge_by_number_and_never_into_a_merged_ticket(world):
    master = world.record()
    dup = world.record(caller_phone="13900002222")
    svc.act("merge", dup.id, world.dispatcher, dup.version, into_number=f" {master.number} ", note="同一部电梯")
    (ev,) = events(dup.id, EventAction.MERGE)
    assert ev.payload == {"into_ticket_id": master.id, "into_number": master.number, "closure": "merged"}
    third = world.record(caller_phone="13900003333")
    err = refused(third.id, lambda: svc.merge(third.id, world.dispatcher, third.version, dup.id),
                  (ValidationFailed, "VALIDATION", "into_ticket_id"))
    assert dup.number in err.message
    refused(third.id, lambda: svc.merge(third.id, world.dispatcher, third.version, third.id),
            (ValidationFailed, "VALIDATION", "into_ticket_id"))
    assert REGISTRY["merge"].done_message(fresh(dup.id)) == f"已并入 {master.number}"


def test_hand_down_records_from_and_to_and_a_unit_without_sub_units_cannot(world):
    t = world.signed()
    svc.hand_down(t.id, world.district_staff, version(t.id), world.street.id, note="请街道核实")
    svc.hand_down(t.id, world.street_staff, version(t.id), world.community.id, note="请社区核实")
    first, second = events(t.id, EventAction.HAND_DOWN)
    assert first.payload == {"from_unit": "东城区人民政府", "to_unit": "东华街道办事处", "to_unit_id": world.street.id}
    assert second.payload == {"from_unit": "东华街道办事处", "to_unit": "幸福社区居委会", "to_unit_id": world.community.id}
    h = world.signed(lead=world.housing)
    err = refused(h.id, lambda: svc.hand_down(h.id, world.housing_staff, version(h.id), world.street.id),
                  (DomainError, "NO_SUB_UNIT", None))
    assert err.message == "本单位没有可下派的下级单位"


def test_sign_and_reply_are_late_only_after_the_deadline(world):
    t = world.dispatched()
    a = lead(t.id)
    at(a.sign_due_at)
    svc.sign(t.id, world.district_staff, version(t.id))
    (ev,) = events(t.id, EventAction.SIGN)
    assert ev.payload["late"] is False
    at(a.handle_due_at)
    svc.reply(t.id, world.district_staff, version(t.id), "已修复。")
    (ev,) = events(t.id, EventAction.REPLY)
    assert ev.payload["late"] is False and ev.payload["co_replied"] == [] and ev.payload["co_pending"] == []
    assert lead(t.id).reply_working_days == 5


# --- what a user reads: button labels and refusal messages ------------------------------------
BUTTONS = [
    ("pending", "dispatcher", {"派单", "并单", "无效工单办结"}),
    ("pending", "operator", {"直接答复"}),
    ("signed", "d1staff", {"下派", "退单", "办结反馈", "延期申请"}),
    ("returned", "dispatcher", {"改派", "驳回退单"}),
    ("extension_pending", "dispatcher", {"延期审批"}),
    ("replied", "dispatcher", {"审核"}),
    ("reviewed", "callback", {"回访"}),
    ("unsatisfied", "supervisor", {"重办", "诉求不合理办结"}),
]


@pytest.mark.parametrize("situation, username, labels", BUTTONS, ids=[f"{s}-{u}" for s, u, _ in BUTTONS])
def test_ticket_page_buttons_carry_the_action_names(world, client, situation, username, labels):
    import re

    from tests.test_pages import login

    c = make(world, situation)
    login(client, username)
    html = client.get(f"/tickets/{c.t}").get_data(as_text=True)
    shown = set(re.findall(r'<summary class="button">([^<]+)</summary>', html))
    assert labels <= shown  # (later stages may add buttons of their own)


def test_the_unreachable_closing_button_and_its_refusal(world, client):
    import re

    from tests.test_pages import login

    c = make(world, "reviewed")
    for n in (1, 2):
        svc.record_callback(c.t, world.callback_agent, c.v, reached=False, note="无人接听")
        err = refused(c.t, lambda: svc.close(c.t, world.callback_agent, c.v, "unreachable"),
                      (DomainError, "CALLBACK_ATTEMPTS", None))
        assert err.message == f"需回访 3 次均未联系上才能按未联系上办结（当前 {n} 次）"
    svc.record_callback(c.t, world.callback_agent, c.v, reached="0", citizen_words="", note="忙音")
    assert events(c.t, EventAction.CALLBACK)[-1].note == "忙音"
    login(client, "callback")
    html = client.get(f"/tickets/{c.t}").get_data(as_text=True)
    assert "未联系上办结" in re.findall(r'<summary class="button">([^<]+)</summary>', html)
    svc.close(c.t, world.callback_agent, c.v, "unreachable", note="三次未接通")
    ev = events(c.t, EventAction.CLOSE)[-1]
    assert (ev.from_state, ev.to_state, ev.note) == (TicketState.REVIEWED, TicketState.CLOSED, "三次未接通")
    assert ev.payload == {"closure": "unreachable", "closure_label": "未联系上"}


def test_unknown_action_message_and_waiting_at_a_given_moment(world):
    t = world.record()
    with pytest.raises(DomainError) as info:
        perform("teleport", t.id, world.dispatcher, t.version)
    assert info.value.message == "未知操作：teleport"
    c = make(world, "signed_co")
    co = assignment_of(c.t, world.housing)
    assert "reply" in waiting_notices(fresh(c.t), world.district_staff, co.handle_due_at)
    # once the co-unit's own deadline has passed it no longer holds the lead's reply
    assert waiting_notices(fresh(c.t), world.district_staff, co.handle_due_at + timedelta(minutes=1)) == {}


def test_two_pending_co_units_are_both_named(world):
    t = world.signed(cos=[world.housing, world.water])
    err = refused(t.id, lambda: svc.reply(t.id, world.district_staff, version(t.id), "已处理。"),
                  (Waiting, "CO_UNITS_PENDING", None))
    assert err.message == "协办单位尚未反馈：市住房和城乡建设局、市自来水公司，请汇总其意见后再答复"
    assert err.details["units"] == ["市住房和城乡建设局", "市自来水公司"]


#: (field, value, accepted, the refusal's message or its start and end around the field's label)
INTAKE_RULES = [
    ("address", "路" * 300, True, None),
    ("address", "路" * 301, False, "事发地址不能超过300字"),
    ("caller_name", "", True, None),
    ("caller_name", "名" * 101, False, ("", "不能超过100字")),
    ("content", "", False, "请填写诉求内容"),
    ("title", "", False, "请填写工单标题"),
    ("district_id", "street", False, "所选区县无效"),
    ("caller_phone", "138 0000 1111", True, None),
    ("caller_phone", "", False, ("请填写", "")),
]


@pytest.mark.parametrize("field, value, ok, message", INTAKE_RULES,
                         ids=[f"{f}-{'ok' if ok else 'refused'}-{len(str(v))}" for f, v, ok, _ in INTAKE_RULES])
def test_intake_field_rules(world, field, value, ok, message):
    if value == "street":
        value = world.street.id
    if ok:
        t = world.record(**{field: value})
        if field == "caller_phone":
            assert t.caller_phone == "13800001111"
        return
    err = refused(None, lambda: world.record(**{field: value}), (ValidationFailed, "VALIDATION", field))
    if isinstance(message, tuple):  # the label itself ("来电人"/"诉求人") is the intake stage's wording
        assert err.message.startswith(message[0]) and err.message.endswith(message[1]) and len(err.message) > 5
    else:
        assert err.message == message


def test_reply_text_limits(world):
    c = make(world, "signed")
    err = refused(c.t, lambda: svc.reply(c.t, world.district_staff, c.v, "已处理", actions_taken="过" * 10001),
                  (ValidationFailed, "VALIDATION", "actions_taken"))
    assert err.message == "办理过程不能超过10000字"
    svc.reply(c.t, world.district_staff, c.v, "已处理", actions_taken="过" * 10000)
    (ev,) = events(c.t, EventAction.REPLY)
    from hotline.tickets.models import Reply
    reply_id = db.session.scalars(sa.select(Reply.id).where(Reply.ticket_id == c.t)).one()
    assert ev.payload["reply_id"] == reply_id


def test_dispatch_note_limit_and_hand_down_target_message(world):
    t = world.record()
    err = refused(t.id, lambda: svc.dispatch(t.id, world.dispatcher, t.version, world.district.id, note="注" * 4001),
                  (ValidationFailed, "VALIDATION", "note"))
    assert err.message == "派单说明不能超过4000字"
    s = make(world, "signed")
    err = refused(s.t, lambda: svc.hand_down(s.t, world.district_staff, s.v, world.housing.id),
                  (ValidationFailed, "VALIDATION", "sub_unit_id"))
    assert err.message == "只能下派给本单位的下级单位"


def test_return_overrule_redispatch_payloads_and_messages(world):
    c = make(world, "returned")
    (ret_ev,) = events(c.t, EventAction.RETURN)
    assert ret_ev.payload == {"reason": "not_our_duty", "reason_label": ReturnReason.NOT_OUR_DUTY.label,
                              "unit": "东城区人民政府", "role": "lead"}
    svc.overrule_return(c.t, world.dispatcher, c.v, c.return_id, "属地管理，须由东城区办理")
    (ev,) = events(c.t, EventAction.OVERRULE_RETURN)
    assert ev.payload == {"return_id": c.return_id, "unit": "东城区人民政府"}
    err = refused(c.t, lambda: svc.overrule_return(c.t, world.dispatcher, c.v, c.return_id, "再驳回"),
                  (DomainError, "RETURN_DECIDED", None))
    assert err.message == "该退单已处理（退单驳回）"
    r = make(world, "returned")
    svc.redispatch(r.t, world.dispatcher, r.v, r.return_id, lead_unit_id=world.housing.id, note="改派住建局")
    (ev,) = events(r.t, EventAction.REDISPATCH)
    assert ev.note == "改派住建局" and ev.payload["return_id"] == r.return_id
    assert [a["unit_id"] for a in ev.payload["assignments"]] == [world.housing.id]


def test_merge_note_refusal_field_and_close_payload(world):
    master = world.record()
    dup = world.record(caller_phone="13900002222")
    refused(dup.id, lambda: svc.act("merge", dup.id, world.dispatcher, dup.version, into_number="12345-nope"),
            (ValidationFailed, "VALIDATION", "into_number"))
    svc.merge(dup.id, world.dispatcher, dup.version, master.id, "同一部电梯")
    (ev,) = events(dup.id, EventAction.MERGE)
    assert ev.note == "同一部电梯"
    c = make(world, "invalid")
    (ev,) = events(c.t, EventAction.CLOSE)
    assert ev.payload == {"closure": "invalid", "closure_label": "无效工单"} and ev.note == "骚扰电话"


def test_extension_boundaries_messages_and_payloads(world):
    c = make(world, "signed")
    a = lead(c.t)
    due, original = a.handle_due_at, a.handle_due_original_at
    err = refused(c.t, lambda: svc.request_extension(c.t, world.district_staff, c.v, due, "需要时间"),
                  (ValidationFailed, "VALIDATION", "requested_due_at"))
    assert err.message == "申请的期限须晚于当前办理期限"
    latest = calendar().add_working_days(original, 10).at
    err = refused(c.t, lambda: svc.request_extension(c.t, world.district_staff, c.v, latest + timedelta(minutes=1),
                                                     "需要时间"), (ValidationFailed, "VALIDATION", "requested_due_at"))
    assert err.message == f"延期不能超过10工作日（最晚 {latest:%Y-%m-%d %H:%M}）"
    req = svc.request_extension(c.t, world.district_staff, c.v, latest, "需协调厂家")
    (ev,) = events(c.t, EventAction.REQUEST_EXTENSION)
    assert ev.payload == {"old_due_at": due.isoformat(), "requested_due_at": latest.isoformat()}
    new_due = due + timedelta(days=1)
    svc.approve_extension(c.t, world.dispatcher, c.v, req.id, "同意", new_due_at=new_due)
    (ev,) = events(c.t, EventAction.APPROVE_EXTENSION)
    assert ev.payload == {"request_id": req.id, "old_due_at": due.isoformat(),
                          "new_due_at": new_due.isoformat()}
    assert REGISTRY["decide_extension"].done_message(req) == "已同意延期"
    err = refused(c.t, lambda: svc.refuse_extension(c.t, world.dispatcher, c.v, req.id, "不同意"),
                  (DomainError, "EXTENSION_DECIDED", None))
    assert err.message == "该延期申请已处理（已同意）"
    at(new_due)
    err = refused(c.t, lambda: svc.request_extension(c.t, world.district_staff, c.v, latest, "再延期"),
                  (DomainError, "EXTENSION_TOO_LATE", None))
    assert err.message == "已超过办理时限，不能再申请延期"


def test_review_and_callback_refusals_name_their_fields(world):
    c = make(world, "replied")
    err = refused(c.t, lambda: svc.act("review", c.t, world.dispatcher, c.v, decision="maybe"),
                  (ValidationFailed, "VALIDATION", "decision"))
    assert err.message == "请选择审核结果"
    svc.review(c.t, world.dispatcher, c.v, accept=True)
    err = refused(c.t, lambda: svc.record_callback(c.t, world.callback_agent, c.v, reached=None),
                  (ValidationFailed, "VALIDATION", "reached"))
    assert err.message == "请选择是否联系上"
    err = refused(c.t, lambda: svc.record_callback(c.t, world.callback_agent, c.v, reached=True, resolution="maybe",
                                                   satisfaction="satisfied"),
                  (ValidationFailed, "VALIDATION", "resolution"))
    assert err.message == "解决情况的取值无效"


def test_case_refusals_name_their_fields(world):
    c, case = reopened(world)
    err = refused(c.t, lambda: svc.act("progress", c.t, world.district_staff, target="abc", text="x"),
                  (ValidationFailed, "VALIDATION", "case_id"))
    assert err.message == "督办单不存在"
    err = refused(c.t, lambda: svc.report_progress(case.id, world.district_staff, " "),
                  (ValidationFailed, "VALIDATION", "text"))
    assert err.message == "请填写进展情况"
    assert lead(c.t).escalation_level == 1


def test_the_calendar_needs_an_application_context(app):
    import contextvars

    with pytest.raises(RuntimeError, match="^the working calendar needs an application context$"):
        contextvars.Context().run(calendar)  # a blank context: no application context in it


def test_intake_page_stores_every_field_of_the_form(world, client):
    from tests.test_pages import csrf_token, login

    login(client, "operator")
    html = client.get("/intake/new").get_data(as_text=True)
    resp = client.post("/intake/new", data={
        "csrf_token": csrf_token(html), "channel": "wechat", "request_type": "complaint", "urgency": "urgent",
        "category_id": str(world.category.id), "caller_name": "李女士", "caller_phone": "13811112222",
        "confidential": "y", "address": "和平路 8 号", "district_id": str(world.district.id),
        "title": "噪音扰民", "content": "夜间施工噪音扰民，请处理。", "save": "保存并转派单"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    t = db.session.scalars(sa.select(Ticket)).one()
    assert (t.channel.value, t.request_type.value, t.urgency.value, t.category_id, t.caller_name, t.caller_phone,
            t.confidential, t.address, t.district_id, t.title, t.content) == (
        "wechat", "complaint", "urgent", world.category.id, "李女士", "13811112222", True, "和平路 8 号",
        world.district.id, "噪音扰民", "夜间施工噪音扰民，请处理。")


STAGES = [
    ("pending", "operator", "intake", {"answer"}),
    ("pending", "dispatcher", "dispatch", {"dispatch", "merge", "close"}),
    ("returned", "dispatcher", "dispatch", {"redispatch", "overrule"}),
    ("signed", "district_staff", "handling", {"hand_down", "return", "reply", "extension"}),
    ("dispatched", "district_staff", "handling", {"sign", "hand_down", "return"}),
    ("extension_pending", "dispatcher", "handling", {"decide_extension"}),
    ("replied", "dispatcher", "review", {"review"}),
    ("reviewed", "callback_agent", "callbacks", {"callback"}),
    ("unsatisfied", "supervisor", "supervision", {"reopen", "confirm_unreasonable"}),
    ("reopened", "district_staff", "supervision", {"progress"}),
]


@pytest.mark.parametrize("situation, user, stage, keys", STAGES, ids=[f"{s}-{st}" for s, _, st, _ in STAGES])
def test_each_stage_offers_its_own_actions(world, situation, user, stage, keys):
    c = make(world, situation)
    offered = available_actions(fresh(c.t), getattr(world, user), stage=stage)
    assert keys <= set(offered)  # (later stages may add actions of their own)
    assert all(REGISTRY[k].stage == stage for k in offered)


def test_only_a_flagged_unsatisfied_may_be_closed_as_unreasonable(world):
    """The guard holds even if the agent's flag is missing on the latest callback (e.g.
    corrected afterwards): the supervisor can then only reopen."""
    from hotline.callbacks.models import Callback

    t = world.unsatisfied()
    db.session.execute(sa.update(Callback).where(Callback.ticket_id == t.id).values(request_reasonable=None))
    db.session.commit()
    assert set(available_actions(fresh(t.id), world.supervisor)) == {"reopen"}
    err = refused(t.id, lambda: svc.confirm_unreasonable(t.id, world.supervisor, version(t.id), "不合理"),
                  (DomainError, "NOT_FLAGGED", None))
    assert err.message == "回访员未判定该诉求不合理，不能按诉求不合理办结"
