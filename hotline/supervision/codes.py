"""督办编号, the number a supervision sheet is known by, and a new sheet's default deadline."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from hotline.deadlines.services import calendar
from hotline.extensions import db
from hotline.supervision.models import SupervisionCase

CODE_PREFIX = "DB"
#: pg_advisory_xact_lock key space of the 督办编号 (one lock per year).
_CODE_LOCK_BASE = 0x44420000


def next_case_code(at: datetime) -> str:
    """The next 督办编号 of `at`'s year: DB-YYYY-NNNNNN, numbered from 1 each year, unique.

    Numbers follow the highest code of the year (the migration gave existing cases theirs
    from their ids). Two transactions never get the same number: on PostgreSQL a
    transaction-level advisory lock per year serialises the numbering until commit;
    SQLite serialises writers anyway."""
    year = at.year
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_CODE_LOCK_BASE + year)))
    prefix = f"{CODE_PREFIX}-{year:04d}-"
    last = db.session.scalar(sa.select(sa.func.max(SupervisionCase.code)).where(
        SupervisionCase.code.like(prefix + "%")))
    number = int(last[len(prefix):]) + 1 if last and last[len(prefix):].isdigit() else 1
    return f"{prefix}{number:06d}"


def default_case_due(at: datetime) -> datetime:
    """SUPERVISION_DUE_WORKING_DAYS working days from `at`."""
    return calendar().add_working_days(at, current_app.config["SUPERVISION_DUE_WORKING_DAYS"]).at
