"""Routing rules: category x district -> lead unit (and co-units)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.categories.models import Category
from hotline.units.models import Unit
from hotline.extensions import db

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


class RoutingRule(db.Model):
    """A rule applies to its category and every category below it; `district_id` NULL
    means any district. The most specific rule wins (deeper category, then a district
    match over "any district")."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    lead_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    co_unit_ids: Mapped[list] = mapped_column(JSON, default=list)
    #: Certain rules may dispatch automatically on intake when the setting is on.
    certain: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str] = mapped_column(sa.String(200), default="")

    category: Mapped[Category] = relationship()
    district: Mapped[Unit | None] = relationship(foreign_keys=[district_id])
    lead_unit: Mapped[Unit] = relationship(foreign_keys=[lead_unit_id])

    __table_args__ = (sa.UniqueConstraint("category_id", "district_id", name="uq_routing_rule_cell"),)
