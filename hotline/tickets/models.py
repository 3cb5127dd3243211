"""Tickets, their assignments to units, replies, returns, extensions and the event log."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.categories.models import Category
from hotline.units.models import Unit
from hotline.auth.models import User
from hotline.enums import (AssignmentRole, AssignmentState, Channel, Closure, EventAction,
                           ExtensionState, RequestType, ReturnDecision, ReturnReason,
                           TicketState, Urgency, enum_column)
from hotline.extensions import db

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
SEARCH_GRAMS_TYPE = sa.Text().with_variant(sa.dialects.postgresql.TSVECTOR(), "postgresql")


class TicketSequence(db.Model):
    """Last number handed out per day; bumped with an atomic upsert."""

    __tablename__ = "ticket_sequences"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Ticket(db.Model):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(24), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    state: Mapped[TicketState] = mapped_column(enum_column(TicketState), index=True)
    closure: Mapped[Closure | None] = mapped_column(enum_column(Closure))

    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    request_type: Mapped[RequestType] = mapped_column(enum_column(RequestType))
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency))
    caller_name: Mapped[str] = mapped_column(sa.String(100), default="")
    caller_phone: Mapped[str] = mapped_column(sa.String(32), index=True)
    confidential: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[str] = mapped_column(sa.Text)

    created_at: Mapped[datetime] = mapped_column(index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    callback_due_at: Mapped[datetime | None]
    #: The current lead unit (denormalised from the active lead assignment for queues).
    lead_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    reopen_count: Mapped[int] = mapped_column(default=0)
    direct_answer: Mapped[str | None] = mapped_column(sa.Text)
    kb_article_id: Mapped[int | None]
    #: 匿名: no name (and, for letters and web messages, no phone); no callback.
    anonymous: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: The code a citizen without a phone checks the status page with.
    query_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)
    #: 不予受理: the reason's key (a setting lists the reasons and the words read out).
    refusal_reason: Mapped[str | None] = mapped_column(sa.String(32))
    #: 转应急处置: the emergency line and the moment of the transfer.
    transferred_to: Mapped[str | None] = mapped_column(sa.String(8))
    transferred_at: Mapped[datetime | None]
    #: 纳入计划: the date the plan is followed up (the unit is urged then).
    follow_up_on: Mapped[date | None] = mapped_column(sa.Date)
    #: 拆单: the ticket this one was split from.
    split_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    #: 上级转办: the platform a ticket was handed over from, its number and time limit there
    external_source: Mapped[str | None] = mapped_column(sa.String(32))
    external_number: Mapped[str | None] = mapped_column(sa.String(64))
    external_due_at: Mapped[datetime | None]
    #: Telephony (CTI): the switch's call id, the number as the switch gave it, the agent's
    #: login on the switch and the recording's reference
    call_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    caller_number_raw: Mapped[str | None] = mapped_column(sa.String(64))
    cti_agent: Mapped[str | None] = mapped_column(sa.String(64))
    recording_ref: Mapped[str | None] = mapped_column(sa.String(255))
    #: Open311: the token a GeoReport client may poll for its request id
    open311_token: Mapped[str | None] = mapped_column(sa.String(40))
    #: PostgreSQL: the text search index of title, content and address (hotline.tickets.search),
    #: written by the database itself (a trigger) on every insert and on every change of
    #: those columns, whoever writes them (the ORM, COPY). Never loaded. NULL on SQLite.
    search_grams = mapped_column(SEARCH_GRAMS_TYPE, nullable=True, deferred=True)

    category: Mapped[Category] = relationship(lazy="joined")
    district: Mapped[Unit | None] = relationship(foreign_keys=[district_id])
    lead_unit: Mapped[Unit | None] = relationship(foreign_keys=[lead_unit_id])
    created_by: Mapped[User | None] = relationship()
    merged_into: Mapped[Ticket | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id])
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="ticket", order_by="Assignment.id")
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id")

    # The action runner (hotline.lifecycle.registry.perform) bumps the version once per
    # action; the ORM adds "WHERE version = <seen>" to every UPDATE, so a lost race
    # raises StaleDataError, which the unit of work turns into StaleVersion.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    __table_args__ = (
        sa.Index("ix_tickets_state_lead_unit", "state", "lead_unit_id"),
        sa.Index("ix_tickets_phone_created", "caller_phone", "created_at"),
        # Covers the dashboard's GROUP BYs over a period (hotline/reports/dashboard.py):
        # an index-only scan instead of reading the wide rows.
        sa.Index("ix_tickets_dashboard", "created_at", "request_type", "channel", "category_id", "district_id", "id"),
        # a platform's number is one ticket, however often it is sent
        sa.Index("uq_tickets_external", "external_source", "external_number", unique=True),
        sa.Index("uq_tickets_open311_token", "open311_token", unique=True),
        # text search (a GIN index of character bigrams and unigrams on PostgreSQL)
        sa.Index("ix_tickets_search_grams", "search_grams", postgresql_using="gin"),
        # the search page sorted by 最近更新
        sa.Index("ix_tickets_updated_at", "updated_at"),
    )

    def active_assignments(self) -> list[Assignment]:
        return [a for a in self.assignments if a.active]

    @property
    def lead_assignment(self) -> Assignment | None:
        for a in self.assignments:
            if a.active and a.role is AssignmentRole.LEAD:
                return a
        return None

    def __repr__(self) -> str:
        return f"<Ticket {self.number} {self.state.value} v{self.version}>"


class Assignment(db.Model):
    """A ticket sent to one unit, as lead (主办) or co-unit (协办), with its own clocks."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    #: The sub-unit it was handed down to (下派); `unit` stays answerable.
    handler_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    role: Mapped[AssignmentRole] = mapped_column(enum_column(AssignmentRole))
    state: Mapped[AssignmentState] = mapped_column(enum_column(AssignmentState))
    active: Mapped[bool] = mapped_column(default=True)
    round: Mapped[int] = mapped_column(default=1)
    return_overruled: Mapped[bool] = mapped_column(default=False)

    dispatched_at: Mapped[datetime]
    dispatched_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    sign_due_at: Mapped[datetime]
    handle_due_at: Mapped[datetime]
    #: The handle deadline before any extension; extensions are capped from here.
    handle_due_original_at: Mapped[datetime]
    return_due_at: Mapped[datetime]
    calendar_confirmed: Mapped[bool] = mapped_column(default=True)
    #: When the current handle clock started (dispatch, or the reopen for a redo).
    handle_started_at: Mapped[datetime | None]
    #: Warning moments (a fraction of the allowed time), kept beside the deadlines so the
    #: scheduler's deadline watch is a plain indexed comparison.
    sign_warn_at: Mapped[datetime | None]
    handle_warn_at: Mapped[datetime | None]
    #: Set once by the scheduler when the deadline passed with the work not done.
    sign_overdue_at: Mapped[datetime | None]
    handle_overdue_at: Mapped[datetime | None]
    #: 1 unit itself (单位主责), 2 supervising unit (处室督导), 3 centre leadership (委级统筹).
    escalation_level: Mapped[int] = mapped_column(sa.SmallInteger, default=1, server_default="1")
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    replied_at: Mapped[datetime | None]
    #: Whole working days from dispatch to the latest reply, fixed when the unit replies
    #: (the reports average it without running the calendar over every ticket).
    reply_working_days: Mapped[int | None]
    extension_count: Mapped[int] = mapped_column(default=0)

    ticket: Mapped[Ticket] = relationship(back_populates="assignments")
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id], lazy="joined")
    handler_unit: Mapped[Unit | None] = relationship(foreign_keys=[handler_unit_id], lazy="joined")

    __table_args__ = (
        sa.Index("ix_assignments_unit_state", "unit_id", "state", "active"),
        sa.Index("ix_assignments_handle_due", "active", "state", "handle_due_at"),
        # the open work of units (queues, unit scope): a few percent of all assignments, read
        # from the index alone
        sa.Index("ix_assignments_open_unit", "state", "unit_id", "handler_unit_id", "ticket_id",
                 postgresql_where=sa.text("active AND state IN ('dispatched', 'signed')"),
                 sqlite_where=sa.text("active AND state IN ('dispatched', 'signed')")),
        sa.Index("ix_assignments_active_unit", "unit_id", "ticket_id", postgresql_where=sa.text("active"),
                 sqlite_where=sa.text("active")),
        sa.Index("ix_assignments_active_handler", "handler_unit_id", "ticket_id",
                 postgresql_where=sa.text("active AND handler_unit_id IS NOT NULL"),
                 sqlite_where=sa.text("active AND handler_unit_id IS NOT NULL")),
        # the unit scopes and the assignment queues joined to tickets in ticket id order,
        # their units (and the open ones' state and deadlines) read from the index alone
        sa.Index("ix_assignments_active_ticket", "ticket_id", postgresql_include=["unit_id", "handler_unit_id"],
                 postgresql_where=sa.text("active"), sqlite_where=sa.text("active")),
        sa.Index("ix_assignments_open_ticket", "ticket_id",
                 postgresql_include=["state", "unit_id", "handler_unit_id", "sign_due_at", "handle_due_at"],
                 postgresql_where=sa.text("active AND state IN ('dispatched', 'signed')"),
                 sqlite_where=sa.text("active AND state IN ('dispatched', 'signed')")),
        # the reports' "dispatched in the period"
        sa.Index("ix_assignments_dispatched", "dispatched_at", "role"),
    )

    @property
    def is_open(self) -> bool:
        return self.active and self.state in (AssignmentState.DISPATCHED, AssignmentState.SIGNED)


