"""Reference data cached per process: categories, units, routing rules, settings and webhook
subscriptions, read from the database once per change instead of on every request.

Invalidation is a version counter in the database (`reference_version`, one row). Every
change to a reference table bumps it inside the changing transaction:

- an `after_flush` hook on every session sees reference objects among the flush's new,
  changed and deleted objects (admin pages, CLI commands, the demo loader, tests: anything
  that goes through the ORM);
- a `do_orm_execute` hook sees UPDATE / DELETE / INSERT statements on a reference table
  executed through a session (`db.session.execute(sa.delete(TimeLimitPolicy))`).

Reading: the first use of the cache in a transaction reads the counter (one primary-key
SELECT, or none when the request's first query, the signed-in user's or the API token's,
read it along: `version_column` / `note_version`); the process's snapshot is used while the counter is unchanged, otherwise a new
snapshot is started and each part (categories, units, …) is loaded on first use. So an
admin change is seen by every worker process on its next request, at the price of one
cheap statement per request that touches reference data. (Reading it only every N
seconds would save that statement but let a worker dispatch by a deleted rule for up to N
seconds after the admin saw "saved"; LISTEN/NOTIFY would need a listening connection per
worker.)

A transaction that changed reference data itself never uses nor fills the process's
snapshot: it reads its own uncommitted state afresh, and a rolled-back change leaves
nothing behind. A missing counter row (a database emptied by hand) also disables the
process cache until the next change writes a row again; the first row of a database gets
a random starting value, so two databases (or one emptied and refilled) never share a
version.

The cached values are plain frozen records, never ORM objects: code that needs an ORM
object (to dispatch to a unit, say) loads it by id (`db.session.get`).
"""
from __future__ import annotations

import contextlib
import secrets
import threading
from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.extensions import db

#: Tables whose changes bump the version (whatever is cached, or may be, per process).
REFERENCE_TABLES = frozenset({
    "categories", "units", "routing_rules", "settings", "webhook_subscriptions", "time_limit_policies",
    "holiday_overrides", "calendar_years",
})
_TXN_KEY = "hotline_refcache"  # session.info: the snapshot this transaction uses
_DIRTY_KEY = "hotline_refcache_dirty"  # session.info: this transaction changed reference data
_APP_KEY = "hotline.refcache"


class ReferenceVersion(db.Model):
    """One row (id 1): bumped by every change to a reference table (see the module)."""

    __tablename__ = "reference_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(sa.BigInteger)


# --- the cached records -----------------------------------------------------------------
@dataclass(frozen=True)
class CategoryRef:
    id: int
    code: str
    name: str
    full_name: str
    parent_id: int | None
    active: bool
    public: bool
    sort: int


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name: str
    kind: Any  # UnitKind
    level: int
    parent_id: int | None
    path: str
    active: bool


@dataclass(frozen=True)
class RuleRef:
    id: int
    category_id: int
    district_id: int | None
    lead_unit_id: int
    co_unit_ids: tuple
    certain: bool


class Snapshot:
    """The reference data as of one version; each part is loaded on its first use."""

    def __init__(self, version: int | None):
        self.version = version
        self._parts: dict[str, Any] = {}
        self._lock = threading.Lock()

    def part(self, name: str, load: Callable[[Session], Any], session: Session):
        try:
            return self._parts[name]
        except KeyError:
            pass
        value = load(session)
        with self._lock:
            return self._parts.setdefault(name, value)


PARTS: dict[str, Callable[[Session], Any]] = {}


def part(name: str):
    """Decorator: register a loader `(session) -> value` as a cached part."""

    def wrap(load):
        PARTS[name] = load

        def get(session: Session | None = None):
            return current(session).part(name, load, session or db.session())

        get.load = load
        return get

    return wrap


# --- which snapshot a transaction uses ---------------------------------------------------
def _store() -> dict:
    return current_app.extensions.setdefault(_APP_KEY, {"snapshot": None, "lock": threading.Lock()})


def _has_pending_reference_changes(session: Session) -> bool:
    for objs in (session.new, session.dirty, session.deleted):
        for obj in objs:
            if getattr(obj, "__tablename__", None) in REFERENCE_TABLES:
                return True
    return False


def current(session: Session | None = None) -> Snapshot:
    """The snapshot for the session's current transaction (reads the version once per
    transaction; see the module)."""
    session = session or db.session()
    if _has_pending_reference_changes(session):
        if getattr(session, "_flushing", False):  # asked from a flush hook: read what is being flushed
            return Snapshot(None)
        if session.autoflush:
            session.flush()  # as a query would: the change bumps the version and marks the session
    snap = session.info.get(_TXN_KEY)
    if snap is not None:
        return snap
    if session.info.get(_DIRTY_KEY):
        snap = Snapshot(None)  # this transaction's own, uncommitted reference data
    else:
        if _SEEN_KEY in session.info:
            version = session.info[_SEEN_KEY]
        else:
            version = session.execute(sa.select(ReferenceVersion.version).where(ReferenceVersion.id == 1)).scalar()
        if version is None:
            snap = Snapshot(None)
        else:
            store = _store()
            snap = store["snapshot"]
            if snap is None or snap.version != version:
                with store["lock"]:
                    snap = store["snapshot"]
                    if snap is None or snap.version != version:
                        snap = store["snapshot"] = Snapshot(version)
    session.info[_TXN_KEY] = snap
    return snap


