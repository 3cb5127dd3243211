"""The deadline watch over 100 000 open assignments: prints its time and memory.

    .venv/bin/python bench/deadline_watch_100k.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench .venv/bin/python bench/deadline_watch_100k.py

Target: under 10 s, memory flat (the job is set-based SQL; nothing per ticket in Python).
BENCH_ASSIGNMENTS sets the volume (the database must be empty). Ends with one JSON line
per job run (bench/_report.py: n = 1 run; rss_mb of this process).
"""
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._report import emit, row  # noqa: E402

N = int(os.environ.get("BENCH_ASSIGNMENTS", "100000"))


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, as printed before


def main():
    from flask_migrate import upgrade

    from bench._data import base_world, bulk_tickets
    from hotline import create_app
    from hotline.scheduler import jobs
    from hotline.extensions import db

    url = os.environ.get("DATABASE_URL")
    url = url.replace("postgresql://", "postgresql+psycopg://", 1) if url else \
        f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        _, units, cats, _ = base_world()
        # creation spread over the 10 days before `now`: a mix of warned, due and overdue
        now = datetime(2026, 11, 20, 12, 0)
        bulk_tickets(N, units, cats, start=now - timedelta(days=10), days=10, open_only=True,
                     echo=lambda *a: None)
        print(f"database: {db.engine.dialect.name}; {N} open assignments; rss before {rss_mb():.0f} MB")
        lines = []
        for key, label in (("first", "first run (records everything due)"), ("second", "second run (nothing new)")):
            tracemalloc.start()
            t = time.perf_counter()
            result = jobs.deadline_watch(now)
            took = time.perf_counter() - t
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            print(f"{label}: {took:.2f} s, python peak {peak:.1f} MB, rss {rss_mb():.0f} MB, {result}")
            lines.append(row(f"deadline_watch {N} open, {key} run", [took * 1000], rss=rss_mb(),
                             python_peak_mb=round(peak, 1)))
        t = time.perf_counter()
        result = jobs.escalation(now)
        took = time.perf_counter() - t
        print(f"escalation: {took:.2f} s, {result}")
        lines.append(row(f"escalation {N} open", [took * 1000], rss=rss_mb()))
        for line in lines:
            emit(line)


if __name__ == "__main__":
    main()
