"""Engine set-up per database kind.

SQLite: WAL so readers and one writer work at once, foreign keys on, and every
transaction started with BEGIN IMMEDIATE so a read-then-write transaction waits for the
write lock (busy_timeout) instead of failing with SQLITE_BUSY half-way.

PostgreSQL: JIT compilation off for the application's connections. The pages' queries
read a few rows through indexes; at a million tickets the planner's cost estimates of
the larger ones (queue counts, reports) cross jit_above_cost and every such request paid
about 300 ms of compiling for a query that runs in a fraction of it. And every statement
is planned for its own parameters (plan_cache_mode): psycopg prepares a statement it has
run five times, and a generic plan cannot know that one keyword is in every ticket and
another in three (the text search picks a sequential scan for the first, the gram index
for the second); planning these statements takes well under a millisecond.

The reports engine (REPORTS_DATABASE_URL, a read replica) gets the same settings and is
read-only besides: `default_transaction_read_only` on PostgreSQL, `query_only` on SQLite,
so a write routed to it by mistake fails loudly instead of landing on the wrong database.
On SQLite its transactions begin DEFERRED: a reader must not take the write lock.
"""
from __future__ import annotations

import contextlib
import logging
import time

import sqlalchemy as sa
from flask import current_app
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import UpdateBase

log = logging.getLogger("hotline.database")

REPORTS_ENGINE = "hotline.reports_engine"
_READS_KEY = "hotline.reads_from"


def configure_engine(engine: Engine, *, read_only: bool = False) -> None:
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def _session_settings(dbapi_connection, connection_record):
            with dbapi_connection.cursor() as cur:
                cur.execute("SET jit = off")
                cur.execute("SET plan_cache_mode = force_custom_plan")
                if read_only:
                    cur.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()
        return
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA synchronous=NORMAL")
        if read_only:
            cur.execute("PRAGMA query_only=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


# --- the reports' read replica --------------------------------------------------------------
def init_reports_engine(app) -> None:
    """The engine the report paths count with when REPORTS_DATABASE_URL is set (None
    otherwise: they read the primary)."""
    url = app.config.get("REPORTS_DATABASE_URL")
    engine = None
    if url:
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        if sa.engine.make_url(url).get_backend_name() == "postgresql":
            # a replica that is down costs a request seconds, not the TCP timeout, before
            # the report falls back to the primary
            options["connect_args"] = {"connect_timeout": 3, **options.get("connect_args", {})}
        engine = sa.create_engine(url, **options)
        configure_engine(engine, read_only=True)
    app.extensions[REPORTS_ENGINE] = engine


def reports_engine() -> Engine | None:
    """The current app's read-replica engine, or None when reports read the primary."""
    return current_app.extensions.get(REPORTS_ENGINE)


class RoutingSession(FlaskSession):
    """db.session's class. Inside `reading_reports()` its reads go to the reports engine;
    a flush, an INSERT/UPDATE/DELETE and a SELECT … FOR UPDATE always go to the primary,
    so a path that writes cannot write to the replica or lock rows there."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        replica = self.info.get(_READS_KEY)
        if (replica is not None and bind is None and not self._flushing
                and not isinstance(clause, UpdateBase)
                and getattr(clause, "_for_update_arg", None) is None):
            return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _replica_caught_up(primary: Engine, replica: Engine, max_wait: float) -> bool:
    """True when `replica` holds every transaction the primary had committed when this was
    called (waiting for it at most `max_wait` seconds). A PostgreSQL standby is compared
    by WAL position; anything else (a copy that is not a standby, SQLite) is taken as is."""
    if primary.dialect.name != "postgresql" or replica.dialect.name != "postgresql":
        return True
    with primary.connect() as pc:
        target = pc.scalar(sa.text("SELECT pg_current_wal_lsn()::text"))
    # WAL positions are the whole cluster's: a bulk load into another database on the
    # primary delays this too (the replica replays in order)
    check = sa.text("SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)")
    deadline = time.monotonic() + max_wait
    with replica.connect() as rc:
        while True:
            if rc.scalar(check, {"lsn": target}):
                return True
            rc.rollback()
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


def replica_for_request() -> Engine | None:
    """The engine a report path reads with: the replica when one is configured and has
    caught up with the primary (so a figure counted afresh there is the figure the primary
    would give at this moment), else None (read the primary)."""
    from hotline.extensions import db

    replica = reports_engine()
    if replica is None:
        return None
    wait = float(current_app.config.get("REPORTS_REPLICA_MAX_WAIT_SECONDS", 2))
    try:
        caught_up = _replica_caught_up(db.engine, replica, wait)
    except sa.exc.DBAPIError as exc:
        log.warning("reports replica unreachable (%s); reading the primary", str(exc.orig or exc).strip()[:300])
        return None
    if not caught_up:
        log.warning("reports replica more than %.1f s behind the primary; reading the primary", wait)
        return None
    return replica


@contextlib.contextmanager
def reading_reports():
    """Run a report's reads (db.session SELECTs) on the read replica when one is set and
    has caught up; on the primary otherwise. Writes inside still go to the primary, but
    report paths that store something (snapshots) run outside this block altogether:
    what is stored is counted on the primary."""
    from hotline.extensions import db

    session = db.session()
    if session.info.get(_READS_KEY) is not None:  # nested: already reading the replica
        yield session.info[_READS_KEY]
        return
    replica = replica_for_request()
    if replica is None:
        yield None
        return
    session.info[_READS_KEY] = replica
    try:
        yield replica
    finally:
        session.info.pop(_READS_KEY, None)
