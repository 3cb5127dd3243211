"""The unit's clock: working minutes by the work calendar, a suspension across a statutory
holiday moving the deadlines by exactly the working time it lasted, and deadlines
recomputed when the admin enters and confirms next year's holidays."""
from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa

from hotline.deadlines.models import CalendarYear, HolidayOverride
from hotline.deadlines.recompute import recompute_open_deadlines
from hotline.deadlines.services import WorkCalendar, calendar, forget_calendar
from hotline.enums import EventAction, ExtensionState, NotificationKind, TicketState
from hotline.extensions import db
from hotline.handling.models import Suspension
from hotline.lifecycle import unit_of_work
from hotline.notifications.models import Notification
from hotline.scheduler.jobs import deadline_watch, escalation
from hotline.tickets.models import ExtensionRequest, TicketEvent
from tests import svc
from tests.factories import at
from tests.test_transitions_support import assignment_of, fresh_ticket

DAY = 9 * 60  # working minutes in a working day (09:00-18:00)


def plain(overrides=None, years=()):
    return WorkCalendar(overrides or {}, set(years), time(9), time(18))


# --- working minutes --------------------------------------------------------------------
def test_working_minutes_between_skip_nights_weekends_and_the_2026_national_day_holiday():
    cal = plain()
    # Wed 30 Sep 10:00 → Fri 9 Oct 10:00: 1-7 Oct off (Golden Week), 8 and 9 Oct working
    assert cal.working_minutes_between(datetime(2026, 9, 30, 10), datetime(2026, 10, 9, 10)) == 8 * 60 + DAY + 60
    # a make-up working Saturday counts (10 Oct 2026), a plain Sunday does not
    assert cal.working_minutes_between(datetime(2026, 10, 10, 8), datetime(2026, 10, 12, 9, 30)) == DAY + 30
    # nights and the same moment
    assert cal.working_minutes_between(datetime(2026, 11, 23, 18), datetime(2026, 11, 24, 9)) == 0
    assert cal.working_minutes_between(datetime(2026, 11, 24, 12), datetime(2026, 11, 24, 12)) == 0
    assert cal.working_minutes_between(datetime(2026, 11, 24, 12), datetime(2026, 11, 24, 11)) == 0


def test_adding_working_minutes_skips_the_same_days():
    cal = plain()
    assert cal.add_working_minutes(datetime(2026, 9, 30, 10), 8 * 60 + DAY + 60).at == datetime(2026, 10, 9, 10)
    assert cal.add_working_minutes(datetime(2026, 10, 10, 10), 2 * DAY).at == datetime(2026, 10, 13, 10)
    # from outside working hours: counted from the next opening
    assert cal.add_working_minutes(datetime(2026, 11, 27, 20), 60).at == datetime(2026, 11, 30, 10)
    # up to the closing moment stays on the day
    assert cal.add_working_minutes(datetime(2026, 11, 24, 17), 60).at == datetime(2026, 11, 24, 18)
    assert cal.add_working_minutes(datetime(2026, 11, 24, 17), 0).at == datetime(2026, 11, 24, 17)
    # N working days later at the same time of day, as add_working_days
    start = datetime(2026, 12, 28, 9, 30)
    assert cal.add_working_minutes(start, 5 * DAY).at == cal.add_working_days(start, 5).at


def test_working_minutes_use_admin_overrides_and_report_provisional_days():
    cal = plain({date(2027, 1, 1): False})
    assert cal.working_minutes_between(datetime(2026, 12, 31, 17), datetime(2027, 1, 4, 10)) == 60 + 60
    due = cal.add_working_minutes(datetime(2026, 12, 31, 17), 2 * 60)
    assert due.at == datetime(2027, 1, 4, 10) and due.confirmed is False  # 2027 not confirmed yet
    confirmed = plain({date(2027, 1, 1): False}, years=[2027]).add_working_minutes(datetime(2026, 12, 31, 17), 120)
    assert confirmed.confirmed is True


