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
from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_engine(engine: Engine) -> None:
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
