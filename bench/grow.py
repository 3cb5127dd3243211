"""Grow a loaded year of tickets into N years, entirely in SQL on the PostgreSQL server.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench10m .venv/bin/python bench/grow.py --years 10

The database must hold bench/_data.py's realistic year (bench/pages_1m.py or
bench/reports_1m.py load it). For k = 1 .. years-1, every history table the generator
fills (bench/_data.py APPEND_ORDER: tickets, assignments, assignment_versions,
ticket_events, replies, callbacks, supervision_cases) gets a copy of the source year made by
one INSERT ... SELECT per table:

- ids in blocks of the table's highest id before growing (its step): the oldest copy in
  block 1 (just above the source's ids), copy 1 in the block below the top; and last the
  source year itself is moved (UPDATE) to the top block, so ids follow time as the
  application's do (the list's newest first is by id). Every foreign key into one of
  these tables is offset by the referenced table's own step, so each copy refers only to
  itself (units, users, categories are shared); references from other tables to the
  source year's rows are moved with it. The move leaves the source year's old row versions
  as free space at the start of each table (about a tenth of a 10-year table; --settle
  gives it back);
- every timestamp and date moved back k * 364 days (52 weeks: weekdays, and so the
  weekend dip and the working-day deadlines, stay where they were); the reopen events'
  payload moves its handle_due_at with them and offsets its supervision_case_id;
- ticket numbers rebuilt from the moved creation day and the new id as the generator
  writes them (`12345-YYYYMMDD-NNNNNNN`, the id zero-padded to at least 7 digits; the
  application's own numbers have a 6-digit day sequence, so they cannot collide);
  supervision sheet codes likewise (`DB-YYYY-NNNNNN`); open311 tokens dropped and
  external numbers suffixed, as they are unique;
- only the tickets that are closed in the source year are copied (with all their rows):
  a ticket still open at "now" would, moved back a year or more, be open for years, which no
  centre's database holds. The source year's open tickets (about 2 %) are skipped in the
  copies, so N years hold about N * 0.98 of the source's tickets; --tickets TARGET adds
  one more, thinned, oldest year (the closed tickets of the lowest source ids) to reach
  TARGET. A supervision case still open on a closed ticket (accepted after "now") is
  closed in the copies a day after its ticket.

The copies are written with the tables' secondary indexes dropped (bench/_data.py's
defer_indexes; their definitions are kept in the tickets table's comment until they are
built again, so an interrupted run resumes: each copy is one transaction, and the comment
records the copies done) and with session_replication_role = replica (no foreign-key
checks and no search-gram trigger row by row: the copies carry their source's
search_grams; the references are right by construction, --check counts orphans). Each
copy is inserted oldest first, in the source's physical order (the source year is laid out
by time by settle()), so a week's rows lie together as in real use; --settle CLUSTERs
every table by time as bench/_data.py's settle() does (a second rewrite of everything).
Then the indexes are built again, the id sequences advanced, and VACUUM ANALYZE. Prints
rows/s per copy and overall.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from bench._data import APPEND_ORDER, advance_sequences, defer_indexes, settle  # noqa: E402

TABLES = [name for name, _ in APPEND_ORDER]
DAYS = 364  # 52 weeks
MARK = "bench/grow.py "  # the tickets table's comment while / after growing


def _state(conn) -> dict | None:
    comment = conn.exec_driver_sql("SELECT obj_description('tickets'::regclass, 'pg_class')").scalar()
    if comment and comment.startswith(MARK):
        return json.loads(comment[len(MARK):])
    return None


def _save(conn, state: dict) -> None:
    text = (MARK + json.dumps(state, ensure_ascii=False)).replace("'", "''")
    conn.exec_driver_sql(f"COMMENT ON TABLE tickets IS '{text}'")


def _columns(conn, table: str) -> list[tuple[str, str]]:
    return [tuple(r) for r in conn.exec_driver_sql(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' "
        f"AND table_name = '{table}' ORDER BY ordinal_position")]


def _references(conn) -> dict[tuple[str, str], str]:
    """(table, column) -> referenced table, for the single-column foreign keys between the
    grown tables."""
    rows = conn.exec_driver_sql(
        "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1").all()
    return {(t, col): ref for t, col, ref in rows if t in TABLES and ref in TABLES}


def _pad(expr: str, width: int) -> str:
    """`expr` (an integer) zero-padded to at least `width` digits, as Python's :0{width}d."""
    return f"lpad(({expr})::text, greatest({width}, length(({expr})::text)), '0')"


