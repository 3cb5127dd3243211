"""Reports over a year of tickets (default 1 000 000): the dashboard, the weekly report
and the monthly bulletin counted as of a moment from the history, a stored weekly
snapshot, the unit ranking, the streamed CSV export. Prints medians in ms and memory.

    .venv/bin/python bench/reports_1m.py                  # SQLite file in a temp dir
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE hotline_bench1m"
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench1m .venv/bin/python bench/reports_1m.py

The database must be empty, or already hold this script's data (it is then reused:
BENCH_REUSE=1 skips loading when tickets are there). BENCH_TICKETS sets the volume,
BENCH_MIGRATE=0 leaves the schema as it is (a database shared with other branches),
BENCH_RUNS the runs per median (default 3). The measurements run in a child process, so
its peak RSS is that of the reports alone, not of the loading. BENCH_EXPORT=0 skips the
CSV exports, BENCH_YEAR=1 adds a 365-day ranking, BENCH_FAMILIES=1 times each family
query of hotline.reports.metrics over the week and the month, and with BENCH_EXPLAIN=1
prints the PostgreSQL plan (EXPLAIN ANALYZE) of each family over 300 ms. Session
settings go in the URL, e.g. `...hotline_bench1m?options=-c%20jit%3Doff` (JIT off).
BENCH_REPLICA=1 (PostgreSQL) starts a streaming replica of the server with bench/replica.py,
measures with REPORTS_DATABASE_URL pointing at it (the report pages, the dashboard and the
exports count there; build_report called directly and the jobs stay on the primary), and
removes it afterwards. Ends with one JSON line per measurement (bench/_report.py; ratio =
median / the reference queries' median where a reference is printed).

Every report is measured beside a reference taken in the same run on the same database:
the smallest honest queries over its period (COUNT of the tickets recorded in it, and
the lead assignments dispatched in it GROUP BY unit); the ratio report / reference is
printed with each report.

Targets (issues 6 and 11): each report page a manager opens under 2 s on PostgreSQL
(the stored weekly and monthly pages with their 环比, the ranking of the last full week
or month, the dashboard), process memory under 300 MB, the 1 000 000-row CSV export
under 60 s with flat memory. The pages counted afresh (a running period, another range)
and the jobs that store a snapshot with every figure's ids are printed for information.
On a database shared with other branches, BENCH_MIGRATE=0 and create this branch's
indexes by hand (see the migration r11a7c0f3e5d9).
"""
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._report import emit, peak_rss_mb, row, rss_mb, timings  # noqa: E402

N = int(os.environ.get("BENCH_TICKETS", "1000000"))
NOW = datetime(2026, 11, 23, 9, 30)  # the data's "now": a year of tickets ends here
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def _app(url):
    """The measured app; with REPORTS_DATABASE_URL (set by BENCH_REPLICA=1, or by hand) its
    report pages count on that replica."""
    from hotline import create_app

    replica = os.environ.get("REPORTS_DATABASE_URL")
    if replica:
        replica = replica.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_app("testing", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False, REPORTS_DATABASE_URL=replica)


