"""In-app notifications (the bell) and the optional e-mail to units.

Notifications are also the outbox for mail: a row is written in the same transaction as
the action or job that caused it, and the send_email job mails the unsent ones after
that transaction committed (a rolled-back action never mails anything)."""
from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app

from hotline.auth.models import User
from hotline.enums import NotificationKind
from hotline.extensions import db
from hotline.notifications.models import Notification
from hotline.units.models import Unit


def notify(kind: NotificationKind, at: datetime, *, title: str, body: str = "", unit_id=None, user_id=None,
           role=None, ticket_id=None, run_token=None) -> Notification:
    """One notice (the one writer of single notices; jobs insert theirs set-based)."""
    note = Notification(kind=kind, created_at=at, title=title[:200], body=body, unit_id=unit_id, user_id=user_id,
                        role=role, ticket_id=ticket_id, run_token=run_token)
    db.session.add(note)
    return note


def visible_condition(user: User):
    """Notices for this user, the user's unit, or a role the user holds."""
    return sa.or_(Notification.user_id == user.id, Notification.unit_id == user.unit_id,
                  Notification.role.in_([r.value for r in user.roles]))


def unread_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        visible_condition(user), Notification.read_at.is_(None)))


def notifications_for(user: User, *, unread_only: bool = False):
    stmt = sa.select(Notification).where(visible_condition(user))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.id.desc())


def mark_read(user: User, ids, now: datetime) -> int:
    """Mark the user's visible notices read (a unit's notice is read for the whole unit)."""
    stmt = (sa.update(Notification).where(visible_condition(user), Notification.read_at.is_(None))
            .values(read_at=now, read_by_id=user.id))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_([int(i) for i in ids if str(i).isdigit()]))
    return db.session.execute(stmt).rowcount


def send_pending_email(now: datetime, batch: int = 200) -> dict:
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        return {"sent": 0, "skipped": "MAIL_SERVER not configured"}
    rows = db.session.execute(
        sa.select(Notification, Unit.email).join(Unit, Unit.id == Notification.unit_id)
        .where(Notification.emailed_at.is_(None), Unit.email.is_not(None), Unit.email != "")
        .order_by(Notification.id).limit(batch)).all()
    sent = 0
    if rows:
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=30) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
            for note, email in rows:
                msg = EmailMessage()
                msg["From"], msg["To"], msg["Subject"] = cfg["MAIL_FROM"], email, note.title
                msg.set_content(note.body or note.title)
                smtp.send_message(msg)
                note.emailed_at = now
                db.session.commit()  # the job's boundary, per message: a crash never re-sends what went out
                sent += 1
    return {"sent": sent}
