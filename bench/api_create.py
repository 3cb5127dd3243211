"""API create throughput: `POST /api/v1/tickets` under gunicorn (4 sync workers, PostgreSQL)
beside a minimal Flask + SQLAlchemy insert endpoint on the same table (bench/_reference_app.py),
in the same run; prints requests/s, p50/p95 latency of both and the ratio (target >= 60 %),
the CPU each request costs in the server and in PostgreSQL, and the SQL statements of one
API create; ends with one JSON line per side (bench/_report.py; ratio = requests/s / the
reference's, rss_mb of the largest gunicorn worker).

    .venv/bin/python bench/api_create.py              # fresh database hotline_bench_api
    BENCH_REUSE=1 .venv/bin/python bench/api_create.py
    .venv/bin/python bench/api_create.py --profile    # also cProfile in-process creates

The machine is shared, so only the ratio of the two, measured in interleaved rounds
(reference, API, reference, API, API, reference; the median of each side's three), means
much. Settings (environment):

    BENCH_PG          server URL (postgresql://postgres@127.0.0.1:5432)
    BENCH_DB          database name (hotline_bench_api); dropped and created unless BENCH_REUSE=1
    BENCH_WORKERS     gunicorn workers per server (4)
    BENCH_THREADS     threads per worker (1: sync workers; more: gthread workers, both servers)
    BENCH_CLIENTS     concurrent client threads (16)
    BENCH_SECONDS     length of one round (15)
    BENCH_RATE_LIMITS where the API's rate-limit counters live: db (the default without
                      REDIS_URL), redis (REDIS_URL or redis://127.0.0.1:6379/15) or off;
                      the limits are raised so that nothing is refused, but they are counted
    BENCH_API_APP     the WSGI app gunicorn serves for the API (wsgi:app), to try a change

Each API request sends a bearer token (the demo operator's) and a fresh Idempotency-Key,
with a body made from the demo city's requests (category, district, address, caller,
CTI fields), so validation, routing and auto-dispatch see realistic data.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench._report import emit, rss_mb  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = os.environ.get("BENCH_DB", "hotline_bench_api")
REUSE = os.environ.get("BENCH_REUSE") == "1"
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
RATE_LIMITS = os.environ.get("BENCH_RATE_LIMITS") or ("redis" if os.environ.get("REDIS_URL") else "db")
URL = f"{PG.replace('postgresql://', 'postgresql+psycopg://', 1)}/{DB_NAME}"
API_PATH = "/api/v1/tickets"
ORDER = ["reference", "api", "reference", "api", "api", "reference"]


# --- the database ---------------------------------------------------------------------------
def prepare_database() -> str:
    """Create (or reuse) the database, migrate it, load the demo city without tickets and
    return a fresh API token of the operator."""
    import psycopg
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from hotline import create_app
    from hotline.api.auth import create_token
    from hotline.auth.models import User
    from hotline.extensions import db
    from hotline.lifecycle import unit_of_work
    from hotline.units.models import Unit

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if exists and not REUSE:
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
        if not exists or not REUSE:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    # Testing config only for loading (cheap password hashes); the servers run production.
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=URL)
    with app.app_context():
        upgrade()
        if not db.session.scalar(sa.select(sa.func.count(Unit.id))):
            load_city()
        with unit_of_work():
            operator = db.session.scalars(sa.select(User).where(User.username == "operator")).one()
            _, token = create_token(operator, f"bench {uuid.uuid4().hex[:8]}")
        tickets = db.session.scalar(sa.text("SELECT count(*) FROM tickets"))
        db.engine.dispose()
    print(f"database {DB_NAME}: {'reused, ' if REUSE and exists else ''}{tickets} tickets before the run")
    return token


def load_city() -> None:
    """The demo city (units, categories, users, routing rules, knowledge base), no tickets;
    hotline.demo.loader without its tickets and without rewriting LOGINS.md."""
    from hotline.deadlines.services import seed_default_policy
    from hotline.demo.world import create_categories, create_routing_and_knowledge, create_units, create_users
    from hotline.lifecycle import unit_of_work

    with unit_of_work():
        seed_default_policy()
        units = create_units()
        categories = create_categories()
        users = create_users(units)
        create_routing_and_knowledge(units, categories, users)


# --- request bodies -------------------------------------------------------------------------
def body_maker():
    """A function that returns a new realistic intake body on each call (thread-safe enough:
    each thread gets its own Random)."""
    import sqlalchemy as sa

    from hotline.demo import city, texts

    engine = sa.create_engine(URL)
    with engine.connect() as conn:
        cat_ids = dict(conn.execute(sa.text("SELECT code, id FROM categories")).all())
        unit_ids = dict(conn.execute(sa.text("SELECT code, id FROM units")).all())
    engine.dispose()
    names = {code: name for code, name, _, _ in city.UNITS}

    def short(code):
        return names[code].replace("人民政府", "").replace("办事处", "")

    fill = dict(shop=city.SHOPS[0], training=city.TRAINING[0], builder=city.BUILDERS[0],
                developer=city.DEVELOPERS[0], factory=city.FACTORIES[0], hospital=city.HOSPITALS[0],
                school=city.SCHOOLS[0], money=2680, bill=560, line=23, tail="0817", date="11月20日",
                months=3, days=5)
    streets = list(city.PLACES.items())

    def make(rng: random.Random) -> dict:
        issue = rng.choice(texts.ISSUES)
        street, (roads, places) = rng.choice(streets)
        district = street.split("-")[0]
        xq = rng.choice(places)[0]
        addr = f"{short(district)}{short(street)}{xq}{rng.randint(1, 24)}栋{rng.randint(1, 4)}单元"
        values = dict(fill, xq=xq, addr=addr, road=roads[0], road2=roads[-1], street=short(street))
        phone = f"138{rng.randint(0, 99_999_999):08d}"
        return {
            "channel": "phone",
            "request_type": rng.choice(issue.get("types") or ("help",)),
            "category_id": cat_ids[issue["cat"]],
            "urgency": rng.choice(issue.get("urg") or ("normal",)),
            "caller_name": rng.choice(city.SURNAMES) + "先生",
            "caller_number": f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}",
            "address": addr,
            "district_id": unit_ids[district],
            "title": issue["title"].format(**values)[:200],
            "content": issue["content"].format(**values),
            "call_id": uuid.uuid4().hex,
            "agent": f"8{rng.randint(100, 199)}",
            "recording_ref": f"rec/{uuid.uuid4().hex}.wav",
        }

    return make


# --- the servers ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(target: str, env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    kind = ["-k", "sync"] if THREADS == 1 else ["-k", "gthread", "--threads", str(THREADS)]
    cmd = [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-w", str(WORKERS), *kind,
           "-b", f"127.0.0.1:{port}", "--backlog", "2048", "--log-level", "warning", target]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env})
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn {target} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"gunicorn {target} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()  # the master ends its workers
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def api_env() -> dict:
    env = {"HOTLINE_CONFIG": "production", "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-not-for-production-use-0123456789"),
           "DATABASE_URL": f"{PG}/{DB_NAME}", "HOTLINE_PROXY_X_FOR": "0"}
    big = str(10 ** 9)
    if RATE_LIMITS == "off":
        env.update(HOTLINE_API_RATE_LIMIT_PER_TOKEN="0", HOTLINE_API_RATE_LIMIT_PER_ADDRESS="0", REDIS_URL="")
    else:
        env.update(HOTLINE_API_RATE_LIMIT_PER_TOKEN=big, HOTLINE_API_RATE_LIMIT_PER_ADDRESS=big)
        env["REDIS_URL"] = (os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15") if RATE_LIMITS == "redis" else ""
    return env


# --- the load -------------------------------------------------------------------------------
class Target:
    """What one round drives: POSTs to `path` on `port`. By default the body is the JSON of
    `make(rng)` with `headers()`; `encode(body_dict, state) -> (bytes, headers)` replaces
    that (the intake page's form), with `state` made once per client thread by
    `prepare()` (a logged-in session)."""

    def __init__(self, name: str, port: int, path: str, headers, proc: subprocess.Popen, *, encode=None,
                 prepare=None, ok=(200, 201)):
        self.name, self.port, self.path, self.headers, self.proc = name, port, path, headers, proc
        self.encode = encode or (lambda data, state: (json.dumps(data, ensure_ascii=False).encode("utf-8"),
                                                      {"Content-Type": "application/json", **self.headers()}))
        self.prepare = prepare or (lambda: None)
        self.ok = ok


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> dict[int, float]:
    """User + system CPU of each process (from /proc; gone processes are left out)."""
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError, ValueError):
            pass
    return out


def worker_pids(proc: subprocess.Popen) -> list[int]:
    try:
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            return [proc.pid] + [int(p) for p in f.read().split()]
    except OSError:
        return [proc.pid]


def backend_pids() -> list[int]:
    """The PostgreSQL server processes serving the bench database (readable from /proc when
    the server runs on this machine; an empty list otherwise)."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (DB_NAME,))]


def drive(target: Target, make, seconds: float) -> dict:
    """CLIENTS threads POSTing for `seconds` (a connection is kept while the server keeps
    it; gunicorn's sync workers close it after each answer)."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    samples: dict = {}  # the first answer of each failing kind
    lock = threading.Lock()

    def client(seed: int, state):
        rng = random.Random(seed)
        conn = None
        mine, codes = [], Counter()
        while time.perf_counter() < stop_at:
            body, headers = target.encode(make(rng), state)
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
                conn.request("POST", target.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                status, data = type(exc).__name__, b""
                if conn is not None:
                    conn.close()
                conn = None
            mine.append(time.perf_counter() - t0)
            codes[status] += 1
            if status not in target.ok and status not in samples:
                samples[status] = data[:300].decode("utf-8", "replace")
        if conn is not None:
            conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    states = [target.prepare() for _ in range(CLIENTS)]  # before the clock starts
    stop_at = time.perf_counter() + seconds
    threads = [threading.Thread(target=client, args=(random.randrange(1 << 30), state)) for state in states]
    app_before, db_before = cpu_seconds(worker_pids(target.proc)), cpu_seconds(backend_pids())
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    for status, text in samples.items():
        print(f"  {target.name}: {statuses[status]} x {status} {text}")
    pids = worker_pids(target.proc)
    app_after, db_after = cpu_seconds(pids), cpu_seconds(backend_pids())
    rss = max((rss_mb(pid) for pid in pids[1:] or pids), default=0.0)  # the largest worker (not the arbiter)
    ok = sum(statuses[code] for code in target.ok)
    app_cpu = sum(v - app_before.get(pid, 0.0) for pid, v in app_after.items())
    db_cpu = sum(v - db_before.get(pid, 0.0) for pid, v in db_after.items())
    latencies.sort()
    return {"rps": ok / elapsed, "n": ok, "errors": sum(statuses.values()) - ok,
            "p50": pct(latencies, 50) * 1000, "p95": pct(latencies, 95) * 1000,
            "app_ms": app_cpu / max(ok, 1) * 1000, "db_ms": db_cpu / max(ok, 1) * 1000, "rss_mb": rss}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# --- statements per create (in-process, the same database) ----------------------------------
def in_process_app():
    from hotline import create_app

    env = api_env()
    over = dict(SQLALCHEMY_DATABASE_URI=URL, SECRET_KEY="bench-only-secret-not-for-production-use-0123456789",
                API_RATE_LIMIT_PER_TOKEN=int(env["HOTLINE_API_RATE_LIMIT_PER_TOKEN"]),
                API_RATE_LIMIT_PER_ADDRESS=int(env["HOTLINE_API_RATE_LIMIT_PER_ADDRESS"]),
                REDIS_URL=env.get("REDIS_URL") or None)
    os.environ.setdefault("SECRET_KEY", over["SECRET_KEY"])
    return create_app("production", **over)


def count_statements(token: str, make, n: int = 30, show: bool = False) -> tuple[float, float]:
    """Average SQL statements and transactions per API create, counted on the engine."""
    from sqlalchemy import event

    from hotline.extensions import db

    app = in_process_app()
    client = app.test_client()
    rng = random.Random(7)
    with app.app_context():
        engine = db.engine
    seen: list[str] = []
    commits = [0]

    def on_execute(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split())[:110])

    def on_commit(conn):
        commits[0] += 1

    headers = lambda: {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}  # noqa: E731
    for _ in range(3):  # warm: the first request loads caches and the pool
        client.post(API_PATH, json=make(rng), headers=headers())
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        first = None
        for i in range(n):
            resp = client.post(API_PATH, json=make(rng), headers=headers())
            assert resp.status_code == 201, resp.get_data(as_text=True)
            if i == 0:
                first = list(seen)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
    if show and first:
        print("statements of one create:")
        for s in first:
            print("   ", s)
    return len(seen) / n, commits[0] / n


def profile(token: str, make, n: int = 200) -> None:
    """cProfile over `n` in-process creates (Flask test client, PostgreSQL), timed by CPU
    (time.process_time: the server's own work, not its waits on the database)."""
    import cProfile
    import pstats

    app = in_process_app()
    client = app.test_client()
    rng = random.Random(11)
    headers = lambda: {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}  # noqa: E731
    for _ in range(5):
        client.post(API_PATH, json=make(rng), headers=headers())
    bodies = [make(rng) for _ in range(n)]
    t0, c0 = time.perf_counter(), time.process_time()
    for b in bodies[: n // 2]:
        client.post(API_PATH, json=b, headers=headers())
    wall, cpu = (time.perf_counter() - t0) / (n // 2) * 1000, (time.process_time() - c0) / (n // 2) * 1000
    print(f"\nin-process create: {wall:.1f} ms wall, {cpu:.1f} ms CPU (no profiler)")
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    for b in bodies[n // 2:]:
        client.post(API_PATH, json=b, headers=headers())
    prof.disable()
    print(f"profile of {n - n // 2} creates, CPU time:")
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


# --- main -----------------------------------------------------------------------------------
def main():
    token = prepare_database()
    make = body_maker()
    statements, transactions = count_statements(token, make, show="--profile" in sys.argv)
    print(f"API create: {statements:.1f} SQL statements, {transactions:.1f} commits per request "
          f"(rate-limit counters: {RATE_LIMITS})")
    if "--profile" in sys.argv:
        profile(token, make)

    ref_proc, ref_port = start_gunicorn("bench._reference_app:app", {"BENCH_REF_DATABASE_URL": URL})
    api_proc, api_port = start_gunicorn(os.environ.get("BENCH_API_APP", "wsgi:app"), api_env())
    try:
        targets = {
            "reference": Target("reference", ref_port, "/tickets", lambda: {}, ref_proc),
            "api": Target("api", api_port, API_PATH,
                          lambda: {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}, api_proc),
        }
        for t in targets.values():  # warm every worker
            if drive(t, make, 3)["errors"]:
                raise SystemExit(f"{t.name}: requests fail (see above)")
        results = {"reference": [], "api": []}
        kind = "sync workers" if THREADS == 1 else f"gthread workers with {THREADS} threads"
        print(f"{WORKERS} gunicorn {kind} each, {CLIENTS} clients, rounds of {SECONDS:g} s")
        for i, name in enumerate(ORDER, 1):
            r = drive(targets[name], make, SECONDS)
            results[name].append(r)
            print(f"  round {i} {name:9s} {r['rps']:7.1f} req/s  p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms"
                  f"  CPU/request: server {r['app_ms']:5.1f} ms, PostgreSQL {r['db_ms']:5.1f} ms"
                  f"  ({r['n']} ok, {r['errors']} errors)")
    finally:
        stop(api_proc)
        stop(ref_proc)
    keys = ("rps", "p50", "p95", "app_ms", "db_ms", "n", "rss_mb")
    med = {name: {k: statistics.median(r[k] for r in rs) for k in keys} for name, rs in results.items()}
    print(f"\n{'':10s} {'req/s':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'CPU ms/request: server':>23s} {'PostgreSQL':>11s}"
          f"   (medians of 3 rounds)")
    for name in ("reference", "api"):
        m = med[name]
        print(f"{name:10s} {m['rps']:8.1f} {m['p50']:8.1f} {m['p95']:8.1f} {m['app_ms']:23.1f} {m['db_ms']:11.1f}")
    ratio = med["api"]["rps"] / med["reference"]["rps"]
    print(f"ratio API / reference: {ratio:.0%} (target >= 60 %)")
    cost = {name: med[name]["app_ms"] + med[name]["db_ms"] for name in med}
    print(f"CPU per request (server + PostgreSQL): API {cost['api']:.1f} ms, reference {cost['reference']:.1f} ms "
          f"(reference / API {cost['reference'] / cost['api']:.0%}; the same ratio, less sensitive to the machine's load)")
    for name in ("reference", "api"):
        emit(json_line(f"api_create_{name}", med[name], med["reference"], statements=statements if name == "api" else None))


def json_line(name: str, m: dict, ref: dict, **extra) -> dict:
    """A gunicorn measurement's JSON line (bench/_report.py): medians of its rounds; ratio =
    its requests/s / the reference's."""
    return {"name": name, "n": int(m["n"]), "p50_ms": round(m["p50"], 1), "p95_ms": round(m["p95"], 1),
            "rps": round(m["rps"], 1), "rss_mb": round(m["rss_mb"]), "ratio": round(m["rps"] / ref["rps"], 3),
            "cpu_ms_server": round(m["app_ms"], 1), "cpu_ms_postgresql": round(m["db_ms"], 1), **extra}


if __name__ == "__main__":
    main()