class Reply(db.Model):
    """A unit's reply (办结反馈): the lead's to the centre, or a co-unit's to the lead."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    result: Mapped[str] = mapped_column(sa.Text)
    actions_taken: Mapped[str] = mapped_column(sa.Text, default="")
    contacted_citizen: Mapped[bool] = mapped_column(default=False)
    contact_note: Mapped[str] = mapped_column(sa.Text, default="")
    public_text: Mapped[str] = mapped_column(sa.Text, default="")
    #: 阶段性答复: an interim reply with a plan and the date it is followed up.
    interim: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    plan: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    follow_up_on: Mapped[date | None] = mapped_column(sa.Date)
    reviewed_at: Mapped[datetime | None]
    review_ok: Mapped[bool | None]
    review_note: Mapped[str | None] = mapped_column(sa.Text)

    ticket: Mapped[Ticket] = relationship()
    unit: Mapped[Unit] = relationship(lazy="joined")
    author: Mapped[User] = relationship()


class TicketReturn(db.Model):
    """A unit's return (退单) of a misrouted ticket, and the dispatcher's decision."""

    __tablename__ = "ticket_returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    returned_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    returned_at: Mapped[datetime]
    reason: Mapped[ReturnReason] = mapped_column(enum_column(ReturnReason))
    reason_text: Mapped[str] = mapped_column(sa.Text, default="")
    decision: Mapped[ReturnDecision] = mapped_column(enum_column(ReturnDecision), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(sa.Text)

    ticket: Mapped[Ticket] = relationship()
    unit: Mapped[Unit] = relationship(lazy="joined")


class ExtensionRequest(db.Model):
    """A request for more time (延期申请) on one assignment's handle deadline."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.Text)
    old_due_at: Mapped[datetime]
    requested_due_at: Mapped[datetime]
    state: Mapped[ExtensionState] = mapped_column(enum_column(ExtensionState), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    new_due_at: Mapped[datetime | None]

    ticket: Mapped[Ticket] = relationship()
    assignment: Mapped[Assignment] = relationship()


class Attachment(db.Model):
    """A file kept under instance/attachments/, served only to those who may see the ticket."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    reply_id: Mapped[int | None] = mapped_column(sa.ForeignKey("replies.id"))
    filename: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]


class TicketEvent(db.Model):
    """Append-only history of a ticket, written only through hotline.lifecycle.events.

    The rule for events and versions: every action writes one event per consequence the
    history must show, and raises the ticket's version exactly once. Most actions have one
    consequence and one event. A reasonable 不满意 at the callback is one action with two
    consequences: it writes CALLBACK (回访 → 回访不满意) and then REOPEN (→ 重办中) and the
    version goes up by one. Scheduler notices (预警, 催办, 超期, 升级督办, 督办进展催报,
    回访超期) change no state: they are events without a version bump, so nobody's open
    form goes stale because a warning was recorded.
    """

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignments.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    at: Mapped[datetime] = mapped_column(index=True)
    action: Mapped[EventAction] = mapped_column(enum_column(EventAction), index=True)
    from_state: Mapped[TicketState | None] = mapped_column(enum_column(TicketState))
    to_state: Mapped[TicketState] = mapped_column(enum_column(TicketState))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    actor_unit: Mapped[Unit | None] = relationship()

    #: a ticket's first event of a kind after a moment (the reports' rulings and reopens)
    __table_args__ = (sa.Index("ix_ticket_events_ticket_action_at", "ticket_id", "action", "at"),)


@event.listens_for(TicketEvent, "before_update")
def _events_are_immutable(mapper, connection, target):
    raise RuntimeError("ticket events are append-only")


@event.listens_for(TicketEvent, "before_delete")
def _events_are_not_deleted(mapper, connection, target):
    raise RuntimeError("ticket events are append-only")