# --- a suspension across a statutory holiday ---------------------------------------------
def test_suspension_across_the_national_day_holiday_moves_the_deadlines_by_the_suspended_working_days(world):
    w = world
    at(datetime(2026, 9, 28, 10))  # Monday
    t = w.signed(cos=[w.housing])
    lead, co = assignment_of(t.id, w.district), assignment_of(t.id, w.housing)
    # 5 working days: 29, 30 Sep, 8, 9, 10 Oct (a make-up Saturday); co-unit one working day earlier
    assert lead.handle_due_at == datetime(2026, 10, 10, 10) and co.handle_due_at == datetime(2026, 10, 9, 10)
    co_sign_due = co.sign_due_at
    assert co_sign_due == datetime(2026, 9, 29, 10)
    svc.act("request_suspension", t.id, w.district_staff, fresh_ticket(t.id).version,
            reason="涉事企业国庆停工，节后方能核实", expected_resume_on=date(2026, 10, 9))
    at(datetime(2026, 9, 29, 10))
    svc.act("decide_suspension", t.id, w.dispatcher, fresh_ticket(t.id).version, decision="approve")
    # the clocks stand still over the co-unit's sign deadline and the holiday
    at(datetime(2026, 10, 9, 9, 30))
    with unit_of_work():
        deadline_watch(datetime(2026, 10, 9, 9, 30))
        escalation(datetime(2026, 10, 9, 9, 30))
    assert assignment_of(t.id, w.housing).sign_overdue_at is None
    # resumed Fri 9 Oct 10:00: stood still 29 Sep 10:00 → 9 Oct 10:00 = 29 Sep (8h) + 30 Sep + 8 Oct + 1h of 9 Oct
    at(datetime(2026, 10, 9, 10))
    svc.act("resume", t.id, w.district_staff, fresh_ticket(t.id).version)
    row = db.session.scalars(sa.select(Suspension)).one()
    assert row.working_minutes == 3 * DAY
    lead, co = assignment_of(t.id, w.district), assignment_of(t.id, w.housing)
    # three working days later: 10 Oct (Sat, make-up) → 12, 13, 14 Oct; co 9 Oct → 10, 12, 13 Oct
    assert lead.handle_due_at == datetime(2026, 10, 14, 10)
    assert co.handle_due_at == datetime(2026, 10, 13, 10)
    # due at the very moment the clocks stopped, with no time left: due again the moment they restart
    assert co.sign_due_at == datetime(2026, 10, 9, 10)
    assert lead.handle_due_original_at == datetime(2026, 10, 14, 10)
    assert lead.handle_warn_at == lead.handle_started_at + (lead.handle_due_at - lead.handle_started_at) * 0.8
    event = db.session.scalars(sa.select(TicketEvent).where(TicketEvent.action == EventAction.RESUME)).one()
    assert event.payload["working_minutes"] == 3 * DAY
    by_unit = {c["unit"]: c for c in event.payload["deadlines"]}
    assert by_unit[w.district.name]["handle_due_at"] == [datetime(2026, 10, 10, 10).isoformat(),
                                                         datetime(2026, 10, 14, 10).isoformat()]
    assert fresh_ticket(t.id).state is TicketState.SIGNED


# --- the admin enters next year's holidays -----------------------------------------------
def test_a_december_ticket_gets_a_provisional_deadline_recomputed_when_the_admin_confirms_the_year(world):
    w = world
    at(datetime(2026, 12, 28, 9, 30))  # Monday; 2027 is beyond the chinese-calendar package's data
    t = w.signed()
    a = assignment_of(t.id, w.district)
    # 29, 30, 31 Dec, then 1 Jan 2027 (a weekday, provisionally working), 4 Jan
    assert a.handle_due_at == datetime(2027, 1, 4, 9, 30) and a.calendar_confirmed is False
    version = fresh_ticket(t.id).version

    # the admin enters New Year's Day 2027 and confirms the year
    with unit_of_work():
        db.session.add(HolidayOverride(day=date(2027, 1, 1), is_workday=False, name="元旦"))
        db.session.add(CalendarYear(year=2027, confirmed=True))
        db.session.flush()
        forget_calendar()
        moved = recompute_open_deadlines(2027, w.admin, datetime(2026, 12, 28, 15))
    assert moved == 1
    a = assignment_of(t.id, w.district)
    assert a.handle_due_at == datetime(2027, 1, 5, 9, 30) and a.calendar_confirmed is True
    assert a.handle_due_original_at == datetime(2027, 1, 5, 9, 30)
    assert a.handle_warn_at == a.handle_started_at + (a.handle_due_at - a.handle_started_at) * 0.8
    ticket = fresh_ticket(t.id)
    assert ticket.version == version  # a system notice, like the scheduler's
    (event,) = [e for e in ticket.events if e.action is EventAction.DEADLINE_RECOMPUTED]
    (change,) = event.payload["assignments"]
    assert change["handle_due_at"] == [datetime(2027, 1, 4, 9, 30).isoformat(), datetime(2027, 1, 5, 9, 30).isoformat()]
    assert db.session.scalars(sa.select(Notification).where(Notification.kind == NotificationKind.DEADLINE,
                                                            Notification.unit_id == w.district.id)).one()
    # running it again changes nothing
    with unit_of_work():
        assert recompute_open_deadlines(2027, w.admin, datetime(2026, 12, 28, 16)) == 0

    # not overdue a day early: the deadline watch on 4 Jan after 09:30 leaves it alone
    at(datetime(2027, 1, 4, 12))
    with unit_of_work():
        deadline_watch(datetime(2027, 1, 4, 12))
        escalation(datetime(2027, 1, 4, 12))
    a = assignment_of(t.id, w.district)
    assert a.handle_overdue_at is None and a.escalation_level == 1
    at(datetime(2027, 1, 5, 9, 31))
    with unit_of_work():
        deadline_watch(datetime(2027, 1, 5, 9, 31))
    assert assignment_of(t.id, w.district).handle_overdue_at == datetime(2027, 1, 5, 9, 31)


