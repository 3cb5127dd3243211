"""Scheduled jobs with the clock set: warning, urging, overdue, escalation, supervision,
callback due; exactly once each, also when run twice or concurrently."""
from datetime import datetime, timedelta

import sqlalchemy as sa

from hotline.enums import EventAction, Satisfaction, TicketState
from hotline.scheduler import jobs
from hotline.notifications.models import Notification
from hotline.scheduler.models import Alert, Escalation
from hotline.supervision.models import SupervisionCase, SupervisionProgress
from hotline.extensions import db
from tests import svc
from hotline.tickets.models import Assignment, Ticket, TicketEvent
from tests.conftest import count
from tests.factories import at
from tests.test_concurrency import run_together
from tests.test_pages import csrf_token, login


def events(tid, action):
    return count(TicketEvent, TicketEvent.ticket_id == tid, TicketEvent.action == action)


def lead(tid) -> Assignment:
    db.session.expire_all()
    return db.session.get(Ticket, tid).lead_assignment


def test_warning_urge_overdue_each_once(world):
    t = world.signed(request_type="help")  # 5 working days
    a = lead(t.id)
    assert a.handle_warn_at == a.handle_started_at + (a.handle_due_at - a.handle_started_at) * 0.8
    at(a.handle_warn_at - timedelta(minutes=1))
    assert jobs.deadline_watch()["handle_warning"] == 0
    at(a.handle_warn_at)
    assert jobs.deadline_watch()["handle_warning"] == 1
    assert jobs.deadline_watch()["handle_warning"] == 0  # run again: nothing new
    assert events(t.id, EventAction.WARNING) == 1
    note = db.session.scalars(sa.select(Notification).where(Notification.ticket_id == t.id)).one()
    assert note.unit_id == world.district.id and "办理期限将至" in note.title
    at(a.handle_due_at)
    r = jobs.deadline_watch()
    assert (r["handle_urge"], r["handle_overdue"]) == (1, 0)
    at(a.handle_due_at + timedelta(minutes=5))
    r = jobs.deadline_watch()
    assert (r["handle_urge"], r["handle_overdue"]) == (0, 1)
    assert lead(t.id).handle_overdue_at == a.handle_due_at + timedelta(minutes=5)
    jobs.deadline_watch()
    assert [events(t.id, x) for x in (EventAction.WARNING, EventAction.URGE, EventAction.OVERDUE)] == [1, 1, 1]
    assert db.session.get(Ticket, t.id).version == t.version  # notices do not make users' forms stale


def test_sign_clock_alerts_and_late_run_records_everything_once(world):
    t = world.dispatched()
    a = lead(t.id)
    at(a.sign_due_at + timedelta(days=3))  # the scheduler was down for days
    r = jobs.deadline_watch()
    assert (r["sign_warning"], r["sign_urge"], r["sign_overdue"]) == (0, 1, 1)
    # handle clock: Mon 23 Nov 09:30 to Mon 30 Nov 09:30, warned at 80% (Sat 28 Nov 23:54): not yet
    assert (r["handle_warning"], r["handle_urge"]) == (0, 0)
    jobs.deadline_watch()
    assert events(t.id, EventAction.URGE) == 1 and count(Alert, Alert.clock == "sign") == 2


def test_signed_assignment_gets_no_sign_alerts(world):
    t = world.signed()
    at(lead(t.id).sign_due_at + timedelta(hours=1))
    assert jobs.deadline_watch()["sign_urge"] == 0


def test_extension_moves_the_deadline_and_warnings_follow(world):
    t = world.signed(request_type="help")
    a = lead(t.id)
    old_warn, old_due = a.handle_warn_at, a.handle_due_at
    at(old_warn)
    jobs.deadline_watch()
    req = svc.request_extension(t.id, world.district_staff, db.session.get(Ticket, t.id).version,
                                old_due + timedelta(days=7), "需要更多时间")
    svc.approve_extension(t.id, world.dispatcher, db.session.get(Ticket, t.id).version, req.id)
    b = lead(t.id)
    new_warn, new_due = b.handle_warn_at, b.handle_due_at
    assert new_warn > old_warn and new_due == old_due + timedelta(days=7)
    at(old_due + timedelta(minutes=5))  # the old deadline passed: not overdue any more
    r = jobs.deadline_watch()
    assert r["handle_overdue"] == 0 and r["handle_urge"] == 0
    at(new_warn)
    assert jobs.deadline_watch()["handle_warning"] == 1
    at(new_due + timedelta(minutes=1))
    assert jobs.deadline_watch()["handle_overdue"] == 1


