"""Scheduled jobs. Each is an operation (it flushes; the runner's unit of work commits
once at the job's boundary, see hotline.scheduler.runner). Each derives its work from the database and records what it did, so it
can run twice, late, or in two processes at once and nothing is lost or doubled.

The work is set-based SQL: a fact (warning, urge, overdue mark, escalation step) is
inserted with INSERT ... SELECT ... ON CONFLICT DO NOTHING under a unique key, tagged with
this run's token; events, notifications and marks are then written for exactly the rows
this run inserted, in the same transaction. Nothing is loaded into Python per ticket, so
memory stays flat with any number of open assignments.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from hotline.clock import now as clock_now
from hotline.deadlines.services import calendar
from hotline.enums import (AlertClock, AlertKind, AlertSubject, AssignmentState, EscalationReason, EventAction,
                           NotificationKind, Role, SupervisionLevel, SupervisionState, TicketState, UnitKind)
from hotline.extensions import db
from hotline.lifecycle.events import insert_from_select, json_literal
from hotline.notifications.models import Notification
from hotline.notifications.services import send_pending_email
from hotline.reports.snapshots import report_job
from hotline.scheduler.models import Alert, Escalation
from hotline.supervision.levels import level_names
from hotline.supervision.models import SupervisionCase, SupervisionProgress
from hotline.tickets.models import Assignment, Ticket
from hotline.units.models import Unit
from hotline.webhooks.sender import send_due

OPEN = (AssignmentState.DISPATCHED.value, AssignmentState.SIGNED.value)
#: A supervision case weighs on the unit only while the unit is handling the ticket; once
#: it has replied, the case waits for review, callback and the supervisor's acceptance.
UNIT_HANDLING = (TicketState.DISPATCHED, TicketState.SIGNED, TicketState.REOPENED)
PROGRESS_PERIOD = timedelta(days=7)


def not_suspended():
    """挂起: a suspended ticket's clocks stand still (no warning, urge, overdue or escalation)."""
    return ~sa.exists(sa.select(Ticket.id).where(Ticket.id == Assignment.ticket_id,
                                                 Ticket.state == TicketState.SUSPENDED))


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def _text(value):
    """A string (or a string enum's value) as a SQL literal."""
    return sa.literal(getattr(value, "value", value), sa.String)


def _count(model, token: str, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.run_token == token, *where))


# --- deadline watch ---------------------------------------------------------------------
@dataclass(frozen=True)
class AlertSpec:
    clock: AlertClock
    kind: AlertKind
    action: EventAction
    title: str  # after the ticket number

    def due_col(self):
        return Assignment.sign_due_at if self.clock is AlertClock.SIGN else Assignment.handle_due_at

    def condition(self, now: datetime):
        if self.clock is AlertClock.SIGN:
            states = Assignment.state == AssignmentState.DISPATCHED
            warn, due = Assignment.sign_warn_at, Assignment.sign_due_at
        else:
            states = Assignment.state.in_(OPEN)
            warn, due = Assignment.handle_warn_at, Assignment.handle_due_at
        if self.kind is AlertKind.WARNING:
            return sa.and_(states, warn <= now, due > now)
        if self.kind is AlertKind.URGE:
            return sa.and_(states, due <= now)
        return sa.and_(states, due < now)


ALERTS = [
    AlertSpec(AlertClock.SIGN, AlertKind.WARNING, EventAction.WARNING, " 签收期限将至，请及时签收"),
    AlertSpec(AlertClock.HANDLE, AlertKind.WARNING, EventAction.WARNING, " 办理期限将至，请抓紧办理"),
    AlertSpec(AlertClock.SIGN, AlertKind.URGE, EventAction.URGE, " 已到签收期限，请立即签收"),
    AlertSpec(AlertClock.HANDLE, AlertKind.URGE, EventAction.URGE, " 已到办理期限，请立即办结反馈"),
    AlertSpec(AlertClock.SIGN, AlertKind.OVERDUE, EventAction.OVERDUE, " 签收超期"),
    AlertSpec(AlertClock.HANDLE, AlertKind.OVERDUE, EventAction.OVERDUE, " 办理超期"),
]