def load(url: str) -> None:
    from flask_migrate import upgrade

    from bench._data import realistic_history, realistic_world
    from hotline.extensions import db
    from hotline.tickets.models import Ticket

    app = _app(url)
    with app.app_context():
        if os.environ.get("BENCH_MIGRATE", "1") == "1":
            upgrade()  # BENCH_MIGRATE=0: a shared database whose schema another branch moves on
        have = db.session.query(Ticket).count()
        if have:
            if os.environ.get("BENCH_REUSE") == "1":
                print(f"database: {db.engine.dialect.name}; reusing {have} tickets")
                return
            sys.exit(f"the database already holds {have} tickets: give an empty one (or BENCH_REUSE=1)")
        t0 = time.perf_counter()
        _, districts, handlers, leaves, users = realistic_world()
        step = max(N // 10, 1)
        realistic_history(N, districts, handlers, leaves, users, end=NOW,
                          echo=lambda msg: print(msg, flush=True) if not msg.lstrip().startswith("inserted")
                          or int(msg.split()[1].split("/")[0]) % step == 0 else None)
        counts = {name: db.session.execute(db.text(f"SELECT count(*) FROM {name}")).scalar()
                  for name in ("tickets", "assignments", "assignment_versions", "ticket_events", "replies",
                               "callbacks", "supervision_cases")}
        print(f"database: {db.engine.dialect.name}; loaded {counts} in {time.perf_counter() - t0:.0f} s", flush=True)


def timed(label, fn, runs=RUNS, *, ref=None, after=None):
    """Median of `runs` calls of `fn` (after one warm-up call), in ms; with `ref` (a
    reference time in ms measured in this run) the ratio to it; `after(result)` runs after
    each call, untimed (e.g. a rollback). Returns (last result, median ms)."""
    result, times = timings(fn, runs, after=after)
    line = row(label, times, ref_ms=ref)
    med = line["p50_ms"]
    ratio = f"  = {med / ref:5.0f} × reference" if ref else ""
    print(f"{label:52s} median {med:8.0f} ms  (min {min(times):.0f}, max {max(times):.0f}){ratio}"
          f"  rss {line['rss_mb']:5.0f} MB", flush=True)
    JSON_LINES.append(line)
    return result, med


JSON_LINES: list[dict] = []  # printed together at the end of the measuring process


def measure(url: str) -> None:
    from hotline.clock import clock

    clock.set(NOW)
    app = _app(url)
    client = app.test_client()
    assert client.post("/login", data={"username": "manager", "password": "bench-pass-1"}).status_code == 302
    today = NOW.date()
    with app.app_context():
        from hotline.units.models import Unit
        from hotline.extensions import db

        dialect = db.engine.dialect.name
        district = db.session.query(Unit).filter_by(code="D0").one().id
        total = db.session.execute(db.text("SELECT count(*) FROM tickets")).scalar()
        versions = db.session.execute(db.text("SELECT count(*) FROM assignment_versions")).scalar()
        events = db.session.execute(db.text("SELECT count(*) FROM ticket_events")).scalar()
    print(f"--- measuring on {dialect}, {total} tickets, {versions} assignment versions, {events} events, "
          f"now = {NOW:%Y-%m-%d %H:%M}, median of {RUNS} runs ---", flush=True)

    def page(path):
        def get():
            resp = client.get(path)
            assert resp.status_code == 200, resp.status_code
            return resp
        return get

    d30 = f"/dashboard?date_from={today - timedelta(days=29)}&date_to={today}"
    d365 = f"/dashboard?date_from={today - timedelta(days=364)}&date_to={today}"
    timed("dashboard, 30 days", page(d30))
    timed("dashboard, 365 days", page(d365))
    timed("dashboard, 30 days, one district's unit", page(d30 + f"&unit_id={district}"))
    timed("dashboard, 365 days, one district's unit", page(d365 + f"&unit_id={district}"))
    timed("ticket list, drill-down (one day, one channel)",
          page(f"/tickets?date_from={today - timedelta(days=3)}&date_to={today - timedelta(days=3)}&channel=wechat"))
    timed("ticket list, drill-down (overdue on a day)", page(f"/tickets?overdue_on={today - timedelta(days=20)}"))

    with app.app_context():
        _reports(page)

    print(f"peak rss after the pages and reports: {peak_rss_mb():.0f} MB", flush=True)
    if os.environ.get("BENCH_EXPORT", "1") == "1":
        _export(client, "/tickets/export.csv", total, trace=False)
        _export(client, "/tickets/export.csv", total, trace=True)
        _export(client, f"/tickets/export.csv?date_from={today - timedelta(days=29)}&date_to={today}", None,
                trace=False)
    print(f"peak rss of the measuring process: {peak_rss_mb():.0f} MB", flush=True)
    if app.extensions.get("hotline.reports_engine") is not None:
        print(f"report pages counted on the replica {app.extensions['hotline.reports_engine'].url}", flush=True)
    for line in JSON_LINES:
        emit(line)


# --- the reports, against a reference query in the same run -----------------------------------
def reference_queries(start: datetime, end: datetime):
    """The smallest honest queries over the same period: the tickets recorded in it
    (COUNT), and the lead assignments dispatched in it per unit (GROUP BY)."""
    import sqlalchemy as sa

    from hotline.enums import AssignmentRole
    from hotline.extensions import db
    from hotline.tickets.models import Assignment, Ticket

    def count():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)
                                 .where(Ticket.created_at >= start, Ticket.created_at < end))

    def per_unit():
        return dict(db.session.execute(
            sa.select(Assignment.unit_id, sa.func.count())
            .where(Assignment.role == AssignmentRole.LEAD, Assignment.dispatched_at >= start,
                   Assignment.dispatched_at < end)
            .group_by(Assignment.unit_id)).all())
    return count, per_unit


