"""Every list, queue, search and ticket page over a year of tickets (default 1 000 000):
p50 / p95 per page, beside a minimal Flask + SQLAlchemy reference page measured in the
same run on the same database (bench/_reference_pages.py).

    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE hotline_bench1m"
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench1m .venv/bin/python bench/pages_1m.py
    .venv/bin/python bench/pages_1m.py                    # SQLite file in a temp dir (BENCH_TICKETS=…)

An empty database is migrated and loaded with bench/_data.py's realistic year (the one
bench/reports_1m.py uses); a database that already holds tickets is used as it is (run
`flask db upgrade` on it first). The pages are requested in-process through the Flask test
client (the application's whole work per request, without HTTP), logged in as the data's
dispatcher and as the staff of district D0, with the clock at the data's "now".
BENCH_ROUNDS (default 30) interleaved rounds over every page, after one warm-up request
each; BENCH_ONLY=substring runs only the pages whose name contains it.

Prints a table, then one JSON line per page (bench/_report.py): name, n (requests), p50_ms, p95_ms, rps
(1000 / mean ms, one client), rss_mb (this process), ratio (p50 / the reference page's
p50: the reference list for lists and searches, the reference ticket page for the
ticket page). Target (issue 14): every page p95 < 100 ms at 1 000 000 tickets.
"""
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._report import emit, row as result_row, rss_mb  # noqa: E402

N = int(os.environ.get("BENCH_TICKETS", "1000000"))
NOW = datetime(2026, 11, 23, 9, 30)  # the data's "now" (bench/reports_1m.py)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))


def load_if_empty(app) -> None:
    from flask_migrate import upgrade

    from bench._data import realistic_history, realistic_world
    from hotline.extensions import db
    from hotline.tickets.models import Ticket

    with app.app_context():
        if "tickets" not in db.inspect(db.engine).get_table_names():
            upgrade()
        have = db.session.query(Ticket.id).limit(1).count()
        if have:
            return
        upgrade()
        t0 = time.perf_counter()
        _, districts, handlers, leaves, users = realistic_world()
        realistic_history(N, districts, handlers, leaves, users, end=NOW, echo=lambda msg: None)
        print(f"loaded {N} tickets in {time.perf_counter() - t0:.0f} s", flush=True)


