"""Report periods: ISO weeks (2026-W48) and calendar months (2026-11)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from hotline.errors import ValidationFailed


def parse_week(week: str) -> tuple[datetime, datetime]:
    """'2026-W48' -> (Monday 00:00, next Monday 00:00)."""
    try:
        year, num = week.strip().upper().split("-W")
        monday = date.fromisocalendar(int(year), int(num), 1)
    except (ValueError, AttributeError):
        raise ValidationFailed("周次格式应为 YYYY-Www，例如 2026-W48", field="week") from None
    start = datetime.combine(monday, datetime.min.time())
    return start, start + timedelta(days=7)


def week_of(moment: datetime | date) -> str:
    y, w, _ = moment.isocalendar()
    return f"{y}-W{w:02d}"


def previous_week(moment: datetime) -> str:
    return week_of(moment - timedelta(days=7))


def parse_month(month: str) -> tuple[datetime, datetime]:
    """'2026-11' -> (1 Nov 00:00, 1 Dec 00:00)."""
    try:
        year, num = (int(x) for x in month.strip().split("-"))
        first = date(year, num, 1)
    except (ValueError, AttributeError, TypeError):
        raise ValidationFailed("月份格式应为 YYYY-MM，例如 2026-11", field="month") from None
    nxt = date(year + (num == 12), num % 12 + 1, 1)
    return datetime.combine(first, datetime.min.time()), datetime.combine(nxt, datetime.min.time())


def month_of(moment: datetime | date) -> str:
    return f"{moment.year}-{moment.month:02d}"


def previous_month(moment: datetime | date) -> str:
    first = date(moment.year, moment.month, 1)
    return month_of(first - timedelta(days=1))


PARSE = {"weekly": parse_week, "monthly": parse_month}
NAME = {"weekly": week_of, "monthly": month_of}
PREVIOUS = {"weekly": lambda start: week_of(start - timedelta(days=7)),
            "monthly": lambda start: previous_month(start)}
LAST_FINISHED = {"weekly": previous_week, "monthly": previous_month}


def parse(kind: str, key: str) -> tuple[str, datetime, datetime]:
    """(canonical key, start, end) of a period of `kind`."""
    start, end = PARSE[kind](key)
    return NAME[kind](start), start, end