def _exprs(conn, table: str, k: int, m: int, base: dict[str, int], refs: dict, closer: int | None):
    """(column, expression) of copy `k` (moved back k * 364 days) of the source rows of
    `table`, in id block `m` (ids offset by m * the table's step); k = 0 is the source year
    itself, moved to the top block."""
    shift = f"interval '{k * DAYS} days'"
    off = {name: m * step for name, step in base.items()}
    exprs = []
    cols = _columns(conn, table)
    for col, kind in cols:
        c = f's."{col}"'
        if col == "id":
            e = f"{c} + {off[table]}"
        elif (table, col) in refs:
            e = f"{c} + {off[refs[table, col]]}"
        elif kind.startswith("timestamp") and k:
            e = f"{c} - {shift}"
        elif kind == "date" and k:
            e = f"{c} - {k * DAYS}"
        else:
            e = c
        if k == 0 and col not in ("id", "number", "code", "payload") and (table, col) not in refs:
            continue  # the source year keeps its other columns as they are
        if table == "tickets" and col == "number":
            e = f"'12345-' || to_char(s.created_at - {shift}, 'YYYYMMDD') || '-' || {_pad(f's.id + {off[table]}', 7)}"
        elif table == "tickets" and col == "open311_token":
            e = "NULL"
        elif table == "tickets" and col == "external_number":
            e = f"CASE WHEN {c} IS NULL THEN NULL ELSE {c} || '~{k}' END"
        elif table == "supervision_cases" and col == "code":
            e = f"'DB-' || to_char(s.opened_at - {shift}, 'YYYY') || '-' || {_pad(f's.id + {off[table]}', 6)}"
        elif table == "supervision_cases" and col in ("state", "closed_at", "closed_by_id", "close_note"):
            # the copies' tickets are all closed: a case still open (accepted after "now") is
            # accepted a day after its ticket closed
            done = {"state": "'closed'",
                    "closed_at": f"(SELECT t.closed_at FROM tickets t WHERE t.id = s.ticket_id) "
                                 f"+ interval '1 day' - {shift}",
                    "closed_by_id": str(closer) if closer is not None else "NULL",
                    "close_note": "'验收销号'"}[col]
            e = f"CASE WHEN s.state = 'closed' THEN {e} ELSE {done} END"
        elif table == "ticket_events" and col == "payload":
            e = (f"CASE WHEN {c} ? 'supervision_case_id' OR {c} ? 'handle_due_at' THEN {c}"
                 f" || CASE WHEN {c} ? 'supervision_case_id' THEN jsonb_build_object('supervision_case_id', "
                 f"({c}->>'supervision_case_id')::bigint + {off['supervision_cases']}) ELSE '{{}}'::jsonb END"
                 f" || CASE WHEN {c}->>'handle_due_at' IS NOT NULL THEN jsonb_build_object('handle_due_at', "
                 f"to_char(({c}->>'handle_due_at')::timestamp - {shift}, 'YYYY-MM-DD\"T\"HH24:MI:SS')) "
                 f"ELSE '{{}}'::jsonb END ELSE {c} END")
        exprs.append((col, e))
    return exprs


def copy_sql(conn, table: str, k: int, m: int, base: dict[str, int], refs: dict, closer: int | None) -> str:
    """The INSERT ... SELECT writing copy `k` of the source rows of `table` into id block `m`."""
    exprs = _exprs(conn, table, k, m, base, refs, closer)
    names = ", ".join(f'"{col}"' for col, _ in exprs)
    if table == "tickets":
        where = f"s.id <= {base[table]} AND NOT EXISTS (SELECT 1 FROM grow_skip x WHERE x.id = s.id)"
    else:
        where = f"s.id <= {base[table]} AND NOT EXISTS (SELECT 1 FROM grow_skip x WHERE x.id = s.ticket_id)"
    return f'INSERT INTO "{table}" ({names}) SELECT {", ".join(e for _, e in exprs)} FROM "{table}" s WHERE {where}'


def move_sql(conn, table: str, m: int, base: dict[str, int], refs: dict) -> str:
    """The UPDATE moving the source rows of `table` (the newest year) to id block `m`, above
    the copies: ids follow time, as the application's (the newest first by id is the
    newest first by 受理时间)."""
    sets = ", ".join(f'"{col}" = {e}' for col, e in _exprs(conn, table, 0, m, base, refs, None))
    return f'UPDATE "{table}" AS s SET {sets} WHERE s.id <= {base[table]}'


