"""Ticket numbers: 12345-YYYYMMDD-NNNNNN, one atomic upsert per day."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from hotline.database import SqlValue
from hotline.errors import DomainError
from hotline.extensions import db

#: Numbers of a day run from 1 to this, gapless; the next intake of the day is refused.
LAST_OF_DAY = 999_999
#: One upsert, the same SQL on PostgreSQL and SQLite (3.35+). Written as text so it is
#: compiled once: SQLAlchemy does not cache the dialects' INSERT … ON CONFLICT constructs.
_UPSERT = ("INSERT INTO ticket_sequences (day, last) VALUES (:number_day, 1) "
           "ON CONFLICT (day) DO UPDATE SET last = ticket_sequences.last + 1 RETURNING last")
NEXT_NUMBER = sa.text(_UPSERT).bindparams(sa.bindparam("number_day", type_=sa.Date()))
_DAY_NUMBER = NEXT_NUMBER.columns(sa.column("last", sa.Integer)).cte("day_number")
_last = sa.cast(_DAY_NUMBER.c["last"], sa.Text)
#: The number as PostgreSQL writes it inside the ticket's INSERT (format_number's format:
#: the prefix, then the day's count zero-padded to six digits; a seventh digit is written
#: whole, never cut, and refused by `_check` before the commit).
_NUMBER_SQL = (sa.select(sa.bindparam("number_prefix", type_=sa.String())
                         .concat(sa.func.lpad(_last, sa.func.greatest(6, sa.func.length(_last)), "0")))
               .scalar_subquery())


def prefix(day: date) -> str:
    return f"12345-{day:%Y%m%d}-"


def format_number(day: date, seq: int) -> str:
    return f"{prefix(day)}{seq:06d}"


def _check(number: str) -> None:
    if int(number.rsplit("-", 1)[1]) > LAST_OF_DAY:
        raise DomainError("NUMBER_EXHAUSTED", "当日工单编号已用完")


def allocate_number(moment: datetime) -> str:
    """Next ticket number of the day, `12345-YYYYMMDD-NNNNNN`, by one atomic upsert.

    The upsert takes the day's row lock until the transaction ends, so two intakes at the
    same moment get different numbers, on PostgreSQL as on SQLite, and a rolled-back
    intake hands its number back instead of leaving a gap that was never used. Take it
    as late as possible: after every read of the transaction, just before its inserts
    (or let the ticket's INSERT take it: `number_of_day`).
    """
    day = moment.date()
    number = format_number(day, db.session.execute(NEXT_NUMBER, {"number_day": day}).scalar_one())
    _check(number)
    return number


def number_of_day(moment: datetime) -> SqlValue:
    """The ticket's number as a value its INSERT computes (hotline.database.insert_now):
    on PostgreSQL the day's upsert runs inside the statement that writes the ticket, so
    the day's row is locked from that statement to the commit, one round trip, instead of
    from a statement of its own before it; elsewhere `allocate_number` runs first.
    Gapless and refused past the day's last number either way."""
    day = moment.date()
    return SqlValue("day_number", _NUMBER_SQL, {"number_day": day, "number_prefix": prefix(day)},
                    before=lambda conn: allocate_number(moment), check=_check)
