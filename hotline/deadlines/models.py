"""The hotline's own calendar (admin overrides) and the editable time-limit policy."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hotline.enums import DeadlineClock, LimitUnit, RequestType, Urgency, enum_column
from hotline.extensions import db


class HolidayOverride(db.Model):
    """A day whose status the admin states: a holiday, or a make-up working day (调休).

    Overrides win over the `chinese-calendar` package, and are how next year's schedule
    gets in before the package knows it.
    """

    __tablename__ = "holiday_overrides"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool]
    name: Mapped[str] = mapped_column(sa.String(100), default="")


class CalendarYear(db.Model):
    """The admin's statement that a year's official schedule has been entered in full."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    confirmed: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(sa.String(200), default="")


class TimeLimitPolicy(db.Model):
    """One cell of the time-limit table: clock x request type x urgency -> amount + unit.

    `request_type` NULL means "any request type" (the sign, return, callback and extension
    clocks do not depend on it); a row for a specific type wins over the NULL row.
    """

    __tablename__ = "time_limit_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    clock: Mapped[DeadlineClock] = mapped_column(enum_column(DeadlineClock))
    request_type: Mapped[RequestType | None] = mapped_column(enum_column(RequestType))
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency))
    amount: Mapped[int | None]  # NULL: not allowed (e.g. no extension for urgent tickets)
    unit: Mapped[LimitUnit] = mapped_column(enum_column(LimitUnit))

    __table_args__ = (
        sa.UniqueConstraint("clock", "request_type", "urgency", name="uq_time_limit_cell"),
    )
