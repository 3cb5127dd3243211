"""Time limits and the calendar: the time-limit policy table and the holiday calendar
(days off, working weekends, the years whose official schedule is entered in full)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from hotline.admin.services.base import flushing, text
from hotline.deadlines.models import CalendarYear, HolidayOverride, TimeLimitPolicy
from hotline.deadlines.recompute import recompute_open_deadlines
from hotline.deadlines.services import DEFAULT_POLICY, _package_covers, default_limit, forget_calendar
from hotline.enums import DeadlineClock, LimitUnit, RequestType, Urgency
from hotline.errors import ValidationFailed
from hotline.extensions import db

MAX_LIMIT_AMOUNT = 999


# --- time-limit policy ------------------------------------------------------------
def cell_key(clock: DeadlineClock, request_type: RequestType | None, urgency: Urgency) -> str:
    """The form field suffix of one policy cell, e.g. "handle__complaint__normal"."""
    return f"{clock.value}__{request_type.value if request_type else 'any'}__{urgency.value}"


def policy_grid() -> list[dict]:
    """The policy as the pages show it: one row per (clock, request type), a cell per
    urgency holding the limit deadlines use now (the stored row, else what limit_for()
    falls back to)."""
    stored = {(r.clock, r.request_type, r.urgency): r for r in db.session.scalars(sa.select(TimeLimitPolicy))}
    keys = set(DEFAULT_POLICY) | {(c, t) for c, t, _ in stored}
    clocks, types = list(DeadlineClock), [None, *RequestType]
    rows = []
    for clock, rtype in sorted(keys, key=lambda k: (clocks.index(k[0]), types.index(k[1]))):
        cells = {}
        for urgency in Urgency:
            row = stored.get((clock, rtype, urgency)) or stored.get((clock, None, urgency))
            if row is not None:
                cells[urgency] = (row.amount, row.unit)
            else:
                limit = default_limit(clock, rtype, urgency)
                cells[urgency] = limit if limit else (None, LimitUnit.WORKING_DAYS)
        rows.append(dict(clock=clock, request_type=rtype, cells=cells, removable=(clock, rtype) not in DEFAULT_POLICY))
    return rows


def clean_limit_amount(raw, field: str | None = None) -> int | None:
    """A policy amount: a positive integer, or None ("not allowed") for an empty one."""
    raw = "" if raw is None else str(raw).strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT_AMOUNT:
        raise ValidationFailed(f"时限须为 1–{MAX_LIMIT_AMOUNT} 的正整数（留空表示不允许）", field=field)
    return int(raw)


def update_time_limits(values: dict[tuple, tuple]) -> int:
    """Store the policy cells {(clock, request type, urgency): (amount, unit)}; an empty
    amount means "not allowed". Returns the number of cells that changed."""
    clean = {}
    for (clock, rtype, urgency), (amount, unit) in values.items():
        key = cell_key(clock, rtype, urgency)
        amount = clean_limit_amount(amount, f"amount_{key}")
        try:
            unit = LimitUnit.coerce(unit)
        except ValueError:
            raise ValidationFailed("请选择时限单位", field=f"unit_{key}") from None
        clean[(clock, rtype, urgency)] = (amount, unit)
    stored = {(r.clock, r.request_type, r.urgency): r for r in db.session.scalars(sa.select(TimeLimitPolicy))}
    changed = 0
    with flushing():
        for (clock, rtype, urgency), (amount, unit) in clean.items():
            row = stored.get((clock, rtype, urgency))
            if row is None:
                row = TimeLimitPolicy(clock=clock, request_type=rtype, urgency=urgency)
                db.session.add(row)
            elif (row.amount, row.unit) == (amount, unit):
                continue
            row.amount, row.unit = amount, unit
            changed += 1
    return changed


def add_time_limit_row(clock, request_type) -> None:
    """A request-type row for a clock, starting from the limits that apply now."""
    try:
        clock, rtype = DeadlineClock.coerce(clock), RequestType.coerce(request_type)
    except ValueError:
        raise ValidationFailed("请选择时限和诉求类型", field="request_type") from None
    stored = db.session.scalar(sa.select(TimeLimitPolicy.id).where(
        TimeLimitPolicy.clock == clock, TimeLimitPolicy.request_type == rtype).limit(1))
    if stored or (clock, rtype) in DEFAULT_POLICY:
        raise ValidationFailed(f"{clock.label} · {rtype.label} 已有单独的时限", field="request_type")
    current = next((r["cells"] for r in policy_grid() if r["clock"] is clock and r["request_type"] is None), {})
    with flushing():
        for urgency in Urgency:
            amount, unit = current.get(urgency, (None, LimitUnit.WORKING_DAYS))
            db.session.add(TimeLimitPolicy(clock=clock, request_type=rtype, urgency=urgency, amount=amount, unit=unit))


def remove_time_limit_row(clock, request_type) -> None:
    """Drop an admin-added request-type row; the general row applies again."""
    try:
        clock, rtype = DeadlineClock.coerce(clock), RequestType.coerce(request_type)
    except ValueError:
        raise ValidationFailed("该时限行不存在") from None
    if (clock, rtype) in DEFAULT_POLICY:
        raise ValidationFailed("默认时限表中的行不能删除，可直接修改其数值")
    with flushing():
        db.session.execute(sa.delete(TimeLimitPolicy).where(
            TimeLimitPolicy.clock == clock, TimeLimitPolicy.request_type == rtype))


# --- holiday calendar -------------------------------------------------------------
def holidays_of(year: int) -> list[HolidayOverride]:
    return list(db.session.scalars(sa.select(HolidayOverride).where(
        HolidayOverride.day.between(date(year, 1, 1), date(year, 12, 31))).order_by(HolidayOverride.day)))


def calendar_years(around: int) -> list[dict]:
    """Each year worth showing (the years around `around` and every year with data):
    its override count, the admin's confirmation and whether the package covers it."""
    year_of = sa.extract("year", HolidayOverride.day)
    counts = {int(y): n for y, n in db.session.execute(sa.select(year_of, sa.func.count()).group_by(year_of))}
    confirmed = {c.year: c for c in db.session.scalars(sa.select(CalendarYear))}
    years = sorted({around - 1, around, around + 1} | set(counts) | set(confirmed))
    return [dict(year=y, overrides=counts.get(y, 0), package=_package_covers(y),
                 confirmed=bool(confirmed.get(y) and confirmed[y].confirmed),
                 note=confirmed[y].note if y in confirmed else "") for y in years]


