"""The knowledge base operators answer from (知识库)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.categories.models import Category
from hotline.extensions import db


class KnowledgeArticle(db.Model):
    __tablename__ = "knowledge_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    keywords: Mapped[str] = mapped_column(sa.String(400), default="")
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    times_used: Mapped[int] = mapped_column(default=0)

    category: Mapped[Category | None] = relationship()
