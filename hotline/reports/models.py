"""Stored report snapshots: last month's weekly report reads the same next year."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hotline.extensions import db

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


class WeeklyReport(db.Model):
    __tablename__ = "weekly_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(sa.String(8), unique=True)  # ISO week, e.g. 2026-W48
    start: Mapped[datetime]
    end: Mapped[datetime]
    as_of: Mapped[datetime]
    generated_at: Mapped[datetime]
    data: Mapped[dict] = mapped_column(JSON)