def _clean_holiday(data: dict) -> dict:
    day = data.get("day")
    if not isinstance(day, date):
        raise ValidationFailed("请填写日期", field="day")
    if not 2000 <= day.year <= 2100:
        raise ValidationFailed("日期须在 2000–2100 年之间", field="day")
    return dict(day=day, is_workday=bool(data.get("is_workday")),
                name=text(data.get("name"), "名称", "name", 100, required=False))


def save_holiday(override: HolidayOverride | None, data: dict, actor=None) -> HolidayOverride:
    """Add a day (override None) or change one; its date is its identity and stays. Open
    deadlines that run over that day are recomputed."""
    clean = _clean_holiday(data)
    if override is None:
        existing = db.session.get(HolidayOverride, clean["day"])
        if existing is not None:
            kind = "工作日" if existing.is_workday else "休息日"
            raise ValidationFailed(f"{clean['day']:%Y-%m-%d} 已设置为{kind}，请在列表中修改", field="day")
    elif clean["day"] != override.day:
        raise ValidationFailed("日期不能修改；请删除后重新添加", field="day")
    with flushing():
        if override is None:
            override = HolidayOverride(**clean)
            db.session.add(override)
        else:
            override.is_workday, override.name = clean["is_workday"], clean["name"]
    forget_calendar()
    recompute_open_deadlines(None, actor, days=(clean["day"], clean["day"]))
    return override


def delete_holiday(override: HolidayOverride, actor=None) -> None:
    day = override.day
    with flushing():
        db.session.delete(override)
    forget_calendar()
    recompute_open_deadlines(None, actor, days=(day, day))


def set_year_confirmed(year: int, confirmed: bool, note: str = "", actor=None) -> CalendarYear:
    """Record that a year's official schedule is (or is no longer) entered in full; on
    confirmation the open deadlines computed provisionally for that year are recomputed."""
    if not 2000 <= year <= 2100:
        raise ValidationFailed("年份须在 2000–2100 之间", field="year")
    note = text(note, "说明", "note", 200, required=False)
    with flushing():
        row = db.session.get(CalendarYear, year)
        if row is None:
            row = CalendarYear(year=year)
            db.session.add(row)
        row.confirmed, row.note = confirmed, note
    forget_calendar()
    if confirmed:
        recompute_open_deadlines(year, actor)
    return row
