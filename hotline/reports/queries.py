"""A report's statements, built from the figures of hotline.reports.metrics and run.

Per family one statement: `count_statements` (COUNT(*) FILTER per figure, GROUP BY unit:
what the pages show) or `id_statements` (each row's unit and item id with every figure's
predicate as a flag: what a snapshot stores and a drill-down lists), so a figure's count is
the length of its list by construction. `run_many` runs a report's statements together on
one snapshot of the database, on several connections on PostgreSQL.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterable

import sqlalchemy as sa
from flask import current_app

from hotline.extensions import db
from hotline.reports.definitions import Definitions
from hotline.reports.metrics import METRICS, Period, condition, counted


#: A report's queries sort and hash a period's rows (a month: ~170 000 calls to order by
#: number and time); PostgreSQL's default 4 MB spills those to disk.
REPORT_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL work_mem = '64MB'")


def report_settings(conn=None) -> None:
    """PostgreSQL, for the rest of this transaction only: JIT off (compiling these one-off
    report queries takes longer than running them) and room to sort in memory."""
    conn = conn if conn is not None else db.session.connection()
    if conn.dialect.name == "postgresql":
        for statement in REPORT_SETTINGS:
            conn.exec_driver_sql(statement)


def _by_family(keys: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k in keys:
        out.setdefault(METRICS[k].family, []).append(k)
    return out


def _run(stmt):
    # plain rows through the session's connection: no ORM loading for tens of thousands
    return db.session.connection().execute(stmt).all()


def _shared_snapshot(conn) -> str | None:
    """PostgreSQL: the id of this transaction's snapshot, exported for other connections to
    read exactly what it reads; None when that cannot hold (SQLite, a standby, or a
    transaction that has written something the others would not see)."""
    if conn.dialect.name != "postgresql":
        return None
    return conn.exec_driver_sql(
        "SELECT CASE WHEN pg_is_in_recovery() OR pg_current_xact_id_if_assigned() IS NOT NULL THEN NULL "
        "ELSE pg_export_snapshot() END").scalar()


def _workers() -> int:
    return max(1, int(current_app.config.get("REPORTS_QUERY_WORKERS", 2)))


def run_many(stmts: list, weights: list[int] | None = None) -> list[list]:
    """The rows of each statement, in order, all read from one snapshot of the database.

    On PostgreSQL the statements run on REPORTS_QUERY_WORKERS connections at once (a
    report is a dozen independent family queries, each mostly one core's work in the
    database): the session's transaction exports its snapshot and each worker connection
    imports it (SET TRANSACTION SNAPSHOT), so together they read exactly what one
    transaction would have read at that moment. Not on the session's own connection: in
    READ COMMITTED each of its statements would take a newer snapshot than the one
    exported. Elsewhere, or when the session's transaction has written something the
    others could not see, they run one after another on the session. `weights`
    (Family.weight) start the long ones first, so no worker is left with a long query at
    the end while the others are idle."""
    conn = db.session.connection()
    workers = min(_workers(), len(stmts))
    snapshot = _shared_snapshot(conn) if workers > 1 else None
    if snapshot is None:
        return [conn.execute(stmt).all() for stmt in stmts]
    results: list = [None] * len(stmts)
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for i in sorted(range(len(stmts)), key=lambda i: -(weights[i] if weights else 1)):  # the longest first
        todo.put(i)
    failures: list[BaseException] = []

    def worker():
        try:
            with conn.engine.connect().execution_options(isolation_level="REPEATABLE READ") as other:
                other.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # the id is the server's own
                other.exec_driver_sql("SET TRANSACTION READ ONLY")
                report_settings(other)
                while not failures:
                    try:
                        i = todo.get_nowait()
                    except queue.Empty:
                        break
                    results[i] = other.execute(stmts[i]).all()
                other.rollback()
        except BaseException as exc:  # re-raised in the caller's thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, name=f"report-query-{n}") for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return results


def count_select(fam_keys: list[str], c, p: Period, d: Definitions) -> sa.Select:
    """One GROUP BY unit with a COUNT(*) FILTER per figure of `fam_keys`, over the family's
    columns `c`."""
    cols = []
    for k in fam_keys:
        cond = condition(k, c, p, d)
        cols.append((sa.func.count().filter(cond) if cond is not None else sa.func.count()).label(k))
    return sa.select(c.unit_id, *cols).where(c.unit_id.is_not(None)).group_by(c.unit_id)


def count_statements(keys, p: Period, d: Definitions) -> list[tuple[list[str], sa.Select]]:
    """Per family of `keys`: (its keys, its count_select())."""
    return [(fam_keys, count_select(fam_keys, counted(family, p, d).c, p, d))
            for family, fam_keys in _by_family(keys).items()]


def counts_from(keys, statements, results) -> dict[str, dict[int, int]]:
    out: dict[str, dict[int, int]] = {k: {} for k in keys}
    for (fam_keys, _), rows in zip(statements, results):
        for row in rows:
            for k, n in zip(fam_keys, row[1:]):
                if n:
                    out[k][row.unit_id] = n
    return out


def counts(keys, p: Period, d: Definitions) -> dict[str, dict[int, int]]:
    """{key: {unit_id: count}}: per family one GROUP BY unit with a COUNT(*) FILTER per
    figure (what the pages show; the ids stay in the database)."""
    report_settings()
    statements = count_statements(keys, p, d)
    return counts_from(keys, statements, run_many([stmt for _, stmt in statements]))


def id_statements(keys, p: Period, d: Definitions) -> list[tuple[list[str], sa.Select]]:
    """Per family of `keys`: (its keys, its rows' unit and item id with each figure's
    predicate as a flag of the row)."""
    out = []
    for family, fam_keys in _by_family(keys).items():
        c = counted(family, p, d).c
        flags = []
        for k in fam_keys:
            cond = condition(k, c, p, d)
            flags.append(sa.case((cond, 1), else_=0) if cond is not None else sa.literal(1))
        out.append((fam_keys, sa.select(c.unit_id, c.item_id, *flags).where(c.unit_id.is_not(None))
                    .order_by(c.unit_id, c.item_id)))
    return out


def ids_from(keys, statements, results) -> dict[str, dict[int, list[int]]]:
    out: dict[str, dict[int, list[int]]] = {k: {} for k in keys}
    for (fam_keys, _), rows in zip(statements, results):
        lists = [out[k] for k in fam_keys]
        for row in rows:
            for per_unit, flag in zip(lists, row[2:]):
                if flag:
                    per_unit.setdefault(row[0], []).append(row[1])
    return out


def item_ids(keys, p: Period, d: Definitions) -> dict[str, dict[int, list[int]]]:
    """{key: {unit_id: [item ids, ascending]}}: the rows `counts` counts, listed: per family
    one query with each figure's predicate as a flag of the row."""
    report_settings()
    statements = id_statements(keys, p, d)
    return ids_from(keys, statements, run_many([stmt for _, stmt in statements]))


def rows_of(family: str, p: Period, d: Definitions, *, order=None, limit: int | None = None) -> list:
    """The family's counted rows (all columns)."""
    report_settings()
    c = counted(family, p, d).c
    stmt = sa.select(*c)
    if order is not None:
        stmt = stmt.order_by(*order(c))
    if limit is not None:
        stmt = stmt.limit(limit)
    return _run(stmt)