def _outside_references(conn) -> list[tuple[str, str, str]]:
    """(table, column, referenced table): foreign keys from the other tables into the grown ones."""
    rows = conn.exec_driver_sql(
        "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1").all()
    return [(t, col, ref) for t, col, ref in rows if t not in TABLES and ref in TABLES]


def _skip(conn, base: dict, keep_below: int | None) -> int:
    """grow_skip: the source tickets a copy leaves out (open at "now"; with keep_below, also
    those from that id on). Returns the tickets the copy keeps."""
    conn.exec_driver_sql("DROP TABLE IF EXISTS grow_skip")
    extra = f" OR id >= {keep_below}" if keep_below is not None else ""
    conn.exec_driver_sql(f"CREATE TEMP TABLE grow_skip AS SELECT id FROM tickets WHERE id <= {base['tickets']} "
                         f"AND (state IS DISTINCT FROM 'closed'{extra})")
    conn.exec_driver_sql("ALTER TABLE grow_skip ADD PRIMARY KEY (id)")
    conn.exec_driver_sql("ANALYZE grow_skip")
    skipped = conn.exec_driver_sql("SELECT count(*) FROM grow_skip").scalar()
    return base["tickets"] - skipped


def grow(engine, years: int, *, target: int | None = None, do_settle: bool = False, check: bool = False,
         echo=print) -> dict:
    """Grow the database behind `engine` (holding one generated year) to `years` years (and
    to `target` tickets with a thinned oldest year); returns figures."""
    from hotline.extensions import db

    t0 = time.perf_counter()
    with engine.connect() as conn:
        state = _state(conn)
        if state is None:
            base = {t: conn.exec_driver_sql(f'SELECT coalesce(max(id), 0) FROM "{t}"').scalar() for t in TABLES}
            closer = conn.exec_driver_sql(
                "SELECT closed_by_id FROM supervision_cases WHERE closed_by_id IS NOT NULL "
                "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").scalar()
            state = {"base": base, "closer": closer, "done_from": None, "indexes": None}
        conn.commit()
    base, closer = state["base"], state["closer"]
    if state["indexes"] is None:
        state["indexes"] = defer_indexes(TABLES)
        with engine.begin() as conn:
            _save(conn, state)
    copies = list(range(1, years))
    extra_below = None
    written = 0
    with engine.connect() as conn:
        refs = _references(conn)
        source_closed = _skip(conn, base, None)
        conn.commit()
        if target is not None:
            have = base["tickets"] + source_closed * (years - 1)
            if target > have:
                # the oldest year: the closed tickets below the id that makes up the count
                need = target - have
                extra_below = conn.exec_driver_sql(
                    f"SELECT id FROM tickets WHERE id <= {base['tickets']} AND state = 'closed' "
                    f"ORDER BY id OFFSET {need} LIMIT 1").scalar()
                extra_below = extra_below or base["tickets"] + 1
                copies.append(years)
        echo(f"source year: {base}; copies {copies[0] if copies else '-'}..{copies[-1] if copies else '-'} "
             f"({source_closed} closed tickets each{'; the oldest thinned' if extra_below else ''}); "
             f"copies done before: {state['done_from'] or 'none'} and older")
        oldest = max(copies, default=0)
        for k in sorted(copies, reverse=True):  # oldest first: the tables fill in the order of time
            if state["done_from"] is not None and k >= state["done_from"]:
                continue  # made by an earlier, interrupted run
            t = time.perf_counter()
            _skip(conn, base, extra_below if k == years and extra_below else None)
            conn.exec_driver_sql("SET session_replication_role = replica")
            conn.exec_driver_sql("SET synchronous_commit = off")
            rows = 0
            for table in TABLES:  # the oldest copy in id block 1 (above the source's ids), the newest in block `oldest`
                rows += conn.exec_driver_sql(copy_sql(conn, table, k, oldest - k + 1, base, refs, closer)).rowcount
            conn.exec_driver_sql("SET session_replication_role = origin")
            state["done_from"] = k  # copies are made from the oldest down
            _save(conn, state)
            conn.commit()
            written += rows
            s = time.perf_counter() - t
            echo(f"  copy {k} (back {k * DAYS} days): {rows} rows in {s:.0f} s ({rows / max(s, 1e-9):.0f} rows/s)")
        if copies and not state.get("moved") and conn.exec_driver_sql("SELECT count(*) FROM report_snapshots").scalar():
            echo("  note: the stored report snapshots keep the source year's old ticket ids; generate them again")
        if copies and not state.get("moved"):
            # the source year last, to the top id block: ids grow with time, and its rows
            # (written after the copies) lie after them in the tables
            t = time.perf_counter()
            conn.exec_driver_sql("SET session_replication_role = replica")
            conn.exec_driver_sql("SET synchronous_commit = off")
            rows = 0
            for table in TABLES:
                rows += conn.exec_driver_sql(move_sql(conn, table, oldest + 1, base, refs)).rowcount
            for table, col, ref in _outside_references(conn):
                conn.exec_driver_sql(f'UPDATE "{table}" SET "{col}" = "{col}" + {(oldest + 1) * base[ref]} '
                                     f'WHERE "{col}" <= {base[ref]}')
            conn.exec_driver_sql("SET session_replication_role = origin")
            state["moved"] = True
            _save(conn, state)
            conn.commit()
            written += rows
            s = time.perf_counter() - t
            echo(f"  moved the source year above the copies: {rows} rows in {s:.0f} s "
                 f"({rows / max(s, 1e-9):.0f} rows/s)")
    load_s = time.perf_counter() - t0
    echo(f"  wrote {written} rows in {load_s:.0f} s ({written / max(load_s, 1e-9):.0f} rows/s, without indexes)")
    t = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
        for definition in state["indexes"]:
            conn.exec_driver_sql(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
    index_s = time.perf_counter() - t
    echo(f"  built {len(state['indexes'])} indexes again in {index_s:.0f} s")
    state["indexes"] = []
    state["years"] = years
    with engine.begin() as conn:
        _save(conn, state)
    db.session.remove()
    advance_sequences(TABLES)
    settle_s = 0.0
    if do_settle:
        t = time.perf_counter()
        settle(echo)
        settle_s = time.perf_counter() - t
    t = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in TABLES:
            conn.exec_driver_sql(f'VACUUM ANALYZE "{table}"')
    vacuum_s = time.perf_counter() - t
    echo(f"  VACUUM ANALYZE in {vacuum_s:.0f} s")
    total = time.perf_counter() - t0
    with engine.connect() as conn:
        tickets = conn.exec_driver_sql("SELECT count(*) FROM tickets").scalar()
        size = conn.exec_driver_sql("SELECT pg_size_pretty(pg_database_size(current_database()))").scalar()
    echo(f"grown to {tickets} tickets in {total:.0f} s ({written / max(total, 1e-9):.0f} rows/s overall, "
         f"indexes and VACUUM included); database {size}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    figures = dict(tickets=tickets, rows=written, load_s=load_s, index_s=index_s, settle_s=settle_s,
                   vacuum_s=vacuum_s, total_s=total, size=size)
    if check:
        figures["orphans"] = orphans(engine, echo)
    return figures


def orphans(engine, echo=print) -> dict:
    """Rows of the grown tables whose reference (a foreign key into any table, or a reopen
    event's supervision_case_id) has no row: {(table.column): count}, zeros included."""
    out = {}
    with engine.connect() as conn:
        fks = conn.exec_driver_sql(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, fa.attname "
            "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
            "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1").all()
        for table, col, ref, refcol in fks:
            if table not in TABLES:
                continue
            n = conn.exec_driver_sql(
                f'SELECT count(*) FROM "{table}" s WHERE s."{col}" IS NOT NULL AND NOT EXISTS '
                f'(SELECT 1 FROM "{ref}" r WHERE r."{refcol}" = s."{col}")').scalar()
            out[f"{table}.{col}"] = n
        out["ticket_events.payload.supervision_case_id"] = conn.exec_driver_sql(
            "SELECT count(*) FROM ticket_events e WHERE e.payload ? 'supervision_case_id' AND NOT EXISTS "
            "(SELECT 1 FROM supervision_cases c WHERE c.id = (e.payload->>'supervision_case_id')::int "
            "AND c.ticket_id = e.ticket_id)").scalar()
    bad = {k: v for k, v in out.items() if v}
    echo(f"  references checked: {len(out)}, orphans: {bad or 'none'}")
    return out


def main():
    from hotline import create_app

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--tickets", type=int, default=None,
                        help="top up to this many tickets with a thinned oldest year")
    parser.add_argument("--settle", action="store_true", help="CLUSTER every table by time afterwards")
    parser.add_argument("--check", action="store_true", help="count orphaned references afterwards")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        from hotline.extensions import db

        assert db.engine.dialect.name == "postgresql", "bench/grow.py runs on PostgreSQL"
        grow(db.engine, args.years, target=args.tickets, do_settle=args.settle, check=args.check)


if __name__ == "__main__":
    main()