def test_first_and_second_escalation_at_most_to_the_top(world):
    t = world.signed(lead=world.street)  # a street: its supervising unit is the district
    t = svc.sign(t.id, world.street_staff, t.version) if t.state is TicketState.DISPATCHED else t
    a = lead(t.id)
    at(a.handle_due_at - timedelta(minutes=1))
    assert jobs.escalation() == {"level_2": 0, "level_3": 0}
    at(a.handle_due_at + timedelta(minutes=1))
    assert jobs.escalation()["level_2"] == 1
    assert jobs.escalation()["level_2"] == 0
    esc = db.session.scalars(sa.select(Escalation)).one()
    assert (esc.level, esc.from_unit_id, esc.to_unit_id) == (2, world.street.id, world.district.id)
    assert lead(t.id).escalation_level == 2
    at(a.handle_due_at + timedelta(days=7))  # more than 3 working days later
    assert jobs.escalation()["level_3"] == 1
    at(a.handle_due_at + timedelta(days=30))
    assert jobs.escalation() == {"level_2": 0, "level_3": 0}
    levels = db.session.scalars(sa.select(Escalation.level).order_by(Escalation.level)).all()
    assert levels == [2, 3]
    assert db.session.scalars(sa.select(Escalation.to_unit_id).where(Escalation.level == 3)).one() == world.centre.id
    assert events(t.id, EventAction.ESCALATE) == 2


def test_supervision_opened_by_unsatisfied_escalated_by_second_unsatisfied_and_when_overdue(world):
    t = world.unsatisfied()
    svc.reopen(t.id, world.supervisor, db.session.get(Ticket, t.id).version, "重办")
    case = db.session.scalars(sa.select(SupervisionCase)).one()
    assert case.level == 1
    tv = db.session.get(Ticket, t.id)
    svc.reply(t.id, world.district_staff, tv.version, "再次处理。")
    svc.review(t.id, world.dispatcher, db.session.get(Ticket, t.id).version, accept=True)
    svc.act("signoff_approve", t.id, world.leader, db.session.get(Ticket, t.id).version, words="同意")  # 领导签批
    svc.record_callback(t.id, world.callback_agent, db.session.get(Ticket, t.id).version, reached=True,
                        resolution="unresolved", satisfaction=Satisfaction.UNSATISFIED, request_reasonable=False)
    svc.reopen(t.id, world.supervisor, db.session.get(Ticket, t.id).version, "再次重办")
    db.session.expire_all()
    case = db.session.scalars(sa.select(SupervisionCase)).one()
    assert case.level == 2
    at(case.due_at + timedelta(hours=1))
    jobs.escalation()
    db.session.expire_all()
    assert db.session.get(SupervisionCase, case.id).level == 3
    levels = db.session.scalars(sa.select(Escalation.level).where(Escalation.subject == "case")
                                .order_by(Escalation.level)).all()
    assert levels == [2, 3]  # the second 不满意 (on record too), then the job when the case was overdue
    assert count(Escalation, Escalation.subject == "case", Escalation.reason == "unsatisfied_again") == 1


def test_weekly_progress_report_is_urged_once_when_missing(world):
    t = world.unsatisfied()
    svc.reopen(t.id, world.supervisor, db.session.get(Ticket, t.id).version, "重办")
    case = db.session.scalars(sa.select(SupervisionCase)).one()
    at(case.opened_at + timedelta(days=6))
    assert jobs.supervision()["progress_urged"] == 0
    at(case.opened_at + timedelta(days=7, hours=1))
    assert jobs.supervision()["progress_urged"] == 1
    assert jobs.supervision()["progress_urged"] == 0
    db.session.add(SupervisionProgress(case_id=case.id, author_id=world.district_staff.id,
                                       created_at=case.opened_at + timedelta(days=10), text="已更换控制系统"))
    db.session.commit()
    at(case.opened_at + timedelta(days=14, hours=1))
    assert jobs.supervision()["progress_urged"] == 0  # reported in week two
    at(case.opened_at + timedelta(days=21, hours=1))
    assert jobs.supervision()["progress_urged"] == 1
    assert events(t.id, EventAction.PROGRESS_URGE) == 2


def test_callback_due_lists_and_notifies_agents_once(world, client):
    t = world.reviewed()
    due = db.session.get(Ticket, t.id).callback_due_at
    at(due + timedelta(minutes=1))
    assert jobs.callback_due()["callback_overdue"] == 1
    assert jobs.callback_due()["callback_overdue"] == 0
    login(client, "callback")
    html = client.get("/tickets?queue=callback_overdue").get_data(as_text=True)
    assert t.number in html
    home = client.get("/").get_data(as_text=True)
    assert 'id="bell-count">1<' in home


