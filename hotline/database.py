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
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import UpdateBase

log = logging.getLogger("hotline.database")

REPORTS_ENGINE = "hotline.reports_engine"
_READS_KEY = "hotline.reads_from"


def configure_engine(engine: Engine, ping_idle_seconds: float | None = 1.0, *, read_only: bool = False) -> None:
    if ping_idle_seconds is not None:
        ping_idle_connections(engine, ping_idle_seconds)
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
        configure_engine(engine, app.config.get("DATABASE_PING_IDLE_SECONDS"), read_only=True)
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


def ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling, paid only where it helps: a connection handed out
    of the pool after `idle_seconds` or more unused is pinged first (a dead one is thrown
    away and another taken, as `pool_pre_ping` does); one used a moment ago is not. The
    ping is a round trip to the server, and a busy worker takes a connection a few
    times per request (the session's, the rate-limit counter's), so pinging every
    checkout cost two round trips per API request for nothing: a connection that
    answered a moment ago is alive, and a server restart takes longer than the idle
    threshold (while it lasts, requests fail with or without a ping); a connection that
    died in the moment after all is detected by SQLAlchemy on its first statement, which
    invalidates the whole pool."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, connection_record):
        connection_record.info["hotline_used_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, connection_record, connection_proxy):
        used = connection_record.info.get("hotline_used_at")
        if used is None or time.monotonic() - used < idle_seconds:
            return  # new (just connected) or used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            if engine.dialect.is_disconnect(err, dbapi_connection, None):
                raise exc.DisconnectionError() from err  # the pool replaces it and tries again
            raise
        if not alive:
            raise exc.DisconnectionError()


# --- new rows at once, without the unit of work ------------------------------------------
_STATEMENTS: dict = {}


class SqlValue:
    """A column's value that the database computes while the row is inserted (a ticket's
    number of the day, from an upsert that locks the day's counter row).

    On PostgreSQL `insert_now` puts `expression` (it may read data-modifying CTEs) into
    its one statement, so a lock the expression takes is held from that statement to the
    commit and no longer; elsewhere `before(connection)` answers the value by its own
    statement just before the INSERT. `name` keys the compiled statement (one expression
    per name); `params` are the expression's bound parameters; `check(value)` runs on
    the value written (it may raise: the caller's transaction then rolls back)."""

    __slots__ = ("name", "expression", "params", "before", "check")

    def __init__(self, name: str, expression, params: dict, before, check=None):
        self.name, self.expression, self.params = name, expression, params
        self.before, self.check = before, check or (lambda value: None)


def _row(obj, skip=()):
    """(state, mapper, primary key attribute, {column key: value}) of a new object; fills
    the attributes not set with their column's default (or None) as the INSERT will."""
    from sqlalchemy import inspect

    state = inspect(obj)
    mapper = state.mapper
    (pk_col,) = mapper.primary_key
    pk = mapper.get_property_by_column(pk_col).key
    given, values = state.dict, {}
    for prop in mapper.column_attrs:
        key = prop.key
        if prop.deferred or key == pk or key in skip:
            continue
        col = prop.columns[0]
        if key in given:
            value = given[key]
        elif col.default is not None and col.default.is_scalar:
            value = col.default.arg
        elif col.default is not None and col.default.is_callable:
            value = col.default.arg(None)
        elif col.server_default is not None:
            continue
        else:
            value = None
        given[key] = values[col.key] = value
    return state, mapper, pk, values


def _single(mapper):
    try:
        return _STATEMENTS[mapper]
    except KeyError:
        (pk_col,) = mapper.primary_key
        return _STATEMENTS.setdefault(mapper, mapper.local_table.insert().returning(pk_col))


def _chain(mapper, keys: tuple, children: tuple, computed: dict):
    """PostgreSQL: the row and its children in one statement, each child's foreign key from
    the parent's INSERT … RETURNING (data-modifying WITHs); `keys` is ((column key, the
    SqlValue's name or None), …), `children` ((mapper, fk, column keys), …), `computed`
    {column key: SqlValue}. Answers (parent id, computed values …, child ids …)."""
    cache_key = (mapper, keys, children)
    try:
        return _STATEMENTS[cache_key]
    except KeyError:
        pass
    import sqlalchemy as sa

    table = mapper.local_table
    (pk_col,) = mapper.primary_key
    parent = (table.insert().values({table.c[k]: computed[k].expression if name else
                                     sa.bindparam("p_" + k, type_=table.c[k].type) for k, name in keys})
              .returning(pk_col, *[table.c[k] for k in computed]).cte("parent"))
    inserted = []
    for i, (child_mapper, fk, child_keys) in enumerate(children):
        child_table = child_mapper.local_table
        (child_pk,) = child_mapper.primary_key
        select = sa.select(parent.c[pk_col.key],
                           *[sa.bindparam(f"c{i}_{k}", type_=child_table.c[k].type) for k in child_keys])
        inserted.append(child_table.insert().from_select([fk, *child_keys], select)
                        .returning(child_pk.label("id"), child_table.c[fk].label("parent_id")).cte(f"child{i}"))
    stmt = sa.select(parent.c[pk_col.key], *[parent.c[k] for k in computed],
                     *[c.c.id.label(f"child{i}") for i, c in enumerate(inserted)])
    for child in inserted:
        stmt = stmt.join_from(parent, child, child.c.parent_id == parent.c[pk_col.key])
    from sqlalchemy.dialects import postgresql

    _psycopg_caches(len(stmt.compile(dialect=postgresql.dialect()).params))
    return _STATEMENTS.setdefault(cache_key, stmt)


def _psycopg_caches(params: int) -> None:
    """psycopg turns a query's %(name)s placeholders into PostgreSQL's $n once and caches
    that, but only for a query of at most 50 parameters (psycopg._queries,
    MAX_CACHED_STATEMENT_PARAMS): a ticket, its event and the API's idempotency key in one
    statement have 55, and converting again on every create cost about 1 000 Python calls.
    Raise the limit to what these statements need (nothing else changes: the cache is an
    LRU of the converted queries)."""
    try:
        from psycopg import _queries
    except ImportError:  # another driver
        return
    if params > getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", params):
        _queries.MAX_CACHED_STATEMENT_PARAMS = params


def _attach(session, obj) -> None:
    from sqlalchemy.orm import make_transient_to_detached

    make_transient_to_detached(obj)
    session.add(obj)


def insert_now(obj, session=None, *, then=None):
    """INSERT the row of a new (transient) ORM object at once, by a Core statement that
    returns its primary key, and attach the object to the session as persistent, as if
    loaded: every column holds what was written (the attributes not set are filled with
    their column's default, or None), so reading it back costs nothing and a later
    change is an UPDATE at the next flush like any loaded object's.

    `then=(child, "fk")`, or a list of such pairs: new rows referring to this one by
    their column `fk` (a ticket's first event), written with it: on PostgreSQL by the
    same statement (one round trip), elsewhere by one INSERT each after it; the children
    are attached the same way. A child refused by a constraint (a unique key taken) fails
    the whole statement: nothing of it is written.

    An attribute set to a `SqlValue` is computed by the database: on PostgreSQL inside
    the one statement (with or without children), elsewhere by its own statement first;
    the object holds the value written.

    For the hot path of recording a ticket, where the unit of work's bookkeeping costs
    more than the statements. No flush hook sees these rows: callers do what a hook
    would have done (hotline.lifecycle.events.record writes the webhook deliveries).
    Relationship attributes are not written; set the foreign keys. Deferred columns and
    columns with only a server default are left to the database (unloaded)."""
    from hotline.extensions import db

    session = session or db.session()
    state, mapper, pk, values = _row(obj)
    conn = session.connection()
    computed = {k: v for k, v in values.items() if isinstance(v, SqlValue)}
    pairs = [] if then is None else [then] if isinstance(then, tuple) else list(then)
    rows = [(child, fk, _row(child, skip=(fk,))) for child, fk in pairs]
    if conn.dialect.name == "postgresql" and (rows or computed):
        params = {"p_" + k: v for k, v in values.items() if k not in computed}
        for value in computed.values():
            params.update(value.params)
        for i, (_, _, (_, _, _, child_values)) in enumerate(rows):
            params.update((f"c{i}_{k}", v) for k, v in child_values.items())
        spec = tuple((child_mapper, fk, tuple(child_values))
                     for _, fk, (_, child_mapper, _, child_values) in rows)
        keys = tuple((k, v.name if k in computed else None) for k, v in values.items())
        parent_id, *rest = conn.execute(_chain(mapper, keys, spec, computed), params).one()
        for (key, value), written in zip(computed.items(), rest):
            state.dict[key] = written
            value.check(written)
        child_ids = rest[len(computed):]
        _attach_all(session, state, pk, parent_id, obj, rows, child_ids)
        return obj
    for key, value in computed.items():
        state.dict[key] = values[key] = value.before(conn)
        value.check(values[key])
    parent_id = conn.execute(_single(mapper), values).scalar_one()
    child_ids = [conn.execute(_single(child_mapper), {**child_values, fk: parent_id}).scalar_one()
                 for _, fk, (_, child_mapper, _, child_values) in rows]
    _attach_all(session, state, pk, parent_id, obj, rows, child_ids)
    return obj


def _attach_all(session, state, pk, parent_id, obj, rows, child_ids) -> None:
    state.dict[pk] = parent_id
    _attach(session, obj)
    for (child, fk, (child_state, _, child_pk, _)), child_id in zip(rows, child_ids):
        child_state.dict[fk], child_state.dict[child_pk] = parent_id, child_id
        _attach(session, child)
