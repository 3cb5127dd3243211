"""Fixed-window counters for rate limits when no Redis is configured (the embedded default):
one row per key and window, incremented by an atomic upsert, so several worker processes
on one database share the count. On PostgreSQL the table is UNLOGGED (migration
i2c7e4a0b1d3): a count's commit waits for no WAL flush, and a crash of the database
server empties it (the current windows start afresh)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hotline.extensions import db


class RateLimitHit(db.Model):
    __tablename__ = "rate_limit_hits"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime] = mapped_column(index=True)
