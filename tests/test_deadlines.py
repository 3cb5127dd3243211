"""Working-day deadlines: weekends, the National Day holiday with its make-up Saturday,
the year end beyond the chinese-calendar package, admin overrides, hour-based limits."""
from datetime import date, datetime

import pytest

from hotline.deadlines.models import CalendarYear, HolidayOverride, TimeLimitPolicy
from hotline.deadlines.services import WorkCalendar, calendar, due_for, forget_calendar, limit_for
from hotline.enums import DeadlineClock, LimitUnit, RequestType, Urgency
from hotline.extensions import db
from tests.factories import at


def cal() -> WorkCalendar:
    forget_calendar()
    return calendar()


def test_one_working_day_over_a_weekend_lands_on_monday(app):
    due = cal().add_working_days(datetime(2026, 11, 27, 15, 0), 1)  # Friday afternoon
    assert due.at == datetime(2026, 11, 30, 15, 0)
    assert due.confirmed


def test_dispatch_at_night_starts_counting_at_next_opening(app):
    due = cal().add_working_days(datetime(2026, 11, 27, 21, 0), 1)  # Friday night
    assert due.at == datetime(2026, 12, 1, 9, 0)  # Monday 09:00 + 1 working day


def test_dispatch_before_opening_counts_from_opening(app):
    assert cal().add_working_days(datetime(2026, 11, 24, 7, 15), 1).at == datetime(2026, 11, 25, 9, 0)


def test_national_day_holiday_and_makeup_saturday(app):
    # Dispatched Tuesday 29 Sept 2026, 5 working days: 30 Sept, (1-7 Oct holiday), 8, 9, 10 (make-up
    # Saturday, a working day), then Monday 12 Oct.
    due = cal().add_working_days(datetime(2026, 9, 29, 10, 0), 5)
    assert due.at == datetime(2026, 10, 12, 10, 0)
    assert due.confirmed


def test_makeup_saturday_is_a_working_day_and_holiday_weekday_is_not(app):
    c = cal()
    assert c.is_workday(date(2026, 10, 10))  # Saturday, 调休 working day
    assert not c.is_workday(date(2026, 10, 5))  # Monday in the holiday
    # Dispatched on the holiday: counting starts at 8 Oct 09:00.
    assert c.add_working_days(datetime(2026, 10, 3, 11, 0), 1).at == datetime(2026, 10, 9, 9, 0)


def test_year_end_into_2027_without_overrides_uses_weekdays_and_is_unconfirmed(app):
    # 28 Dec 2026 (Mon) + 5 working days: 29, 30, 31 Dec, 1 Jan (a Friday: unknown, weekday rule), 4 Jan.
    due = cal().add_working_days(datetime(2026, 12, 28, 10, 0), 5)
    assert due.at == datetime(2027, 1, 4, 10, 0)
    assert not due.confirmed


def test_year_end_into_2027_uses_admin_overrides(app):
    db.session.add(HolidayOverride(day=date(2027, 1, 1), is_workday=False, name="元旦"))
    db.session.add(CalendarYear(year=2027, confirmed=True))
    db.session.commit()
    due = cal().add_working_days(datetime(2026, 12, 28, 10, 0), 5)
    assert due.at == datetime(2027, 1, 5, 10, 0)
    assert due.confirmed


def test_override_turns_a_saturday_into_a_working_day(app):
    db.session.add(HolidayOverride(day=date(2027, 1, 9), is_workday=True, name="调休上班"))
    db.session.commit()
    c = cal()
    assert c.is_workday(date(2027, 1, 9))
    assert c.add_working_days(datetime(2027, 1, 8, 10, 0), 1).at == datetime(2027, 1, 9, 10, 0)


def test_hour_based_limits_run_on_the_plain_clock(app):
    c = cal()
    saturday_night = datetime(2026, 11, 28, 23, 10)
    assert c.add(saturday_night, 2, LimitUnit.HOURS).at == datetime(2026, 11, 29, 1, 10)
    assert c.add(saturday_night, 30, LimitUnit.MINUTES).at == datetime(2026, 11, 28, 23, 40)


@pytest.mark.parametrize("rtype,urgency,expected", [
    (RequestType.CONSULTATION, Urgency.NORMAL, (3, LimitUnit.WORKING_DAYS)),
    (RequestType.HELP, Urgency.NORMAL, (5, LimitUnit.WORKING_DAYS)),
    (RequestType.SUGGESTION, Urgency.NORMAL, (5, LimitUnit.WORKING_DAYS)),
    (RequestType.COMPLAINT, Urgency.NORMAL, (15, LimitUnit.WORKING_DAYS)),
    (RequestType.REPORT, Urgency.NORMAL, (15, LimitUnit.WORKING_DAYS)),
    (RequestType.COMPLAINT, Urgency.URGENT, (24, LimitUnit.HOURS)),
    (RequestType.HELP, Urgency.CRITICAL, (2, LimitUnit.HOURS)),
])
def test_default_handle_policy_is_designs_table(app, rtype, urgency, expected):
    assert limit_for(DeadlineClock.HANDLE, rtype, urgency) == expected


def test_policy_is_stored_and_editable(app):
    row = db.session.query(TimeLimitPolicy).filter_by(
        clock=DeadlineClock.SIGN, request_type=None, urgency=Urgency.URGENT).one()
    assert (row.amount, row.unit) == (2, LimitUnit.HOURS)
    row.amount = 4
    db.session.commit()
    start = datetime(2026, 11, 24, 10, 0)
    assert due_for(DeadlineClock.SIGN, RequestType.HELP, Urgency.URGENT, start).at == datetime(2026, 11, 24, 14, 0)


def test_no_extension_for_urgent_tickets(app):
    assert limit_for(DeadlineClock.EXTENSION_MAX, RequestType.HELP, Urgency.URGENT) is None
    assert limit_for(DeadlineClock.EXTENSION_MAX, RequestType.HELP, Urgency.NORMAL) == (10, LimitUnit.WORKING_DAYS)


def test_dispatch_on_28_december_gets_deadlines_and_the_page_says_unconfirmed(world, client):
    at(datetime(2026, 12, 28, 10, 0))
    t = world.dispatched(request_type="help")
    lead = t.lead_assignment
    assert lead.handle_due_at == datetime(2027, 1, 4, 10, 0)
    assert lead.calendar_confirmed is False
    from tests.test_pages import login
    login(client, "dispatcher")
    page = client.get(f"/tickets/{t.id}").get_data(as_text=True)
    assert "节假日安排尚未确认" in page


def test_urgent_ticket_deadlines_in_hours(world):
    at(datetime(2026, 11, 28, 22, 0))  # Saturday night
    t = world.dispatched(urgency="urgent", request_type="complaint")
    a = t.lead_assignment
    assert a.sign_due_at == datetime(2026, 11, 29, 0, 0)
    assert a.handle_due_at == datetime(2026, 11, 29, 22, 0)
    assert a.return_due_at == datetime(2026, 11, 29, 0, 0)


def test_working_days_between(app):
    c = cal()
    assert c.working_days_between(datetime(2026, 11, 27, 10), datetime(2026, 12, 1, 11)) == 2
    assert c.working_days_between(datetime(2026, 11, 27, 10), datetime(2026, 11, 27, 9)) == 0