def _alert_events_and_notices(token: str, spec_clock: AlertClock, spec_kind: AlertKind, action: EventAction, title: str,
                              now: datetime, notify_unit, subject: AlertSubject = AlertSubject.ASSIGNMENT) -> None:
    """Events and notifications for the alerts this run inserted of one (clock, kind)."""
    new = sa.and_(Alert.run_token == token, Alert.clock == spec_clock, Alert.kind == spec_kind,
                  Alert.subject == subject)
    payload = json_literal({"source": "scheduler", "clock": spec_clock.value, "kind": spec_kind.value})
    ev = sa.select(Alert.ticket_id, _text(action.value), Ticket.state, Ticket.state, sa.literal(now),
                   _text(""), payload).join(Ticket, Ticket.id == Alert.ticket_id).where(new)
    insert_from_select(ev)
    if notify_unit is not None:
        nt = (sa.select(notify_unit, Alert.ticket_id, _text(NotificationKind(f"{spec_clock.value}_{spec_kind.value}")),
                        _text(action.label + "：工单 ") + Ticket.number + _text(title), _text(""), sa.literal(now),
                        _text(token))
              .join(Ticket, Ticket.id == Alert.ticket_id)
              .join(Assignment, Assignment.id == Alert.subject_id)
              .where(new))
        db.session.execute(sa.insert(Notification).from_select(
            ["unit_id", "ticket_id", "kind", "title", "body", "created_at", "run_token"], nt))


def deadline_watch(now: datetime | None = None) -> dict:
    """预警 at the warning moment, 催办 at the deadline, 超期 after it; each once per deadline."""
    now = now or clock_now()
    token = uuid.uuid4().hex
    found = {}
    for spec in ALERTS:
        due = spec.due_col()
        sel = sa.select(_text(AlertSubject.ASSIGNMENT), Assignment.id, Assignment.ticket_id, _text(spec.clock),
                        _text(spec.kind), due, sa.literal(now), _text(token)).where(
            Assignment.active.is_(True), not_suspended(), spec.condition(now))
        db.session.execute(_insert(Alert).from_select(
            ["subject", "subject_id", "ticket_id", "clock", "kind", "due_at", "created_at", "run_token"], sel
        ).on_conflict_do_nothing())
        _alert_events_and_notices(token, spec.clock, spec.kind, spec.action, spec.title, now,
                                  sa.func.coalesce(Assignment.handler_unit_id, Assignment.unit_id))
        if spec.kind is AlertKind.OVERDUE:
            col = "sign_overdue_at" if spec.clock is AlertClock.SIGN else "handle_overdue_at"
            db.session.execute(sa.update(Assignment).where(Assignment.id.in_(
                sa.select(Alert.subject_id).where(Alert.run_token == token, Alert.clock == spec.clock,
                                                  Alert.kind == AlertKind.OVERDUE))).values({col: now}))
        found[f"{spec.clock.value}_{spec.kind.value}"] = _count(Alert, token, Alert.clock == spec.clock, Alert.kind == spec.kind)
    return found


# --- escalation -------------------------------------------------------------------------
def _centre_id():
    return sa.select(Unit.id).where(Unit.kind == UnitKind.CENTRE).order_by(Unit.id).limit(1).scalar_subquery()


