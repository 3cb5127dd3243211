"""Ticket numbers: 12345-YYYYMMDD-NNNNNN, one atomic upsert per day."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.errors import DomainError
from hotline.extensions import db


#: One upsert, the same SQL on PostgreSQL and SQLite (3.35+). Written as text so it is
#: compiled once: SQLAlchemy does not cache the dialects' INSERT … ON CONFLICT constructs.
NEXT_NUMBER = sa.text("INSERT INTO ticket_sequences (day, last) VALUES (:day, 1) "
                      "ON CONFLICT (day) DO UPDATE SET last = ticket_sequences.last + 1 "
                      "RETURNING last").bindparams(sa.bindparam("day", type_=sa.Date()))


def allocate_number(moment: datetime) -> str:
    """Next ticket number of the day, `12345-YYYYMMDD-NNNNNN`, by one atomic upsert.

    The upsert takes the day's row lock until the transaction ends, so two intakes at the
    same moment get different numbers, on PostgreSQL as on SQLite, and a rolled-back
    intake hands its number back instead of leaving a gap that was never used. Take it
    as late as possible: after every read of the transaction, just before its inserts.
    """
    day = moment.date()
    seq = db.session.execute(NEXT_NUMBER, {"day": day}).scalar_one()
    if seq > 999_999:
        raise DomainError("NUMBER_EXHAUSTED", "当日工单编号已用完")
    return f"12345-{day:%Y%m%d}-{seq:06d}"
