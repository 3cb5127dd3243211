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
"""
import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine


def configure_engine(engine: Engine, ping_idle_seconds: float | None = 1.0) -> None:
    if ping_idle_seconds is not None:
        ping_idle_connections(engine, ping_idle_seconds)
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def _session_settings(dbapi_connection, connection_record):
            with dbapi_connection.cursor() as cur:
                cur.execute("SET jit = off")
                cur.execute("SET plan_cache_mode = force_custom_plan")
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
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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


# --- one new row at once, without the unit of work ---------------------------------------
_INSERTS: dict = {}


def insert_now(obj, session=None):
    """INSERT the row of a new (transient) ORM object at once, by one Core statement that
    returns its primary key, and attach the object to the session as persistent, as if
    loaded: every column holds what was written (the attributes not set are filled with
    their column's default, or None), so reading it back costs nothing and a later
    change is an UPDATE at the next flush like any loaded object's.

    For the hot path of recording a ticket (its row and its first event), where the unit
    of work's bookkeeping costs more than the statements. No flush hook sees the row:
    callers do what a hook would have done (hotline.lifecycle.events.record writes the
    webhook deliveries). Relationship attributes are not written; set the foreign keys.
    Deferred columns and columns with only a server default are left to the database
    (unloaded on the object)."""
    from sqlalchemy import inspect
    from sqlalchemy.orm import make_transient_to_detached

    from hotline.extensions import db

    session = session or db.session()
    state = inspect(obj)
    mapper = state.mapper
    try:
        stmt, pk = _INSERTS[mapper]
    except KeyError:
        (pk_col,) = mapper.primary_key
        stmt, pk = _INSERTS.setdefault(mapper, (mapper.local_table.insert().returning(pk_col),
                                                mapper.get_property_by_column(pk_col).key))
    values = {}
    for prop in mapper.column_attrs:
        if prop.deferred or prop.key == pk:
            continue
        col = prop.columns[0]
        if prop.key in state.dict:
            value = state.dict[prop.key]
        elif col.default is not None and col.default.is_scalar:
            value = col.default.arg
        elif col.default is not None and col.default.is_callable:
            value = col.default.arg(None)
        elif col.server_default is not None:
            continue
        else:
            value = None
        state.dict[prop.key] = values[col.key] = value
    state.dict[pk] = session.connection().execute(stmt, values).scalar_one()
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
