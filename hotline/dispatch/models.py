"""上级协调: a ticket returned too often goes to the supervising level, whose decision
of the responsible unit (or the designated fallback unit, 兜底单位) is binding."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hotline.extensions import db


class Coordination(db.Model):
    __tablename__ = "coordinations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    opened_at: Mapped[datetime]
    #: How many returns brought it here.
    returns: Mapped[int]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    #: The unit was the designated fallback unit (兜底单位), not one found responsible.
    fallback: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(sa.Text)