def test_jobs_run_twice_at_the_same_time_record_once(app, world):
    t = world.signed()
    a = lead(t.id)
    at(a.handle_due_at + timedelta(days=10))
    db.session.remove()
    results = run_together(app, 2, lambda i: jobs.deadline_watch())
    assert all(r[0] == "ok" for r in results), results
    assert sum(r[1]["handle_overdue"] for r in results) == 1
    results = run_together(app, 2, lambda i: jobs.escalation())
    assert all(r[0] == "ok" for r in results), results
    assert count(Escalation) == 2  # level 2 and level 3, once each
    assert events(t.id, EventAction.OVERDUE) == 1 and events(t.id, EventAction.ESCALATE) == 2


def test_notifications_page_and_mark_read(world, client):
    t = world.signed()
    at(lead(t.id).handle_warn_at)
    jobs.deadline_watch()
    login(client, "d1staff")
    html = client.get("/notifications?unread=1").get_data(as_text=True)
    assert "办理期限将至" in html and 'id="bell-count">1<' in html
    resp = client.post("/notifications/read", data={"csrf_token": csrf_token(html)})
    assert resp.status_code == 302
    assert 'id="bell-count">0<' in client.get("/").get_data(as_text=True)
    other = client.application.test_client()
    login(other, "d2staff")
    assert "办理期限将至" not in other.get("/notifications").get_data(as_text=True)


def test_jobs_cli_runs_as_if_at_a_given_time(app, world):
    t = world.signed()
    due = lead(t.id).handle_due_at
    db.session.commit()  # end the test's read transaction (SQLite: BEGIN IMMEDIATE holds the lock)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "run", "deadline_watch", "--at", (due + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")])
    assert result.exit_code == 0, result.output
    assert "'handle_overdue': 1" in result.output
    assert runner.invoke(args=["jobs", "run", "nope"]).exit_code != 0
    listing = runner.invoke(args=["jobs", "list"]).output
    assert "deadline_watch" in listing and "escalation" in listing


def test_supervision_and_callback_jobs_run_concurrently_record_once(app, world):
    t = world.unsatisfied()
    svc.reopen(t.id, world.supervisor, db.session.get(Ticket, t.id).version, "重办")
    case = db.session.scalars(sa.select(SupervisionCase)).one()
    r = world.reviewed()
    at(max(case.opened_at + timedelta(days=7, hours=1), db.session.get(Ticket, r.id).callback_due_at + timedelta(hours=1)))
    tid, rid = t.id, r.id
    db.session.remove()
    results = run_together(app, 2, lambda i: jobs.supervision() if i == 0 else jobs.callback_due())
    results += run_together(app, 2, lambda i: jobs.supervision())
    results += run_together(app, 2, lambda i: jobs.callback_due())
    assert all(x[0] == "ok" for x in results), results
    assert events(tid, EventAction.PROGRESS_URGE) == 1
    assert events(rid, EventAction.CALLBACK_OVERDUE) == 1


def test_weekly_report_job_runs_once_per_reported_week(app, world):
    from hotline.scheduler.runner import claim_run
    from hotline.reports.periods import parse_week, previous_week

    for moment in (datetime(2026, 11, 28, 12), datetime(2026, 11, 29, 23), datetime(2026, 11, 30, 8)):
        at(moment)  # Saturday, Sunday (start-ups) and the Monday 08:00 run
    due_sat = parse_week(previous_week(datetime(2026, 11, 28, 12)))[1] + timedelta(hours=8)
    due_mon = parse_week(previous_week(datetime(2026, 11, 30, 8)))[1] + timedelta(hours=8)
    assert due_sat == datetime(2026, 11, 23, 8) and due_mon == datetime(2026, 11, 30, 8)
    assert claim_run("weekly_report", due_sat, "a") is not None
    assert claim_run("weekly_report", due_mon, "a") is not None  # Monday's run is not swallowed
    assert claim_run("weekly_report", due_mon, "b") is None


class _FakeSMTP:
    """Stands in for the mail server at the network boundary; records what was sent."""

    sent: list = []

    def __init__(self, host, port, timeout=None):
        self.host, self.port = host, port

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, msg):
        _FakeSMTP.sent.append((msg["To"], msg["Subject"]))


def test_email_goes_to_units_with_an_address_only_when_smtp_is_configured(app, world, monkeypatch):
    import smtplib

    from hotline.notifications.models import Notification

    world.district.email = "dongcheng@example.gov.cn"
    t = world.signed()
    at(lead(t.id).handle_warn_at)
    jobs.deadline_watch()
    assert jobs.send_email() == {"sent": 0, "skipped": "MAIL_SERVER not configured"}
    monkeypatch.setattr(smtplib, "SMTP", _FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example")
    _FakeSMTP.sent = []
    assert jobs.send_email() == {"sent": 1}
    assert _FakeSMTP.sent == [("dongcheng@example.gov.cn", f"预警：工单 {t.number} 办理期限将至，请抓紧办理")]
    assert jobs.send_email() == {"sent": 0}  # never twice
    assert count(Notification, Notification.emailed_at.is_not(None)) == 1
