"""Callbacks to the citizen (回访): each attempt, reached or not."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.auth.models import User
from hotline.enums import CallbackOutcome, Resolution, Satisfaction, SupervisorDecision, enum_column
from hotline.extensions import db


class Callback(db.Model):
    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(index=True)
    #: Which handling round this callback judges (0 first, 1 after the first reopen ...).
    round: Mapped[int] = mapped_column(default=0)
    reached: Mapped[bool]
    resolution: Mapped[Resolution | None] = mapped_column(enum_column(Resolution))
    satisfaction: Mapped[Satisfaction | None] = mapped_column(enum_column(Satisfaction))
    citizen_words: Mapped[str] = mapped_column(sa.Text, default="")
    request_reasonable: Mapped[bool | None]
    #: 分类处置 of the result: 已解决 / 合理但暂不能解决 / 诉求不合理 / 无法联系.
    outcome: Mapped[CallbackOutcome | None] = mapped_column(enum_column(CallbackOutcome))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    #: For a 不满意 the agent judged unreasonable: the supervisor's decision whether it
    #: counts against the unit or not; NULL while undecided.
    supervisor_decision: Mapped[SupervisorDecision | None] = mapped_column(enum_column(SupervisorDecision))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    agent: Mapped[User] = relationship(foreign_keys=[agent_id])


class StatusLookup(db.Model):
    """One public status lookup, for rate-limiting by client address across workers."""

    __tablename__ = "status_lookups"

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(sa.String(64))
    number: Mapped[str] = mapped_column(sa.String(24), default="", server_default="")
    at: Mapped[datetime]
    found: Mapped[bool]

    __table_args__ = (sa.Index("ix_status_lookups_client_at", "client", "at"),
                      sa.Index("ix_status_lookups_number_at", "number", "at"))
