"""Stored report snapshots: last month's report reads the same next year.

A snapshot is never overwritten: regenerating a period adds a revision with who did it
and why, and the earlier revisions stay readable beside it. Each snapshot keeps, for
every figure, the ids of what it counted per unit, so its drill-down lists exactly those.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.auth.models import User
from hotline.callbacks.models import Callback
from hotline.extensions import db
from hotline.supervision.models import SupervisionCase
from hotline.tickets.history import AssignmentVersion
from hotline.tickets.models import Assignment, ExtensionRequest, Reply, TicketEvent, TicketReturn

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")

KINDS = {"weekly": "周报", "monthly": "月度通报"}


class ReportSnapshot(db.Model):
    __tablename__ = "report_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(8))  # weekly | monthly
    period: Mapped[str] = mapped_column(sa.String(8))  # 2026-W48 | 2026-11
    revision: Mapped[int] = mapped_column(default=1)
    start: Mapped[datetime]
    end: Mapped[datetime]
    as_of: Mapped[datetime]
    generated_at: Mapped[datetime]
    generated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    data: Mapped[dict] = mapped_column(JSON, deferred=True)  # megabytes of ids: loaded when read

    generated_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("kind", "period", "revision", name="uq_report_snapshots_revision"),)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    # the weekly pages and CLI name the period "week"
    @property
    def week(self) -> str:
        return self.period


# --- indexes the report families read by (on other modules' tables, declared here) ---------
def _partial(name: str, column, where_pg: str, where_sqlite: str) -> sa.Index:
    return sa.Index(name, column, postgresql_where=sa.text(where_pg), sqlite_where=sa.text(where_sqlite))


#: 办结: the closing events of a period
_partial("ix_ticket_events_closing_at", TicketEvent.at, "to_state = 'closed'", "to_state = 'closed'")
#: 重办: the reopens of a period
_partial("ix_ticket_events_reopen_at", TicketEvent.at, "action = 'reopen'", "action = 'reopen'")
#: 办结 against the deadline before the first reopen: a ticket's first reopen (one small probe)
sa.Index("ix_ticket_events_ticket_reopen", TicketEvent.ticket_id, TicketEvent.at,
         postgresql_where=sa.text("action = 'reopen'"), sqlite_where=sa.text("action = 'reopen'"))
#: 直办: whether a call of the period was answered on it (one index-only probe per call)
sa.Index("ix_ticket_events_answer", TicketEvent.ticket_id, TicketEvent.at,
         postgresql_where=sa.text("action = 'answer'"), sqlite_where=sa.text("action = 'answer'"))
#: 不合理待裁定: the unreasonable 不满意 of all time up to a moment (few of all callbacks)
_partial("ix_callbacks_unreasonable", Callback.created_at, "reached IS true AND request_reasonable IS false",
         "reached IS 1 AND request_reasonable IS 0")
#: the things that happened in a period, by the time they happened (答复, 退单, 延期申请, 督办)
sa.Index("ix_replies_created_at", Reply.created_at)
sa.Index("ix_ticket_returns_returned_at", TicketReturn.returned_at)
sa.Index("ix_extension_requests_requested_at", ExtensionRequest.requested_at)
sa.Index("ix_supervision_cases_opened_at", SupervisionCase.opened_at)
sa.Index("ix_supervision_cases_closed_at", SupervisionCase.closed_at)
#: the dashboard's 超期趋势 and its drill-down: lead assignments whose handle deadline was
#: missed (hotline.tickets.queries.missed_handle_deadline), by deadline, index only
MISSED_HANDLE = ("role = 'lead' AND active IS {true} AND (state IN ('dispatched', 'signed') "
                 "OR replied_at > handle_due_at)")
sa.Index("ix_assignments_missed_handle", Assignment.handle_due_at, postgresql_include=["ticket_id"],
         postgresql_where=sa.text(MISSED_HANDLE.format(true="true")),
         sqlite_where=sa.text(MISSED_HANDLE.format(true="1")))
#: a ticket's lead unit at a moment (办结, 回访: attributed to the lead of that moment), index only
sa.Index("ix_assignment_versions_lead_at", AssignmentVersion.ticket_id, AssignmentVersion.valid_from,
         postgresql_include=["valid_to", "unit_id", "assignment_id", "replied_at", "handle_due_at"],
         postgresql_where=sa.text("role = 'lead' AND active IS true"),
         sqlite_where=sa.text("role = 'lead' AND active IS 1"))