def _reports(page) -> None:
    import json

    import sqlalchemy as sa

    from hotline.extensions import db
    from hotline.reports import periods
    from hotline.reports.metrics import COUNTED_CLOSURES
    from hotline.reports.rates import unit_ranking
    from hotline.reports.snapshots import build_report, generate_report
    from hotline.tickets.models import Ticket

    week, month = periods.previous_week(NOW), periods.previous_month(NOW)
    _, w_start, w_end = periods.parse("weekly", week)
    _, m_start, m_end = periods.parse("monthly", month)
    refs = {}
    for name, start, end in ((week, w_start, w_end), (month, m_start, m_end)):
        count, per_unit = reference_queries(start, end)
        c, _ = timed(f"reference {name}: COUNT tickets in the period", count)
        g, _ = timed(f"reference {name}: GROUP BY unit, lead assignments", per_unit)
        _, refs[name] = timed(f"reference {name}: both (basis of the ratios)", lambda: (count(), per_unit()))
        print(f"    {c} tickets recorded, {sum(g.values())} lead assignments dispatched ({len(g)} units)",
              flush=True)
        refs[name, "dispatched"] = sum(g.values())

    # counted in the database (what a page shown live computes); 环比 computed as well
    weekly, _ = timed(f"weekly report {week} (build_report, previous week counted too)",
                   lambda: build_report("weekly", week, now=NOW), ref=refs[week])
    _figures(weekly, refs[week, "dispatched"], w_start, w_end, COUNTED_CLOSURES, db, sa, Ticket)
    monthly, _ = timed(f"monthly bulletin {month} (build_report, previous month counted too)",
                    lambda: build_report("monthly", month, now=NOW), ref=refs[month])
    _figures(monthly, refs[month, "dispatched"], m_start, m_end, COUNTED_CLOSURES, db, sa, Ticket)
    # 环比 reads the previous period's stored snapshot when there is one (the scheduled
    # jobs store every period); without one it is computed as well, doubling the work
    timed(f"weekly report {week}, previous week stored", lambda: build_report("weekly", week, now=NOW,
                                                                              with_previous=False), ref=refs[week])
    timed(f"monthly bulletin {month}, previous month stored",
          lambda: build_report("monthly", month, now=NOW, with_previous=False), ref=refs[month])

    stored = {}

    def generate():
        row = generate_report("weekly", week, NOW)
        size = db.session.execute(sa.text("SELECT "
                                          + ("pg_column_size(data)" if db.engine.dialect.name == "postgresql"
                                             else "length(data)") + " FROM report_snapshots WHERE id = :id"),
                                  {"id": row.id}).scalar()
        stored.update(data=row.data, size=size)
        return row

    timed(f"generate_report weekly {week} (build, store, flush)", generate, ref=refs[week],
          after=lambda row: db.session.rollback())
    data = stored["data"]
    ids = sum(len(v) for per_unit in data["ids"].values() for v in per_unit.values())
    text = json.dumps(data, ensure_ascii=False)
    print(f"    snapshot: {ids} ids stored over {len(data['ids'])} figures, {len(data['rows'])} unit rows, "
          f"{len(data['overdue'])} overdue listed; JSON {len(text.encode()) / 1e6:.2f} MB, "
          f"stored {stored['size'] / 1e6:.2f} MB (rolled back after each run)", flush=True)

    _stored_pages(page, week, month, refs)

    # counted afresh (no snapshot of the range, or another range)
    for label, first, last, ref in (
            (f"unit ranking {week}, level 2", w_start.date(), w_end.date() - timedelta(days=1), refs[week]),
            (f"unit ranking {month}, level 2", m_start.date(), m_end.date() - timedelta(days=1), refs[month])):
        ranking, _ = timed(label, lambda: unit_ranking(first, last), ref=ref)
        print(f"    {len(ranking['rows'])} units ranked, as of {ranking['as_of']}", flush=True)
    timed(f"unit ranking {week}, level 3", lambda: unit_ranking(w_start.date(), w_end.date() - timedelta(days=1), 3),
          ref=refs[week])
    if os.environ.get("BENCH_YEAR") == "1":
        timed("unit ranking, 365 days, level 2 (information)",
              lambda: unit_ranking(NOW.date() - timedelta(days=364), NOW.date()), runs=1)
    if os.environ.get("BENCH_FAMILIES") == "1":
        _families(w_start, w_end)
        _families(m_start, m_end)


