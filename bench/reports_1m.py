"""Reports over a year of tickets (default 1 000 000): the dashboard, the streamed CSV
export, the weekly report and the unit ranking. Prints times and memory.

    .venv/bin/python bench/reports_1m.py                  # SQLite file in a temp dir
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE hotline_bench1m"
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench1m .venv/bin/python bench/reports_1m.py

The database must be empty, or already hold this script's data (it is then reused:
BENCH_REUSE=1 skips loading when tickets are there). BENCH_TICKETS sets the volume.
The measurements run in a child process, so its peak RSS is that of the reports alone,
not of the loading.

Targets (issue 6): each report under 2 s on PostgreSQL, process memory under 300 MB, the
1 000 000-row CSV export under 60 s with flat memory.
"""
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

N = int(os.environ.get("BENCH_TICKETS", "1000000"))
NOW = datetime(2026, 11, 23, 9, 30)  # the data's "now": a year of tickets ends here
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _app(url):
    from hotline import create_app

    return create_app("testing", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)


def load(url: str) -> None:
    from flask_migrate import upgrade

    from bench._data import realistic_history, realistic_world
    from hotline.extensions import db
    from hotline.tickets.models import Ticket

    app = _app(url)
    with app.app_context():
        upgrade()
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
                          echo=lambda msg: print(msg, flush=True) if int(msg.split()[1].split("/")[0]) % step == 0
                          else None)
        counts = {name: db.session.execute(db.text(f"SELECT count(*) FROM {name}")).scalar()
                  for name in ("tickets", "assignments", "replies", "callbacks")}
        print(f"database: {db.engine.dialect.name}; loaded {counts} in {time.perf_counter() - t0:.0f} s", flush=True)


def timed(label, fn, runs=RUNS):
    fn()  # warm
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    print(f"{label:52s} median {statistics.median(times):6.2f} s  (min {min(times):.2f}, max {max(times):.2f})"
          f"  rss {rss_mb():5.0f} MB", flush=True)
    return result


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
    print(f"--- measuring on {dialect}, {total} tickets, now = {NOW:%Y-%m-%d %H:%M} ---", flush=True)

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
        _lead_reports(today)

    print(f"peak rss after the pages and reports: {peak_rss_mb():.0f} MB", flush=True)
    _export(client, "/tickets/export.csv", total, trace=False)
    _export(client, "/tickets/export.csv", total, trace=True)
    _export(client, f"/tickets/export.csv?date_from={today - timedelta(days=29)}&date_to={today}", None, trace=False)
    print(f"peak rss of the measuring process: {peak_rss_mb():.0f} MB", flush=True)


def _lead_reports(today: date) -> None:
    """The weekly report and the ranking (hotline.reports.weekly / .rates), if present."""
    try:
        from hotline.reports.weekly import build_weekly_report
    except ImportError:
        print("weekly report (build_weekly_report): not available")
    else:
        y, w, _ = (NOW - timedelta(days=7)).isocalendar()
        week = f"{y}-W{w:02d}"
        report = timed(f"weekly report {week}", lambda: build_weekly_report(week, now=NOW))
        print(f"    {len(report.get('rows', []))} unit rows, {len(report.get('overdue', []))} overdue tickets listed")
    try:
        from hotline.reports.rates import unit_ranking
    except ImportError:
        print("unit ranking (unit_ranking): not available")
    else:
        for days in (30, 365):
            ranking = timed(f"unit ranking, {days} days, level 2",
                            lambda: unit_ranking(today - timedelta(days=days - 1), today))
            rows = ranking.get("rows", ranking) if isinstance(ranking, dict) else ranking
            print(f"    {len(rows)} units ranked")
        timed("unit ranking, 30 days, level 3",
              lambda: unit_ranking(today - timedelta(days=29), today, 3))


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
    subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", url], check=True)


if __name__ == "__main__":
    main()