def test_recompute_keeps_approved_extensions_and_replays_suspensions(world):
    w = world
    at(datetime(2026, 12, 21, 9, 30))  # Monday
    t = w.signed()
    a = assignment_of(t.id, w.district)
    assert a.handle_due_at == datetime(2026, 12, 28, 9, 30)
    # suspended Tue 22 Dec 9:30 → Wed 23 Dec 9:30 (one working day)
    svc.act("request_suspension", t.id, w.district_staff, fresh_ticket(t.id).version, reason="等待鉴定",
            expected_resume_on=date(2026, 12, 23))
    at(datetime(2026, 12, 22, 9, 30))
    svc.act("decide_suspension", t.id, w.dispatcher, fresh_ticket(t.id).version, decision="approve")
    at(datetime(2026, 12, 23, 9, 30))
    svc.act("resume", t.id, w.dispatcher, fresh_ticket(t.id).version)
    assert assignment_of(t.id, w.district).handle_due_at == datetime(2026, 12, 29, 9, 30)
    # an extension to a date in 2027 (provisional), approved
    req = svc.request_extension(t.id, w.district_staff, fresh_ticket(t.id).version, datetime(2027, 1, 6, 9, 30),
                                "需协调厂家")
    svc.approve_extension(t.id, w.dispatcher, fresh_ticket(t.id).version, req.id)
    assert db.session.get(ExtensionRequest, req.id).state is ExtensionState.APPROVED
    with unit_of_work():
        db.session.add(HolidayOverride(day=date(2027, 1, 1), is_workday=False, name="元旦"))
        db.session.flush()
        recompute_open_deadlines(None, w.admin, datetime(2026, 12, 23, 12), days=(date(2027, 1, 1), date(2027, 1, 1)))
    a = assignment_of(t.id, w.district)
    # the approved date stands (the dispatcher chose a moment); the cap is the base + the suspension
    assert a.handle_due_at == datetime(2027, 1, 6, 9, 30)
    assert a.handle_due_original_at == datetime(2026, 12, 29, 9, 30)
    assert calendar().is_workday(date(2027, 1, 1)) is False


def test_the_admin_pages_recompute_a_december_ticket_when_2027_is_entered_and_confirmed(world, client):
    """The same, through the admin's holiday pages: adding 元旦 and confirming 2027 moves
    the open provisional deadline, with a DEADLINE_RECOMPUTED event by the admin."""
    from tests.test_admin_pages import submit
    from tests.test_pages import login

    at(datetime(2026, 12, 28, 9, 30))
    t = world.signed()
    assert assignment_of(t.id, world.district).handle_due_at == datetime(2027, 1, 4, 9, 30)
    login(client, "admin")
    resp = submit(client, "/admin/holidays/new", dict(day="2027-01-01", is_workday="0", name="元旦"),
                  form_page="/admin/holidays?year=2027")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    resp = submit(client, "/admin/holidays/years/2027", dict(confirmed="1", note="国务院办公厅通知"),
                  form_page="/admin/holidays")
    assert resp.status_code == 302
    a = assignment_of(t.id, world.district)
    assert a.handle_due_at == datetime(2027, 1, 5, 9, 30) and a.calendar_confirmed is True
    events = [e for e in fresh_ticket(t.id).events if e.action is EventAction.DEADLINE_RECOMPUTED]
    assert events and events[-1].actor_id == world.admin.id
