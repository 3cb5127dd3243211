"""Working-day deadlines.

A day is a working day by, in order: the admin's override for that day; the
`chinese-calendar` package for the years it covers (statutory holidays and make-up
working days, 调休); otherwise the plain weekday rule. Days decided by the weekday rule in
a year the admin has not confirmed make the deadline "unconfirmed", which the pages show,
so a ticket dispatched in late December still gets a deadline when the package stops at
the year's end.

A limit of N working days runs from the dispatch moment, aligned to working time (a
ticket dispatched at night or on a holiday starts at the next working day's opening
hour), to the same time of day N working days later. Hour and minute limits (urgent and
critical tickets) run on the plain clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar
import sqlalchemy as sa
from flask import current_app, g, has_app_context

from hotline.deadlines.models import CalendarYear, HolidayOverride, TimeLimitPolicy
from hotline.enums import DeadlineClock, LimitUnit, RequestType, Urgency
from hotline.extensions import db
from hotline import refcache, settings

WD, H, MIN = LimitUnit.WORKING_DAYS, LimitUnit.HOURS, LimitUnit.MINUTES
N, U, C = Urgency.NORMAL, Urgency.URGENT, Urgency.CRITICAL

#: DESIGN.md's default policy: (clock, request type or None for any) -> urgency -> limit.
DEFAULT_POLICY: dict[tuple[DeadlineClock, RequestType | None], dict[Urgency, tuple[int, LimitUnit] | None]] = {
    (DeadlineClock.SIGN, None): {N: (1, WD), U: (2, H), C: (30, MIN)},
    (DeadlineClock.HANDLE, None): {N: (5, WD), U: (24, H), C: (2, H)},
    (DeadlineClock.HANDLE, RequestType.CONSULTATION): {N: (3, WD), U: (24, H), C: (2, H)},
    (DeadlineClock.HANDLE, RequestType.HELP): {N: (5, WD), U: (24, H), C: (2, H)},
    (DeadlineClock.HANDLE, RequestType.SUGGESTION): {N: (5, WD), U: (24, H), C: (2, H)},
    (DeadlineClock.HANDLE, RequestType.COMPLAINT): {N: (15, WD), U: (24, H), C: (2, H)},
    (DeadlineClock.HANDLE, RequestType.REPORT): {N: (15, WD), U: (24, H), C: (2, H)},
    (DeadlineClock.RETURN, None): {N: (2, WD), U: (2, H), C: (30, MIN)},
    (DeadlineClock.CALLBACK, None): {N: (1, WD), U: (1, WD), C: (1, WD)},
    (DeadlineClock.EXTENSION_MAX, None): {N: (10, WD), U: None, C: None},
}

MAX_SCAN_DAYS = 800  # no real limit spans this many calendar days


@dataclass(frozen=True)
class Due:
    at: datetime
    confirmed: bool = True


@lru_cache(maxsize=None)
def _package_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def _parse_hhmm(value: str) -> time:
    hh, mm = value.split(":")
    return time(int(hh), int(mm))


class WorkCalendar:
    def __init__(self, overrides: dict[date, bool], confirmed_years: set[int],
                 day_start: time = time(9), day_end: time = time(18)):
        if day_end <= day_start:
            raise ValueError("working hours must end after they start")
        self.overrides = overrides
        self.confirmed_years = confirmed_years
        self.day_start = day_start
        self.day_end = day_end
        self._days: dict[date, tuple[bool, bool]] = {}

    @classmethod
    def load(cls, session=None) -> WorkCalendar:
        session = session or db.session()
        overrides = dict(session.execute(
            sa.select(HolidayOverride.day, HolidayOverride.is_workday)).all())
        years = set(session.scalars(
            sa.select(CalendarYear.year).where(CalendarYear.confirmed.is_(True))))
        cfg = current_app.config
        return cls(overrides, years, _parse_hhmm(cfg["WORKDAY_START"]), _parse_hhmm(cfg["WORKDAY_END"]))

    # --- days -------------------------------------------------------------------
    def year_confirmed(self, year: int) -> bool:
        return year in self.confirmed_years or _package_covers(year)

    def day_status(self, day: date) -> tuple[bool, bool]:
        """(is working day, is that known for sure), remembered per day: reports ask it for
        every day of every assignment they average."""
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._day_status(day)
        return known

    def _day_status(self, day: date) -> tuple[bool, bool]:
        if day in self.overrides:
            return self.overrides[day], True
        if _package_covers(day.year):
            return chinese_calendar.is_workday(day), True
        return day.weekday() < 5, day.year in self.confirmed_years

    def is_workday(self, day: date) -> bool:
        return self.day_status(day)[0]

    def next_workday(self, day: date) -> tuple[date, bool]:
        """The first working day after `day`, and whether every day passed was certain."""
        confirmed = True
        for _ in range(MAX_SCAN_DAYS):
            day += timedelta(days=1)
            work, sure = self.day_status(day)
            confirmed &= sure
            if work:
                return day, confirmed
        raise RuntimeError("no working day found within the scan limit; check holiday overrides")

    def previous_workday(self, day: date) -> date:
        for _ in range(MAX_SCAN_DAYS):
            day -= timedelta(days=1)
            if self.day_status(day)[0]:
                return day
        raise RuntimeError("no working day found within the scan limit; check holiday overrides")

    def sub_working_days(self, moment: datetime, days: int) -> datetime:
        """The instant `days` working days before `moment` (same time of day): anything
        due at or before it has been overdue for at least that many working days."""
        day = moment.date()
        for _ in range(days):
            day = self.previous_workday(day)
        return datetime.combine(day, moment.time())

    # --- instants ---------------------------------------------------------------
    def align(self, moment: datetime) -> tuple[datetime, bool]:
        """Move `moment` to working time: unchanged inside working hours, else the next opening."""
        work, sure = self.day_status(moment.date())
        if work and moment.time() < self.day_start:
            return datetime.combine(moment.date(), self.day_start), sure
        if work and moment.time() < self.day_end:
            return moment, sure
        day, confirmed = self.next_workday(moment.date())
        return datetime.combine(day, self.day_start), sure and confirmed

    def add_working_days(self, start: datetime, days: int) -> Due:
        if days < 0:
            raise ValueError("working days must not be negative")
        moment, confirmed = self.align(start)
        day = moment.date()
        for _ in range(days):
            day, sure = self.next_workday(day)
            confirmed &= sure
        return Due(datetime.combine(day, moment.time()), confirmed)

    def add(self, start: datetime, amount: int, unit: LimitUnit) -> Due:
        unit = LimitUnit.coerce(unit)
        if unit is LimitUnit.WORKING_DAYS:
            return self.add_working_days(start, amount)
        if unit is LimitUnit.HOURS:
            return Due(start + timedelta(hours=amount))
        return Due(start + timedelta(minutes=amount))

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days from `start` to `end` (0 when end is not after start)."""
        if end <= start:
            return 0
        count, day = 0, start.date()
        while True:
            day, _ = self.next_workday(day)
            if datetime.combine(day, start.time()) > end:
                return count
            count += 1

    @property
    def minutes_per_day(self) -> int:
        """The working minutes of one working day (09:00–18:00: 540)."""
        return (datetime.combine(date.min, self.day_end) - datetime.combine(date.min, self.day_start)).seconds // 60

    # --- working minutes (挂起: the clocks stand still for the working time it lasts) ---
    def working_minutes_between(self, start: datetime, end: datetime) -> int:
        """Working minutes from `start` to `end`: the overlap with the working hours of each
        working day between them (holidays off, make-up working days on); 0 when end <= start."""
        if end <= start:
            return 0
        total, day = 0, start.date()
        while day <= end.date():
            if self.day_status(day)[0]:
                lo = max(start, datetime.combine(day, self.day_start))
                hi = min(end, datetime.combine(day, self.day_end))
                if hi > lo:
                    total += int((hi - lo).total_seconds() // 60)
            day += timedelta(days=1)
        return total

    def add_working_minutes(self, start: datetime, minutes: int) -> Due:
        """The moment `minutes` working minutes after `start` (counted in working hours of
        working days only), and whether every day passed was certain."""
        if minutes < 0:
            raise ValueError("working minutes must not be negative")
        if minutes == 0:
            return Due(start, self.day_status(start.date())[1])
        moment, confirmed = self.align(start)
        for _ in range(MAX_SCAN_DAYS):
            left = int((datetime.combine(moment.date(), self.day_end) - moment).total_seconds() // 60)
            if minutes <= left:
                return Due(moment + timedelta(minutes=minutes), confirmed)
            minutes -= left
            day, sure = self.next_workday(moment.date())
            confirmed &= sure
            moment = datetime.combine(day, self.day_start)
        raise RuntimeError("no working day found within the scan limit; check holiday overrides")


@refcache.part("calendar")
def _shared_calendar(session) -> WorkCalendar:
    """The calendar of the process's reference snapshot: loaded once per change of the
    reference data (holiday overrides and confirmed years are reference tables), shared
    by the requests (its per-day memo is a function of what it was loaded from)."""
    return WorkCalendar.load(session)


def calendar() -> WorkCalendar:
    """The calendar for this request/app context (taken once per context from the
    per-process reference cache, hotline.refcache)."""
    if has_app_context():
        cal = g.get("_hotline_calendar")
        if cal is None:
            cal = g._hotline_calendar = _shared_calendar()
        return cal
    raise RuntimeError("the working calendar needs an application context")


def forget_calendar() -> None:
    """Drop the cached calendar after the admin edits overrides."""
    if has_app_context():
        g.pop("_hotline_calendar", None)


# --- policy --------------------------------------------------------------------
def default_limit(clock: DeadlineClock, request_type: RequestType | None, urgency: Urgency):
    row = DEFAULT_POLICY.get((clock, request_type)) or DEFAULT_POLICY.get((clock, None))
    return row.get(urgency) if row else None


@dataclass(frozen=True)
class PolicyCell:
    """One row of the time-limit policy (cached per process, hotline.refcache)."""
    clock: DeadlineClock
    request_type: RequestType | None
    urgency: Urgency
    amount: int | None
    unit: LimitUnit


@refcache.part("time_limit_policy")
def _policy(session) -> dict[tuple[DeadlineClock, Urgency], tuple[PolicyCell, ...]]:
    """The policy's rows by (clock, urgency), in id order."""
    p = TimeLimitPolicy
    out: dict = {}
    for row in session.execute(sa.select(p.clock, p.request_type, p.urgency, p.amount, p.unit).order_by(p.id)):
        out.setdefault((row.clock, row.urgency), []).append(PolicyCell(*row))
    return {k: tuple(v) for k, v in out.items()}


def limit_for(clock: DeadlineClock, request_type: RequestType | None, urgency: Urgency):
    """(amount, unit) for a clock, or None when the policy allows nothing (e.g. no extension).
    The row for the request type wins over the row for every type (request_type NULL)."""
    rows = [r for r in _policy().get((clock, urgency), ()) if r.request_type in (request_type, None)]
    specific = [r for r in rows if r.request_type is not None]
    chosen = (specific or rows or [None])[0]
    if chosen is None:
        return default_limit(clock, request_type, urgency)
    if chosen.amount is None:
        return None
    return chosen.amount, chosen.unit


def due_for(clock: DeadlineClock, request_type, urgency, start: datetime) -> Due | None:
    limit = limit_for(clock, request_type, urgency)
    if limit is None:
        return None
    return calendar().add(start, *limit)


def seed_default_policy() -> int:
    """Write DESIGN.md's default policy into the table where a cell is missing."""
    have = {(r.clock, r.request_type, r.urgency) for r in db.session.scalars(sa.select(TimeLimitPolicy))}
    added = 0
    for (clock, rtype), cells in DEFAULT_POLICY.items():
        for urgency, limit in cells.items():
            if (clock, rtype, urgency) in have:
                continue
            amount, unit = limit if limit else (None, LimitUnit.WORKING_DAYS)
            db.session.add(TimeLimitPolicy(clock=clock, request_type=rtype, urgency=urgency,
                                           amount=amount, unit=unit))
            added += 1
    return added


def warn_at(start: datetime, due: datetime) -> datetime:
    """The warning moment: a configured fraction (default 80%) of the allowed time."""
    fraction = float(current_app.config.get("WARN_FRACTION", 0.8))
    return start + (due - start) * fraction


#: 协办: a co-unit's handle deadline is this many working days before the lead's (never
#: before its sign deadline; only for limits counted in working days). 0: the lead's.
CO_UNIT_DAYS_BEFORE_LEAD = "co_unit_days_before_lead"


def co_unit_handle_due(request_type, urgency, lead_due: Due, sign_due: datetime) -> Due:
    """A co-unit's handle deadline from the lead's (setting `co_unit_days_before_lead`,
    default 1): N working days earlier, never before the sign deadline. Hour and minute
    limits (urgent, critical) run on the plain clock and are shared with the lead."""
    days = int(settings.value(CO_UNIT_DAYS_BEFORE_LEAD, 1) or 0)
    limit = limit_for(DeadlineClock.HANDLE, request_type, urgency)
    if days <= 0 or limit is None or LimitUnit.coerce(limit[1]) is not LimitUnit.WORKING_DAYS:
        return lead_due
    return Due(max(calendar().sub_working_days(lead_due.at, days), sign_due), lead_due.confirmed)


def stricter(handle: Due, due_by: datetime | None) -> Due:
    """上级转办: a platform's time limit (the ticket's external_due_at) binds when it is
    earlier than the handle deadline computed here; the stricter of the two applies."""
    if due_by is None or handle.at <= due_by:
        return handle
    return Due(due_by, True)


def assignment_clocks(request_type, urgency, start: datetime, *, co_unit: bool = False,
                      due_by: datetime | None = None) -> dict:
    """The sign, handle and return deadlines (and warning moments) of an assignment
    dispatched at `start`, as Assignment column values; the handle deadline is never
    later than `due_by` (a platform's limit, see `stricter`); a co-unit's handle deadline
    is earlier than the lead's (co_unit_handle_due)."""
    sign = due_for(DeadlineClock.SIGN, request_type, urgency, start)
    handle = stricter(due_for(DeadlineClock.HANDLE, request_type, urgency, start), due_by)
    ret = due_for(DeadlineClock.RETURN, request_type, urgency, start)
    if co_unit:
        handle = co_unit_handle_due(request_type, urgency, handle, sign.at)
    return {
        "sign_due_at": sign.at,
        "sign_warn_at": warn_at(start, sign.at),
        "handle_due_at": handle.at,
        "handle_started_at": start,
        "handle_warn_at": warn_at(start, handle.at),
        "handle_due_original_at": handle.at,
        "return_due_at": ret.at,
        "calendar_confirmed": sign.confirmed and handle.confirmed and ret.confirmed,
    }


def ticket_clocks(ticket, start: datetime, *, co_unit: bool = False) -> dict:
    """`assignment_clocks` for a ticket dispatched (or re-dispatched) at `start`: its
    request type and urgency, and its platform's time limit when it was handed over."""
    return assignment_clocks(ticket.request_type, ticket.urgency, start, co_unit=co_unit,
                             due_by=ticket.external_due_at)