def _stored_pages(page, week, month, refs) -> None:
    """The pages a manager opens on a stored period: the jobs store every week and month
    (the previous period too, which 环比 reads). Stored here (each job timed once, with its
    commit), the pages and a drill-down measured, then the rows deleted again."""
    import sqlalchemy as sa

    from hotline.extensions import db
    from hotline.reports import periods
    from hotline.reports.models import ReportSnapshot
    from hotline.reports.snapshots import generate_report

    made = []
    try:
        for kind, key in (("weekly", periods.PREVIOUS["weekly"](periods.parse("weekly", week)[1])), ("weekly", week),
                          ("monthly", periods.previous_month(periods.parse("monthly", month)[1])), ("monthly", month)):
            if db.session.scalar(sa.select(sa.func.count()).select_from(ReportSnapshot)
                                 .where(ReportSnapshot.kind == kind, ReportSnapshot.period == key)):
                print(f"    {kind} {key} already stored: left as it is", flush=True)
                continue
            t = time.perf_counter()
            row = generate_report(kind, key, NOW)
            db.session.commit()
            made.append(row.id)
            ids = sum(len(v) for per_unit in row.data["ids"].values() for v in per_unit.values())
            print(f"{'job: generate and store ' + kind + ' ' + key:52s} {(time.perf_counter() - t) * 1000:8.0f} ms"
                  f"  ({ids} ids)", flush=True)
        timed(f"weekly page {week}, stored (环比 stored with it)", page(f"/reports/weekly/{week}"), ref=refs[week])
        timed(f"monthly page {month}, stored (环比 stored with it)", page(f"/reports/monthly/{month}"),
              ref=refs[month])
        snap = db.session.scalar(sa.select(ReportSnapshot.id).where(ReportSnapshot.kind == "monthly",
                                                                    ReportSnapshot.period == month)
                                 .order_by(ReportSnapshot.revision.desc()).limit(1))
        timed(f"drill-down of the stored {month} 办结数 (city)", page(f"/reports/drill?metric=closed&snapshot={snap}"))
        # the ranking page opens on the last full week; over a stored period it reads its figures
        timed(f"ranking page, last full week {week} (stored)", page("/reports/rates"), ref=refs[week])
        first, last = periods.parse("monthly", month)[1:]
        timed(f"ranking page, month {month} (stored)",
              page(f"/reports/rates?date_from={first:%Y-%m-%d}&date_to={last - timedelta(days=1):%Y-%m-%d}"),
              ref=refs[month])
    finally:
        if made:
            db.session.execute(sa.delete(ReportSnapshot).where(ReportSnapshot.id.in_(made)))
            db.session.commit()