def _escalate(subject: str, model, level_col, due_col, open_cond, overdue_now, overdue_long, reason: str,
              now: datetime, tokens: list[str]) -> None:
    """One level up for what is overdue (first step) or overdue for a further period
    (second step), from whatever level it is at, at most to 3. The steps already taken
    for this deadline are counted from `escalations`, so a deadline that moves starts over."""
    unit = aliased(Unit)
    steps_taken = (sa.select(sa.func.count()).select_from(Escalation)
                   .where(Escalation.subject == subject, Escalation.subject_id == model.id,
                          Escalation.due_at == due_col, Escalation.reason == reason)
                   .scalar_subquery())
    for step, cond in ((0, overdue_now), (1, overdue_long)):
        token = f"{subject[0]}{step}{uuid.uuid4().hex[:30]}"  # one token per step: the update below is by token
        tokens.append(token)
        new_level = level_col + 1
        target = sa.case((new_level >= int(SupervisionLevel.top()), _centre_id()), else_=sa.func.coalesce(unit.supervisor_id, unit.parent_id))
        sel = (sa.select(_text(subject), model.id, model.ticket_id, new_level, model.unit_id, target, _text(reason),
                         due_col, sa.literal(now), _text(token))
               .join(unit, unit.id == model.unit_id)
               .where(open_cond, level_col < int(SupervisionLevel.top()), cond, steps_taken == step))
        db.session.execute(_insert(Escalation).from_select(
            ["subject", "subject_id", "ticket_id", "level", "from_unit_id", "to_unit_id", "reason", "due_at",
             "created_at", "run_token"], sel).on_conflict_do_nothing())
        db.session.execute(sa.update(model).where(model.id.in_(
            sa.select(Escalation.subject_id).where(Escalation.run_token == token)))
            .values({level_col.key: level_col + 1}))


def escalation(now: datetime | None = None) -> dict:
    """Overdue assignments and supervision cases go one level up the chain; a further
    period overdue (ESCALATE_AGAIN_AFTER_WORKING_DAYS) goes up again, at most to level 3."""
    now = now or clock_now()
    tokens: list[str] = []
    cutoff = calendar().sub_working_days(now, current_app.config["ESCALATE_AGAIN_AFTER_WORKING_DAYS"])
    a_open = sa.and_(Assignment.active.is_(True), Assignment.state.in_(OPEN), not_suspended())
    unsigned = Assignment.state == AssignmentState.DISPATCHED
    _escalate(AlertSubject.ASSIGNMENT, Assignment, Assignment.escalation_level, Assignment.handle_due_at, a_open,
              sa.or_(Assignment.handle_due_at < now, sa.and_(unsigned, Assignment.sign_due_at < now)),
              sa.or_(Assignment.handle_due_at <= cutoff, sa.and_(unsigned, Assignment.sign_due_at <= cutoff)),
              EscalationReason.OVERDUE, now, tokens)
    handling = sa.exists(sa.select(Ticket.id).where(Ticket.id == SupervisionCase.ticket_id,
                                                    Ticket.state.in_(UNIT_HANDLING)))
    _escalate(AlertSubject.CASE, SupervisionCase, SupervisionCase.level, SupervisionCase.due_at,
              sa.and_(SupervisionCase.state == SupervisionState.OPEN, handling), SupervisionCase.due_at < now,
              SupervisionCase.due_at <= cutoff, EscalationReason.SUPERVISION_OVERDUE, now, tokens)
    new = Escalation.run_token.in_(tokens)
    ev = (sa.select(Escalation.ticket_id, _text(EventAction.ESCALATE.value), Ticket.state, Ticket.state,
                    sa.literal(now), _text("升级至") + sa.case(
                        *[(Escalation.level == k, _text(v)) for k, v in level_names().items()], else_=_text("")),
                    json_literal({"source": "scheduler", "kind": "escalation"}))
          .join(Ticket, Ticket.id == Escalation.ticket_id).where(new))
    insert_from_select(ev)
    for unit_col in (Escalation.to_unit_id, Escalation.from_unit_id):
        nt = (sa.select(unit_col, Escalation.ticket_id, _text(NotificationKind.ESCALATION),
                        _text("升级督办：工单 ") + Ticket.number + _text(" 超期，已升级"), _text(""), sa.literal(now),
                        Escalation.run_token)
              .join(Ticket, Ticket.id == Escalation.ticket_id).where(new, unit_col.is_not(None)))
        db.session.execute(sa.insert(Notification).from_select(
            ["unit_id", "ticket_id", "kind", "title", "body", "created_at", "run_token"], nt))
    result = {f"level_{lv}": db.session.scalar(sa.select(sa.func.count()).select_from(Escalation).where(
        new, Escalation.level == lv)) for lv in (2, 3)}
    return result


