"""Writing the audit trail.

`record()` adds an entry to the current unit of work (it is stored when the action is);
`record_now()` stores one at once in a transaction of its own, for facts that must be
kept although the request itself stores nothing (a failed login, a refusal, a download).
`track_changes()` installs one flush hook: during an admin page's request every row added,
changed or deleted is recorded with its old and new values (secrets masked), and reports
generated anywhere are recorded; it also refuses any change to an audit entry.
"""
from __future__ import annotations

import enum
import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from hotline.audit.models import AuditEntry
from hotline.clock import now as clock_now
from hotline.extensions import db
from hotline.settings import value

log = logging.getLogger("hotline.audit")
SECRET_COLUMNS = {"password_hash", "secret", "token_hash", "secret_hash"}
# Rows written as a side effect of an admin change that say nothing by themselves.
SKIP_TABLES = {"audit_log", "rate_limit_hits", "status_lookups"}
AUDITED_CREATES = {"report_snapshots": "report_generated"}


def _actor():
    user = getattr(g, "_login_user", None) if has_request_context() else None
    if user is None or not getattr(user, "is_authenticated", False):
        return None, ""
    return getattr(user, "id", None), getattr(user, "username", "")


def entry(action: str, *, user=None, username: str | None = None, object_type: str = "",
          object_id="", detail: dict | None = None) -> AuditEntry:
    user_id, name = (user.id, user.username) if user is not None else _actor()
    address = path = ""
    if has_request_context():
        address = (request.remote_addr or "")[:64]
        path = (request.full_path.rstrip("?") if request.query_string else request.path)[:255]
    return AuditEntry(at=clock_now(), action=action[:40], user_id=user_id,
                      username=(username if username is not None else name or "")[:64],
                      address=address, object_type=object_type[:64], object_id=str(object_id or "")[:64],
                      path=path, detail=_jsonable(detail) if detail else None)


def record(action: str, **kw) -> AuditEntry:
    """Add an entry to the session: stored with the action's own commit."""
    e = entry(action, **kw)
    db.session.add(e)
    return e


def record_now(action: str, **kw) -> None:
    """Store an entry now, whatever becomes of the request's own unit of work: the request's
    pending work is rolled back first (a refusal or failure has nothing to keep)."""
    try:
        db.session.rollback()
        db.session.add(entry(action, **kw))
        db.session.commit()
    except Exception:  # the trail must not turn a refusal into a 500; it is logged instead
        db.session.rollback()
        log.exception("could not store audit entry %s", action)


def _value(v):
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    if isinstance(v, (timedelta, Decimal)):
        return str(v)
    if isinstance(v, (list, tuple, set)):
        return [_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _value(x) for k, x in v.items()}
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _jsonable(detail: dict) -> dict:
    return {str(k): _value(v) for k, v in detail.items()}


def _columns(obj) -> dict:
    mapper = sa.inspect(obj).mapper
    out = {}
    for attr in mapper.column_attrs:
        value = getattr(obj, attr.key, None)
        out[attr.key] = "***" if attr.key in SECRET_COLUMNS else value
    return out


def _changes(obj) -> dict:
    state = sa.inspect(obj)
    out = {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old == new:
            continue
        out[attr.key] = ["***", "***"] if attr.key in SECRET_COLUMNS else [old, new]
    return out


def _key(obj) -> str:
    ident = sa.inspect(obj).identity
    return ",".join(str(i) for i in ident) if ident else ""


def _in_admin_request() -> bool:
    return has_request_context() and request.method == "POST" and (request.blueprint or "") in (
        current_app.config.get("AUDIT_ADMIN_BLUEPRINTS", ("admin", "webhooks", "audit")))


def _before_flush(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry):
            raise RuntimeError("audit entries are append-only")
    admin = _in_admin_request()
    created = session.info.setdefault("hotline.audit.created", [])
    for obj in session.new:
        table = getattr(obj, "__tablename__", "")
        if isinstance(obj, AuditEntry) or table in SKIP_TABLES:
            continue
        if table in AUDITED_CREATES:
            created.append((AUDITED_CREATES[table], obj))
        elif admin:
            created.append(("admin_create", obj))
    if not admin:
        return
    adds = []
    for obj in session.dirty:
        table = getattr(obj, "__tablename__", "")
        if table in SKIP_TABLES or not session.is_modified(obj, include_collections=False):
            continue
        changes = _changes(obj)
        if changes:
            adds.append(entry("admin_update", object_type=table, object_id=_key(obj), detail=changes))
    for obj in session.deleted:
        table = getattr(obj, "__tablename__", "")
        if table not in SKIP_TABLES:
            adds.append(entry("admin_delete", object_type=table, object_id=_key(obj), detail=_columns(obj)))
    session.add_all(adds)


def _after_flush_postexec(session: Session, flush_context) -> None:
    """Rows created in the flush, now with their ids (the entries go in the next flush,
    which commit runs before it finishes)."""
    created = session.info.pop("hotline.audit.created", None)
    if created:
        session.add_all([entry(action, object_type=obj.__tablename__, object_id=_key(obj),
                               detail=_columns(obj)) for action, obj in created])


def track_changes() -> None:
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush_postexec", _after_flush_postexec)
        event.listen(Session, "after_rollback", lambda session: session.info.pop("hotline.audit.created", None))


AUDIT_RETENTION_DAYS = "audit_retention_days"


def retention_days() -> int:
    """How long the trail is kept: the admin's 流程设置, else HOTLINE_AUDIT_RETENTION_DAYS
    (0 keeps everything)."""
    stored = value(AUDIT_RETENTION_DAYS, None)
    return int(stored) if stored is not None else int(current_app.config.get("AUDIT_RETENTION_DAYS", 0))


def purge(retention_days: int, now: datetime | None = None) -> int:
    """Delete entries older than the retention period before `now` (0 keeps everything);
    the purge is itself recorded. The caller commits."""
    if retention_days <= 0:
        return 0
    cutoff = (now or clock_now()) - timedelta(days=retention_days)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL hotline.audit_purge = 'on'"))
    n = db.session.execute(sa.delete(AuditEntry).where(AuditEntry.at < cutoff)).rowcount
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL hotline.audit_purge = 'off'"))
    db.session.add(entry("audit_purge", detail={"before": cutoff, "deleted": n, "retention_days": retention_days}))
    return n
