"""Webhook subscriptions of external systems and the outbox of deliveries.

A delivery row is written in the same transaction as the action whose event it carries,
so a committed action always has its deliveries and a rolled-back one never does; the
scheduler sends them after commit, signed with the subscription's secret (HMAC-SHA256),
retrying with back-off, and every attempt is logged for the admin to read and replay.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.extensions import db

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


class WebhookSubscription(db.Model):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(sa.String(64))  # the external system, e.g. province, wechat
    url: Mapped[str] = mapped_column(sa.String(500))
    secret: Mapped[str] = mapped_column(sa.String(128))
    event_types: Mapped[list] = mapped_column(JSON, default=list)  # event action values; [] = all
    #: only tickets handed over by this source (上级转办 results go back to their platform)
    source: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_subscriptions.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket_events.id"))
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    event_type: Mapped[str] = mapped_column(sa.String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(sa.String(12), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    subscription: Mapped[WebhookSubscription] = relationship()

    __table_args__ = (sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)


class WebhookAttempt(db.Model):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_deliveries.id"), index=True)
    at: Mapped[datetime]
    status: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    duration_ms: Mapped[int | None]
