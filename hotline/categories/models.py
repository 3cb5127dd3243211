"""The request taxonomy (城乡建设 › 物业管理 › 电梯故障)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.extensions import db


class Category(db.Model):
    """A node of the request taxonomy (城乡建设 › 物业管理 › 电梯故障)."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    full_name: Mapped[str] = mapped_column(sa.String(400))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    sort: Mapped[int] = mapped_column(default=0)
    #: offered to the public (Open311 services); internal categories are not
    public: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    parent: Mapped[Category | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Category {self.full_name}>"