# --- supervision and callbacks ----------------------------------------------------------
def supervision(now: datetime | None = None) -> dict:
    """Urge the weekly progress report (周报进展) of every open supervision case that has
    none for its last full week; once per case and week."""
    now = now or clock_now()
    token = uuid.uuid4().hex
    cases = db.session.execute(sa.select(SupervisionCase.id, SupervisionCase.ticket_id, SupervisionCase.unit_id,
                                         SupervisionCase.opened_at)
                               .join(Ticket, Ticket.id == SupervisionCase.ticket_id)
                               .where(SupervisionCase.state == SupervisionState.OPEN,
                                      Ticket.state.in_(UNIT_HANDLING))).all()
    for case_id, ticket_id, unit_id, opened_at in cases:
        weeks = int((now - opened_at) / PROGRESS_PERIOD)
        if weeks < 1:
            continue
        due = opened_at + weeks * PROGRESS_PERIOD
        reported = db.session.scalar(sa.select(sa.func.count()).select_from(SupervisionProgress).where(
            SupervisionProgress.case_id == case_id, SupervisionProgress.created_at >= due - PROGRESS_PERIOD,
            SupervisionProgress.created_at < due))
        if reported:
            continue
        db.session.execute(_insert(Alert).values(
            subject=AlertSubject.CASE, subject_id=case_id, ticket_id=ticket_id, clock=AlertClock.PROGRESS,
            kind=AlertKind.URGE, due_at=due,
            created_at=now, run_token=token).on_conflict_do_nothing())
    _alert_events_and_notices(token, AlertClock.PROGRESS, AlertKind.URGE, EventAction.PROGRESS_URGE, "", now, None,
                              subject=AlertSubject.CASE)
    nt = (sa.select(SupervisionCase.unit_id, Alert.ticket_id, _text(NotificationKind.PROGRESS_URGE),
                    _text("督办进展催报：工单 ") + Ticket.number + _text(" 本周进展未报送"), _text(""),
                    sa.literal(now), _text(token))
          .join(Ticket, Ticket.id == Alert.ticket_id).join(SupervisionCase, SupervisionCase.id == Alert.subject_id)
          .where(Alert.run_token == token, Alert.subject == AlertSubject.CASE))
    db.session.execute(sa.insert(Notification).from_select(
        ["unit_id", "ticket_id", "kind", "title", "body", "created_at", "run_token"], nt))
    result = {"progress_urged": _count(Alert, token)}
    return result


def callback_due(now: datetime | None = None) -> dict:
    """Reviewed tickets not called back within their limit: once each, a notice to the
    callback agents (they also appear on the agents' overdue list, a live query)."""
    now = now or clock_now()
    token = uuid.uuid4().hex
    sel = sa.select(_text(AlertSubject.TICKET), Ticket.id, Ticket.id, _text(AlertClock.CALLBACK), _text(AlertKind.OVERDUE), Ticket.callback_due_at,
                    sa.literal(now), _text(token)).where(
        Ticket.state == TicketState.REVIEWED, Ticket.callback_due_at < now)
    db.session.execute(_insert(Alert).from_select(
        ["subject", "subject_id", "ticket_id", "clock", "kind", "due_at", "created_at", "run_token"], sel
    ).on_conflict_do_nothing())
    _alert_events_and_notices(token, AlertClock.CALLBACK, AlertKind.OVERDUE, EventAction.CALLBACK_OVERDUE, "", now,
                              None, subject=AlertSubject.TICKET)
    nt = (sa.select(_text(Role.CALLBACK_AGENT.value), Alert.ticket_id, _text(NotificationKind.CALLBACK_OVERDUE),
                    _text("回访超期：工单 ") + Ticket.number + _text(" 未在时限内回访"), _text(""), sa.literal(now),
                    _text(token))
          .join(Ticket, Ticket.id == Alert.ticket_id).where(Alert.run_token == token, Alert.subject == AlertSubject.TICKET))
    db.session.execute(sa.insert(Notification).from_select(
        ["role", "ticket_id", "kind", "title", "body", "created_at", "run_token"], nt))
    result = {"callback_overdue": _count(Alert, token)}
    return result


