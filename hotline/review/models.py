"""领导签批: a leader's sign-off of a supervised ticket's re-handled result."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.enums import SignoffDecision, enum_column
from hotline.extensions import db


class LeaderSignoff(db.Model):
    __tablename__ = "leader_signoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("supervision_cases.id"), index=True)
    reply_id: Mapped[int | None] = mapped_column(sa.ForeignKey("replies.id"))
    leader_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    #: The leader's name and title as they were when signing (the record keeps them).
    leader_name: Mapped[str] = mapped_column(sa.String(100))
    leader_title: Mapped[str] = mapped_column(sa.String(50), default="")
    decision: Mapped[SignoffDecision] = mapped_column(enum_column(SignoffDecision))
    words: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]

    leader = relationship("User", lazy="joined")
