"""Ticket numbers: 12345-YYYYMMDD-NNNNNN, one atomic upsert per day."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite

from hotline.errors import DomainError
from hotline.extensions import db
from hotline.tickets.models import TicketSequence


def allocate_number(moment: datetime) -> str:
    """Next ticket number of the day, `12345-YYYYMMDD-NNNNNN`, by one atomic upsert.

    The upsert takes the day's row lock until the transaction ends, so two intakes at the
    same moment get different numbers, on PostgreSQL as on SQLite, and a rolled-back
    intake hands its number back instead of leaving a gap that was never used.
    """
    day = moment.date()
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(TicketSequence).values(day=day, last=1).on_conflict_do_update(
        index_elements=[TicketSequence.day], set_={"last": TicketSequence.last + 1}).returning(TicketSequence.last)
    seq = db.session.execute(stmt).scalar_one()
    if seq > 999_999:
        raise DomainError("NUMBER_EXHAUSTED", "当日工单编号已用完")
    return f"12345-{day:%Y%m%d}-{seq:06d}"