def follow_up(now: datetime | None = None) -> dict:
    """纳入计划: on a planned ticket's follow-up date (or the first run after it) urge the
    lead unit to report on its plan; once per ticket and follow-up date (a new date is a
    new urging)."""
    now = now or clock_now()
    token = uuid.uuid4().hex
    due = db.session.execute(sa.select(Ticket.id, Ticket.follow_up_on).where(
        Ticket.state == TicketState.PLANNED, Ticket.follow_up_on.is_not(None),
        Ticket.follow_up_on <= now.date())).all()
    if due:
        db.session.execute(_insert(Alert).values([
            dict(subject=AlertSubject.TICKET, subject_id=tid, ticket_id=tid, clock=AlertClock.FOLLOW_UP,
                 kind=AlertKind.URGE, due_at=datetime.combine(day, datetime.min.time()), created_at=now,
                 run_token=token) for tid, day in due]).on_conflict_do_nothing())
    _alert_events_and_notices(token, AlertClock.FOLLOW_UP, AlertKind.URGE, EventAction.FOLLOW_UP_URGE, "", now,
                              None, subject=AlertSubject.TICKET)
    nt = (sa.select(Ticket.lead_unit_id, Alert.ticket_id, _text(NotificationKind.FOLLOW_UP_URGE),
                    _text("计划跟踪催办：工单 ") + Ticket.number + _text(" 已到计划跟踪日期，请报送计划落实情况或办结反馈"),
                    _text(""), sa.literal(now), _text(token))
          .join(Ticket, Ticket.id == Alert.ticket_id)
          .where(Alert.run_token == token, Alert.clock == AlertClock.FOLLOW_UP, Ticket.lead_unit_id.is_not(None)))
    db.session.execute(sa.insert(Notification).from_select(
        ["unit_id", "ticket_id", "kind", "title", "body", "created_at", "run_token"], nt))
    return {"follow_up_urged": _count(Alert, token, Alert.clock == AlertClock.FOLLOW_UP)}


def send_email(now: datetime | None = None) -> dict:
    """Mail unit notifications when SMTP is configured (off by default)."""
    return send_pending_email(now or clock_now())


def weekly_report(now: datetime | None = None) -> dict:
    """Mondays 08:00: generate and store the past week's overdue report."""
    return report_job("weekly", now or clock_now())


def monthly_report(now: datetime | None = None) -> dict:
    """The 1st of each month, 08:00: generate and store the past month's bulletin (月度通报)."""
    return report_job("monthly", now or clock_now())


def webhooks(now: datetime | None = None) -> dict:
    """Send the due webhook deliveries (signed, retried with back-off; hotline.webhooks.sender)."""
    return send_due(now)


def audit_purge(now: datetime | None = None) -> dict:
    """Daily: delete audit entries older than the retention period (流程设置); the purge is
    itself recorded."""
    from hotline.audit.services import purge, retention_days

    days = retention_days()
    return {"retention_days": days, "deleted": purge(days, now or clock_now())}


JOBS: dict[str, Callable[..., dict]] = {
    "deadline_watch": deadline_watch,
    "escalation": escalation,
    "supervision": supervision,
    "callback_due": callback_due,
    "follow_up": follow_up,
    "send_email": send_email,
    "weekly_report": weekly_report,
    "monthly_report": monthly_report,
    "webhooks": webhooks,
    "audit_purge": audit_purge,
}
