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


# --- new rows at once, without the unit of work ------------------------------------------
_STATEMENTS: dict = {}


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


def _pair(mapper, child_mapper, fk: str, keys: tuple, child_keys: tuple):
    """PostgreSQL: both rows in one statement, the child's foreign key from the parent's
    INSERT … RETURNING (a data-modifying WITH)."""
    cache_key = (mapper, child_mapper, fk, keys, child_keys)
    try:
        return _STATEMENTS[cache_key]
    except KeyError:
        pass
    import sqlalchemy as sa

    table, child_table = mapper.local_table, child_mapper.local_table
    (pk_col,) = mapper.primary_key
    (child_pk,) = child_mapper.primary_key
    parent = (table.insert().values({table.c[k]: sa.bindparam("p_" + k, type_=table.c[k].type) for k in keys})
              .returning(pk_col).cte("parent"))
    select = sa.select(parent.c[pk_col.key],
                       *[sa.bindparam("c_" + k, type_=child_table.c[k].type) for k in child_keys])
    stmt = (child_table.insert().from_select([fk, *child_keys], select)
            .returning(child_pk, child_table.c[fk]))
    return _STATEMENTS.setdefault(cache_key, stmt)


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

    `then=(child, "fk")`: a new row referring to this one by its column `fk` (a ticket's
    first event), written with it: on PostgreSQL by the same statement (one round trip),
    elsewhere by a second INSERT; the child is attached the same way.

    For the hot path of recording a ticket, where the unit of work's bookkeeping costs
    more than the statements. No flush hook sees these rows: callers do what a hook
    would have done (hotline.lifecycle.events.record writes the webhook deliveries).
    Relationship attributes are not written; set the foreign keys. Deferred columns and
    columns with only a server default are left to the database (unloaded)."""
    from hotline.extensions import db

    session = session or db.session()
    state, mapper, pk, values = _row(obj)
    conn = session.connection()
    if then is None:
        state.dict[pk] = conn.execute(_single(mapper), values).scalar_one()
        _attach(session, obj)
        return obj
    child, fk = then
    child_state, child_mapper, child_pk, child_values = _row(child, skip=(fk,))
    if conn.dialect.name == "postgresql":
        params = {"p_" + k: v for k, v in values.items()}
        params.update(("c_" + k, v) for k, v in child_values.items())
        child_id, parent_id = conn.execute(
            _pair(mapper, child_mapper, fk, tuple(values), tuple(child_values)), params).one()
    else:
        parent_id = conn.execute(_single(mapper), values).scalar_one()
        child_id = conn.execute(_single(child_mapper), {**child_values, fk: parent_id}).scalar_one()
    state.dict[pk] = parent_id
    child_state.dict[fk], child_state.dict[child_pk] = parent_id, child_id
    _attach(session, obj)
    _attach(session, child)
    return obj