def _figures(data, dispatched, start, end, counted, db, sa, Ticket) -> None:
    """The main figures, and two checks against plain queries."""
    city = data["city"]["values"]
    closed_plain = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(
        Ticket.closed_at >= start, Ticket.closed_at < end, Ticket.closure.in_(counted)))
    print(f"    city: received {city['received']}, closed {city['closed']} (on time {city['closed_on_time']}), "
          f"overdue_now {city['overdue_now']}, callbacks reached {city['callbacks_reached']}, "
          f"calls {city['calls']} (direct {city['direct']}), cases opened {city['cases_opened']}; "
          f"{len(data['rows'])} unit rows, {len(data['overdue'])} overdue listed", flush=True)
    print(f"    check: received {'=' if city['received'] == dispatched else '≠'} {dispatched} lead assignments "
          f"dispatched (plain query); closed {'=' if city['closed'] == closed_plain else '≠'} {closed_plain} "
          f"tickets with a counted closure closed in the period (plain query)", flush=True)


def _families(start: datetime, end: datetime) -> None:
    """Each family's query once over the period, with its time and rows (which one is slow);
    on PostgreSQL with BENCH_EXPLAIN=1, the plan of any family over 300 ms."""
    from hotline.extensions import db
    from hotline.reports.definitions import current
    from hotline.reports.metrics import FAMILIES, Period
    from hotline.reports.queries import rows_of

    p, d = Period.of(start, end, NOW), current()
    print(f"--- families over {start:%Y-%m-%d} .. {end:%Y-%m-%d} (as of {p.as_of}): query, fetch and pick ---",
          flush=True)
    total = 0.0
    for name, fam in FAMILIES.items():
        t = time.perf_counter()
        rows = rows_of(name, p, d)
        ms = (time.perf_counter() - t) * 1000
        total += ms
        print(f"    {name:20s} {ms:8.0f} ms  {len(rows):8d} rows", flush=True)
        if ms > 300 and os.environ.get("BENCH_EXPLAIN") == "1" and db.engine.dialect.name == "postgresql":
            sql = str(fam.query(p, d).compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
            plan = db.session.execute(db.text("EXPLAIN (ANALYZE, BUFFERS) " + sql.replace(":", r"\:"))).scalars()
            print("\n".join("        " + line for line in plan), flush=True)
    print(f"    {'all families':20s} {total:8.0f} ms (the rest of a report's time is Python: averages, roll-ups)",
          flush=True)


def _export(client, path: str, expected, *, trace: bool) -> None:
    if trace:
        tracemalloc.start()
    before = rss_mb()
    samples = []
    t = time.perf_counter()
    resp = client.get(path)
    assert resp.status_code == 200 and resp.is_streamed
    first = time.perf_counter() - t
    size = lines = 0
    for i, chunk in enumerate(resp.response):
        size += len(chunk)
        lines += chunk.count(b"\n")
        if i % 50 == 0:
            samples.append(rss_mb())
    took = time.perf_counter() - t
    rows = lines - 1
    query = path.split("?", 1)[1] if "?" in path else "all"
    label = "CSV export" + (" (tracemalloc on)" if trace else "") + f" {query}"
    print(f"{label:52s} {took:6.1f} s  {rows} rows, {size / 1e6:.0f} MB, first byte {first * 1000:.0f} ms, "
          f"{rows / took:,.0f} rows/s", flush=True)
    print(f"    rss before {before:.0f} MB, during min/max {min(samples):.0f}/{max(samples):.0f} MB "
          f"({len(samples)} samples), peak rss so far {peak_rss_mb():.0f} MB", flush=True)
    if trace:
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"    python heap peak during export (tracemalloc): {peak / 1e6:.1f} MB", flush=True)
    if expected is not None:
        assert rows == expected, (rows, expected)
    if not trace:
        JSON_LINES.append(row(label, [took * 1000], rps=1 / took, rows=rows, rows_per_s=round(rows / took),
                              first_byte_ms=round(first * 1000)))


def main():
    url = os.environ.get("DATABASE_URL")
    if url:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        measure(sys.argv[2])
        return
    load(url)
    if os.environ.get("BENCH_REPLICA") == "1":  # the pages against a streaming replica of the database
        from bench.replica import Replica

        with Replica() as replica:
            env = {**os.environ, "REPORTS_DATABASE_URL": replica.url_for(url)}
            subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", url], check=True, env=env)
        return
    subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", url], check=True)


if __name__ == "__main__":
    main()
