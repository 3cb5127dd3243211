"""Intake throughput, both ways a ticket is recorded, beside the stack's own limit in the same
run: the intake page (`POST /intake/new`, logged-in operators' sessions, CSRF token, the
form as a browser sends it, answered by the redirect) and `POST /api/v1/tickets` (bearer
token, a fresh Idempotency-Key each), both on one gunicorn (4 sync workers, PostgreSQL),
against the minimal Flask + SQLAlchemy insert endpoint of bench/_reference_app.py on the
same `tickets` table. Prints requests/s, p50/p95, CPU per request (server and PostgreSQL),
the SQL statements of one request of each kind, and each ratio (target >= 60 %).

    .venv/bin/python bench/intake.py
    BENCH_SECONDS=10 BENCH_RATE_LIMITS=redis .venv/bin/python bench/intake.py
    .venv/bin/python bench/intake.py --profile     # first cProfile in-process API creates and page POSTs

Rounds are interleaved (reference, API, form, form, API, reference, reference, form, API)
and each side's median of three is compared, so a machine shared with other work moves
both sides alike; the load average is printed with the figures. The settings are those
of bench/api_create.py (BENCH_PG, BENCH_DB, BENCH_REUSE, BENCH_WORKERS, BENCH_CLIENTS,
BENCH_SECONDS, BENCH_RATE_LIMITS, BENCH_API_APP); one JSON line per target at the end
(bench/_report.py: `name`, `n`, `p50_ms`, `p95_ms`, `rps`, `rss_mb` of the largest
gunicorn worker, `ratio` = requests/s / the reference's).
"""
from __future__ import annotations

import http.client
import os
import re
import statistics
import sys
import uuid
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import api_create as ac  # noqa: E402
from bench._report import emit  # noqa: E402

ORDER = ["reference", "api", "form", "form", "api", "reference", "reference", "form", "api"]
USERNAME, PASSWORD = "operator", "operator123"  # the demo city's operator (hotline/demo/LOGINS.md)
FORM_FIELDS = ("caller_name", "channel", "request_type", "urgency", "category_id", "address", "district_id", "title",
               "content")


def _cookies(resp, jar: dict) -> None:
    for header, value in resp.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]


