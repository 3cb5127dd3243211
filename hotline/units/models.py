"""The organisation tree the hotline routes to: centre, districts, departments, streets,
communities, and who supervises whom."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.enums import UnitKind, enum_column
from hotline.extensions import db


class Unit(db.Model):
    """A node of the unit tree (level 1 centre .. level 4 community).

    `path` is the materialised chain of ids ("/1/4/17/"), so "this unit and everything
    below it" is one indexed prefix query at any scale.
    """

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind))
    level: Mapped[int] = mapped_column(sa.SmallInteger)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    supervisor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    path: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    active: Mapped[bool] = mapped_column(default=True)
    email: Mapped[str | None] = mapped_column(sa.String(200))

    parent: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    supervisor: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[supervisor_id])

    __table_args__ = (sa.CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),)

    def is_within(self, other: Unit) -> bool:
        """True when self is `other` or lies below it in the tree."""
        return bool(self.path) and self.path.startswith(other.path)

    @property
    def supervising_unit(self) -> Unit | None:
        """Who supervises this unit: the explicit supervisor, else the parent."""
        return self.supervisor or self.parent

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"


def assign_path(unit: Unit) -> None:
    """Set the materialised path; the unit must have an id (flush first)."""
    if unit.level is None or unit.level < 1 or unit.level > 4:
        raise ValueError("unit level must be 1..4")
    prefix = unit.parent.path if unit.parent is not None else "/"
    unit.path = f"{prefix}{unit.id}/"
