"""Run-time settings the admin may change."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hotline.extensions import db


class Setting(db.Model):
    """A system setting the admin may change at run time (e.g. auto-dispatch on intake)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