def pick(app):
    """Values the pages ask for, taken from the data: a caller's phone, a recent ticket, a
    category with its dates, district D0, and the id 25 000 tickets down (page 501; on a
database of fewer tickets, the last full page's)."""
    import sqlalchemy as sa

    from hotline.extensions import db
    from hotline.tickets.models import Ticket
    from hotline.units.models import Unit

    with app.app_context():
        recent = db.session.scalar(sa.select(Ticket).where(Ticket.created_at < NOW - timedelta(days=2))
                                   .order_by(Ticket.id.desc()).limit(1))
        cat = db.session.scalar(sa.select(Ticket.category_id).order_by(Ticket.id.desc()).limit(1))
        total = db.session.scalar(sa.select(sa.func.count(Ticket.id)))
        deep_page = min(501, max(2, total // 50))  # page 501 (a small --quick database: its last full page)
        deep = db.session.scalar(sa.select(Ticket.id).order_by(Ticket.id.desc()).offset((deep_page - 1) * 50 - 1)
                                 .limit(1))
        address = db.session.scalar(sa.select(Ticket.address).where(Ticket.address != "")
                                    .order_by(Ticket.id).limit(1).offset(777))
        return dict(phone=recent.caller_phone, ticket=recent.id, category=cat, deep=deep, address=address,
                    district=db.session.scalar(sa.select(Unit.id).where(Unit.code == "D0")),
                    dialect=db.engine.dialect.name, total=total, deep_page=deep_page)


def pages(v):
    day = NOW.date()
    week = f"date_from={day - timedelta(days=6)}&date_to={day}"
    d = [("dispatcher home", "/"),
         ("ticket list", "/tickets"),
         (f"deep page (offset, page {v['deep_page']})", f"/tickets?page={v['deep_page']}"),
         (f"deep page (keyset, page {v['deep_page']})", f"/tickets?page={v['deep_page']}&after={v['deep']}"),
         ("sorted by last update", "/tickets?sort=updated_desc"),
         ("queue: overdue", "/tickets?queue=overdue"),
         ("queue: pending dispatch", "/tickets?queue=pending_dispatch"),
         ("search: phone", f"/tickets?phone={v['phone']}"),
         ("search: category + 7 days", f"/tickets?category_id={v['category']}&{week}"),
         ("search: unit subtree", f"/tickets?unit_id={v['district']}"),
         ("search: 1 char (项, every ticket)", "/tickets?text=项"),
         ("search: 2 chars (事项, every ticket)", "/tickets?text=事项"),
         ("search: 2 chars (中山, ~1/8)", "/tickets?text=中山"),
         ("search: 3 chars (中山路)", "/tickets?text=中山路"),
         ("search: an address (rare)", f"/tickets?text={v['address']}"),
         ("search: absent word (路灯)", "/tickets?text=路灯"),
         ("search: two words + 7 days", f"/tickets?text=中山+事项2&{week}"),
         ("ticket page", f"/tickets/{v['ticket']}")]
    u = [("unit home", "/"),
         ("unit staff's ticket list", "/tickets"),
         ("unit queue: handling", "/tickets?queue=handling"),
         ("unit search: 3 chars (中山路)", "/tickets?text=中山路")]
    return [("dispatcher", name, path) for name, path in d] + [("unit0", name, path) for name, path in u]


def main():
    from flask.testing import FlaskClient

    from bench._reference_pages import create_reference_app
    from hotline import create_app
    from hotline.clock import clock

    url = os.environ.get("DATABASE_URL")
    if url:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
    load_if_empty(app)
    clock.set(NOW)
    v = pick(app)
    ref = create_reference_app(url)
    ref_client: FlaskClient = ref.test_client()
    clients = {}
    for user in ("dispatcher", "unit0"):
        clients[user] = app.test_client()
        resp = clients[user].post("/login", data={"username": user, "password": "bench-pass-1"})
        assert resp.status_code == 302, (user, resp.status_code)
    only = os.environ.get("BENCH_ONLY")
    todo = [p for p in pages(v) if not only or only in p[1]]
    refs = [("reference list", "/tickets"), ("reference ticket page", f"/tickets/{v['ticket']}")]
    times = {name: [] for _, name, _ in todo} | {name: [] for name, _ in refs}
    totals = {}

    def get(client, path):
        t = time.perf_counter()
        resp = client.get(path)
        ms = (time.perf_counter() - t) * 1000
        assert resp.status_code == 200, (path, resp.status_code)
        return resp, ms

    for round_ in range(ROUNDS + 1):  # round 0 warms up
        for name, path in refs:
            _, ms = get(ref_client, path)
            if round_:
                times[name].append(ms)
        for user, name, path in todo:
            resp, ms = get(clients[user], path)
            if round_:
                times[name].append(ms)
            else:
                m = re.search(r"(共|超过) ([\d ]+) 条", resp.get_data(as_text=True))
                totals[name] = f"{m.group(1)} {m.group(2)}" if m else "-"
    load = os.getloadavg()
    print(f"--- {v['dialect']}, {v['total']} tickets, now = {NOW:%Y-%m-%d %H:%M}, {ROUNDS} rounds, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ---")

    ref_list = statistics.median(times["reference list"])
    ref_one = statistics.median(times["reference ticket page"])
    lines = []
    rss = rss_mb()
    for name, values in times.items():
        base = ref_one if "ticket page" in name else ref_list
        row = result_row(name, values, ref_ms=base, rss=rss)
        lines.append(row)
        print(f"{name:40s} p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  ratio {row['ratio']:5.2f}  "
              f"{'OK ' if row['p95_ms'] < 100 else 'SLOW'}  {totals.get(name, '')}")
    for row in lines:
        emit(row)


if __name__ == "__main__":
    main()