def _cookie_header(jar: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _token(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    if not m:
        raise SystemExit("no CSRF token on the page")
    return m.group(1)


def login(port: int) -> dict:
    """A logged-in operator's session: {"cookie": …, "csrf": …} (the session cookie as the
    login left it; each intake's answer only adds a flash message, which a browser would
    show on the redirect, so the same cookie is sent every time)."""
    jar: dict = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(method, path, body=None, headers=None):
        nonlocal conn
        hdrs = {"Cookie": _cookie_header(jar), **(headers or {})}
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        _cookies(resp, jar)
        if resp.will_close:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        return resp.status, data

    _, page = call("GET", "/login")
    status, text = call("POST", "/login", urlencode({"csrf_token": _token(page), "username": USERNAME,
                                                     "password": PASSWORD}),
                        {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 302:
        raise SystemExit(f"login failed ({status}): {text[:300]}")
    status, page = call("GET", "/intake/new")
    if status != 200:
        raise SystemExit(f"/intake/new answered {status}")
    conn.close()
    return {"cookie": _cookie_header(jar), "csrf": _token(page)}


def form_of(data: dict, state: dict) -> tuple[bytes, dict]:
    """The intake page's form for one API-shaped body (the phone as the operator types it)."""
    fields = {k: str(data[k]) for k in FORM_FIELDS if data.get(k) is not None}
    fields.update(csrf_token=state["csrf"], caller_phone=re.sub(r"\D", "", data["caller_number"])[-11:],
                  save="保存并转派单")
    return urlencode(fields).encode("ascii"), {"Content-Type": "application/x-www-form-urlencoded",
                                               "Cookie": state["cookie"]}


def count_form_statements(make, n: int = 30) -> float:
    """Average SQL statements per intake page POST (in-process, the same database)."""
    import random

    from sqlalchemy import event

    from hotline.extensions import db

    app = ac.in_process_app()
    client, token, relogin = form_client(app)
    rng = random.Random(5)
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def on_execute(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    def post():
        relogin()
        body, headers = form_of(make(rng), {"csrf": token, "cookie": ""})
        resp = client.post("/intake/new", data=body, headers={"Content-Type": headers["Content-Type"]})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]

    for _ in range(3):
        post()
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        for _ in range(n):
            post()
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return len(seen) / n


def form_client(app):
    """A test client logged in as the operator, the CSRF token of its intake page, and a
    function that sends the login's session cookie again (each answer adds a flash
    message to the cookie; a browser would show it on the redirect)."""
    app.config.update(WTF_CSRF_ENABLED=True, SESSION_COOKIE_SECURE=False)  # the test client over http
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    r = client.post("/login", data={"csrf_token": _token(page), "username": USERNAME, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    token = _token(client.get("/intake/new").get_data(as_text=True))
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name).value
    return client, token, lambda: client.set_cookie(name, cookie)


def profile_form(make, n: int = 200) -> None:
    """cProfile over `n` in-process intake page POSTs, timed by CPU (as api_create.profile)."""
    import cProfile
    import pstats
    import random
    import time

    client, token, relogin = form_client(ac.in_process_app())
    rng = random.Random(13)

    def post(data):
        relogin()
        body, headers = form_of(data, {"csrf": token, "cookie": ""})
        resp = client.post("/intake/new", data=body, headers={"Content-Type": headers["Content-Type"]})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]

    for _ in range(5):
        post(make(rng))
    bodies = [make(rng) for _ in range(n)]
    c0 = time.process_time()
    for b in bodies[: n // 2]:
        post(b)
    print(f"\nin-process intake page POST: {(time.process_time() - c0) / (n // 2) * 1000:.1f} ms CPU (no profiler)")
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    for b in bodies[n // 2:]:
        post(b)
    prof.disable()
    print(f"profile of {n - n // 2} intake page POSTs, CPU time:")
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


def main():
    token = ac.prepare_database()
    make = ac.body_maker()
    api_statements, api_commits = ac.count_statements(token, make)
    form_statements = count_form_statements(make)
    print(f"SQL statements per request: API create {api_statements:.1f} ({api_commits:.1f} commits), intake page "
          f"{form_statements:.1f} (rate-limit counters: {ac.RATE_LIMITS})")
    if "--profile" in sys.argv:  # in-process CPU profiles of both, then the run as always
        ac.profile(token, make)
        profile_form(make)

    ref_proc, ref_port = ac.start_gunicorn("bench._reference_app:app", {"BENCH_REF_DATABASE_URL": ac.URL})
    app_proc, app_port = ac.start_gunicorn(os.environ.get("BENCH_API_APP", "wsgi:app"), ac.api_env())
    load = []
    try:
        targets = {
            "reference": ac.Target("reference", ref_port, "/tickets", lambda: {}, ref_proc),
            "api": ac.Target("api", app_port, ac.API_PATH,
                             lambda: {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                             app_proc),
            "form": ac.Target("form", app_port, "/intake/new", lambda: {}, app_proc, encode=form_of,
                              prepare=lambda: login(app_port), ok=(302,)),
        }
        for t in targets.values():  # warm every worker
            if ac.drive(t, make, 3)["errors"]:
                raise SystemExit(f"{t.name}: requests fail (see above)")
        results = {name: [] for name in targets}
        print(f"{ac.WORKERS} gunicorn sync workers each, {ac.CLIENTS} clients, rounds of {ac.SECONDS:g} s")
        for i, name in enumerate(ORDER, 1):
            r = ac.drive(targets[name], make, ac.SECONDS)
            results[name].append(r)
            load.append(os.getloadavg()[0])
            print(f"  round {i} {name:9s} {r['rps']:7.1f} req/s  p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms"
                  f"  CPU/request: server {r['app_ms']:5.1f} ms, PostgreSQL {r['db_ms']:5.1f} ms"
                  f"  ({r['n']} ok, {r['errors']} errors)  load {load[-1]:.1f}")
    finally:
        ac.stop(app_proc)
        ac.stop(ref_proc)
    keys = ("rps", "p50", "p95", "app_ms", "db_ms", "n", "rss_mb")
    med = {name: {k: statistics.median(r[k] for r in rs) for k in keys} for name, rs in results.items()}
    print(f"\n{'':10s} {'req/s':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'CPU ms/request: server':>23s} {'PostgreSQL':>11s}"
          f" {'ratio':>6s}   (medians of 3 rounds; load average {min(load):.1f}-{max(load):.1f})")
    ref = med["reference"]
    for name in ("reference", "api", "form"):
        m = med[name]
        print(f"{name:10s} {m['rps']:8.1f} {m['p50']:8.1f} {m['p95']:8.1f} {m['app_ms']:23.1f} {m['db_ms']:11.1f}"
              f" {m['rps'] / ref['rps']:6.0%}")
    cost = {name: med[name]["app_ms"] + med[name]["db_ms"] for name in med}
    for name in ("api", "form"):
        print(f"{name}: {med[name]['rps'] / ref['rps']:.0%} of the reference's requests/s (target >= 60 %); CPU per "
              f"request (server + PostgreSQL) {cost[name]:.1f} ms against {cost['reference']:.1f} ms "
              f"({cost['reference'] / cost[name]:.0%})")
    for name in ("reference", "api", "form"):
        m = med[name]
        emit(ac.json_line(f"intake_{name}", m, ref,
                          statements={"api": api_statements, "form": form_statements}.get(name),
                          load_avg=round(statistics.median(load), 1)))


if __name__ == "__main__":
    main()
