"""Ticket list and search over 100 000 tickets: prints the time of each page.

    .venv/bin/python bench/list_100k.py                 # SQLite file in a temp dir
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench .venv/bin/python bench/list_100k.py

The database must be empty (it is migrated and loaded). BENCH_TICKETS sets the volume,
BENCH_ROUNDS the timed requests per page (default 5, after one warm-up). Prints one line
per page, then one JSON line per page (bench/_report.py; no reference here, so no ratio).
"""
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._report import emit, row, timings  # noqa: E402

N = int(os.environ.get("BENCH_TICKETS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def main():
    from flask_migrate import upgrade

    from bench._data import base_world, bulk_tickets
    from hotline import create_app
    from hotline.extensions import db

    url = os.environ.get("DATABASE_URL")
    if url:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
    with app.app_context():
        upgrade()  # on an empty database (a fresh SQLite file, or a database you created)
        t0 = time.perf_counter()
        _, units, cats, _ = base_world()
        bulk_tickets(N, units, cats, echo=lambda *a: None)
        print(f"database: {db.engine.dialect.name}; loaded {N} tickets in {time.perf_counter() - t0:.1f} s")
        unit0 = units[0].id
    client = app.test_client()
    lines = []
    for user, pages in [
        ("dispatcher", ["/", "/tickets", f"/tickets?page={min(500, max(1, N // 50))}", "/tickets?state=signed",
                        f"/tickets?unit_id={unit0}",
                        "/tickets?text=路灯", "/tickets?phone=13800000000", "/tickets?queue=overdue",
                        "/tickets?date_from=2026-03-01&date_to=2026-03-07"]),
        ("unit0", ["/", "/tickets", "/tickets?queue=handling", "/tickets?queue=overdue"]),
    ]:
        client.post("/login", data={"username": user, "password": "bench-pass-1"})
        for path in pages:
            resp, times = timings(lambda: client.get(path), ROUNDS)
            line = row(f"list_100k {user} {path}", times)
            lines.append(line)
            total = re.search(r"(?:共|超过) ([\d ]+) 条", resp.get_data(as_text=True))
            print(f"{user:10s} {path:55s} {resp.status_code} p50 {line['p50_ms']:8.1f} ms  p95 {line['p95_ms']:8.1f} ms"
                  f"  rows={total.group(1) if total else '-'}")
            assert resp.status_code == 200, (path, resp.status_code)
        client.post("/logout")
    for line in lines:
        emit(line)


if __name__ == "__main__":
    main()