_SEEN_KEY = "hotline_refcache_seen"  # session.info: the version read along with another query


@contextlib.contextmanager
def carried(snapshot: Snapshot, session: Session | None = None):
    """Read with `snapshot`, the one a transaction that has just committed used (take it
    with `current()` inside that transaction), without reading the version again: for an
    answer built after the commit from what the transaction wrote, as it would have been
    built just before the commit. Only inside the block; a transaction begun inside it
    uses the snapshot too, one begun after it reads the version afresh."""
    session = session or db.session()
    session.info[_TXN_KEY] = snapshot
    try:
        yield snapshot
    finally:
        session.info.pop(_TXN_KEY, None)


def version_column():
    """The version as a scalar subquery, to read along with a query the request runs
    anyway (the signed-in user, the API token): `note_version` it, and the first use of
    the cache in that transaction costs no statement of its own."""
    return (sa.select(ReferenceVersion.version).where(ReferenceVersion.id == 1)
            .scalar_subquery().label("reference_version"))


def note_version(version: int | None, session: Session | None = None) -> None:
    """The version read by the current transaction along with another query."""
    session = session or db.session()
    if session.in_transaction():
        session.info[_SEEN_KEY] = version


def _bump(session: Session) -> None:
    conn = session.connection()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    table = ReferenceVersion.__table__
    stmt = insert(table).values(id=1, version=secrets.randbits(62)).on_conflict_do_update(
        index_elements=[table.c.id], set_={"version": table.c.version + 1})
    conn.execute(stmt)
    session.info[_DIRTY_KEY] = True
    session.info.pop(_TXN_KEY, None)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context) -> None:
    if _has_pending_reference_changes(session):
        _bump(session)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in REFERENCE_TABLES:
        _bump(state.session)


@event.listens_for(Session, "after_transaction_end")
def _end(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction: the next one reads afresh
        session.info.pop(_TXN_KEY, None)
        session.info.pop(_DIRTY_KEY, None)
        session.info.pop(_SEEN_KEY, None)


# --- the parts ------------------------------------------------------------------------------
@part("categories")
def categories(session: Session) -> dict[int, CategoryRef]:
    from hotline.categories.models import Category

    c = Category
    rows = session.execute(sa.select(c.id, c.code, c.name, c.full_name, c.parent_id, c.active, c.public, c.sort)
                           .order_by(c.full_name, c.id))  # the pickers' order, as the database collates
    return {r.id: CategoryRef(*r) for r in rows}


@part("units")
def units(session: Session) -> dict[int, UnitRef]:
    from hotline.units.models import Unit

    u = Unit
    rows = session.execute(sa.select(u.id, u.code, u.name, u.kind, u.level, u.parent_id, u.path, u.active)
                           .order_by(u.path, u.id))  # tree order
    return {r.id: UnitRef(*r) for r in rows}


@part("routing_rules")
def routing_rules(session: Session) -> dict[tuple[int, int | None], RuleRef]:
    """The active rules by their cell (category id, district id or None)."""
    from hotline.routing.models import RoutingRule as R

    rows = session.execute(sa.select(R.id, R.category_id, R.district_id, R.lead_unit_id, R.co_unit_ids, R.certain)
                           .where(R.active.is_(True)))
    return {(r.category_id, r.district_id): RuleRef(r.id, r.category_id, r.district_id, r.lead_unit_id,
                                                     tuple(r.co_unit_ids or ()), bool(r.certain)) for r in rows}


@part("settings")
def settings(session: Session) -> dict[str, str]:
    """Every setting's stored text by key (parsed by the caller: a cached dict or list
    must not be shared, so each reader gets its own)."""
    from hotline.admin.models import Setting

    return dict(session.execute(sa.select(Setting.key, Setting.value)).all())


def setting_text(key: str) -> str | None:
    return settings().get(key)


def category(category_id) -> CategoryRef | None:
    return categories().get(category_id)


def unit(unit_id) -> UnitRef | None:
    return units().get(unit_id)


@part("category_choices")
def category_choices(session: Session) -> list[tuple[int, str]]:
    """Active categories as (id, full name), by full name (the pages' pickers)."""
    return [(c.id, c.full_name) for c in categories(session).values() if c.active]


@part("districts")
def districts(session: Session) -> list[UnitRef]:
    """Active districts, in tree order."""
    from hotline.enums import UnitKind

    return [u for u in units(session).values() if u.kind is UnitKind.DISTRICT and u.active]
