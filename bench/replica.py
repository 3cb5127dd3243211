"""A real PostgreSQL streaming replica on this machine, and the report pages counted on it.

    .venv/bin/python bench/replica.py
    BENCH_TICKETS=20000 BENCH_DB=hotline_bench_replica .venv/bin/python bench/replica.py
    BENCH_REPLICA=1 DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench1m \\
        BENCH_REUSE=1 BENCH_MIGRATE=0 .venv/bin/python bench/reports_1m.py    # the replica under reports_1m

What it does: a second PostgreSQL 15 cluster is made with `pg_basebackup -R -X stream`
from the primary (BENCH_PG) into BENCH_REPLICA_DIR, started on BENCH_REPLICA_PORT as a hot
standby, and waited for until the primary's pg_stat_replication shows it streaming. The
report pages (dashboard, ranking, the running week and month counted live, the CSV
exports) are then requested in rounds from two apps on the same data: one reading the
primary only, one with REPORTS_DATABASE_URL pointing at the replica; every statement each
engine runs is counted, so the output shows the pages really counted on the replica, and
the two apps' CSV bodies are compared. A write committed on the primary is followed by the
wait until the replica has replayed it (what a report request does before counting). The
replica is stopped and its directory removed at the end, whatever happens.

pg_basebackup copies the whole cluster (every database on the server), so the script
compares the cluster's size with the free space first. The primary needs `wal_level`
replica or logical (the default), a free WAL sender (`max_wal_senders`) and a pg_hba.conf
line allowing replication connections from 127.0.0.1; the script checks all three and
stops with the line to add when the last is missing (BENCH_REPLICA_CONFIGURE=1 appends
`host replication all 127.0.0.1/32 trust` to the primary's pg_hba.conf and reloads it —
a change to the server's configuration, so it is only made when asked for).

Settings (environment):

    BENCH_PG               the primary server (postgresql://postgres@127.0.0.1:5432)
    BENCH_DB               the database measured (hotline_bench_replica): created when absent
                           and loaded with bench/_data.py's realistic year when empty
    BENCH_TICKETS          tickets loaded into an empty database (20000)
    BENCH_ROUNDS           timed rounds per page and app (5, after one warm-up)
    BENCH_REPLICA_PORT     the replica's port (5433)
    BENCH_REPLICA_DIR      its data directory (/var/tmp/hotline-bench-replica), removed at the end
    PG_BIN                 PostgreSQL's programs (/usr/lib/postgresql/15/bin)

Output: a table, then one JSON line per page and app (bench/_report.py; the replica's
lines have ratio = replica p50 / primary p50 in the same run).
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench._report import emit, row  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = os.environ.get("BENCH_DB", "hotline_bench_replica")
N = int(os.environ.get("BENCH_TICKETS", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PORT = int(os.environ.get("BENCH_REPLICA_PORT", "5433"))
DATA_DIR = os.environ.get("BENCH_REPLICA_DIR", "/var/tmp/hotline-bench-replica")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
NOW = datetime(2026, 11, 23, 9, 30)  # bench/_data.py's realistic year ends here
APP_NAME = "hotline_bench_replica"
HBA_LINE = "host replication all 127.0.0.1/32 trust"


def _admin(sql: str, params=()):
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


class Replica:
    """A hot standby of the BENCH_PG server on PORT, for the life of a `with` block."""

    def __init__(self, primary: str = PG, port: int = PORT, data_dir: str = DATA_DIR, pg_bin: str = PG_BIN):
        self.primary, self.port, self.dir, self.bin = primary, port, data_dir, pg_bin
        self.started = False

    # --- addresses -------------------------------------------------------------------------
    def url_for(self, url: str) -> str:
        """`url` (a database on the primary) with the replica's port instead."""
        from sqlalchemy.engine import make_url

        return make_url(url).set(port=self.port).render_as_string(hide_password=False)

    def _run(self, args: list[str], **kw):
        """Run a PostgreSQL program as the postgres user (the server refuses to run as root)."""
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--"] + args
        return subprocess.run(args, check=True, **kw)

    # --- checks ----------------------------------------------------------------------------
    def preflight(self) -> None:
        from sqlalchemy.engine import make_url

        primary = make_url(self.primary.replace("postgresql://", "postgresql+psycopg://", 1))
        self.host, self.primary_port = primary.host or "127.0.0.1", primary.port or 5432
        if not os.path.exists(os.path.join(self.bin, "pg_basebackup")):
            sys.exit(f"no pg_basebackup in {self.bin} (set PG_BIN)")
        (wal_level,), = _admin("SHOW wal_level")
        (senders,), = _admin("SHOW max_wal_senders")
        (used,), = _admin("SELECT count(*) FROM pg_stat_replication")
        if wal_level not in ("replica", "logical"):
            sys.exit(f"the primary has wal_level = {wal_level}: set it to replica and restart it")
        if int(senders) <= used:
            sys.exit(f"the primary's {senders} WAL senders are all in use: raise max_wal_senders")
        rules = _admin("SELECT count(*) FROM pg_hba_file_rules WHERE type = 'host' AND 'replication' = ANY(database)"
                       " AND (address IS NULL OR address IN ('127.0.0.1', 'all', 'samehost'))")
        if not rules[0][0]:
            (hba,), = _admin("SHOW hba_file")
            if os.environ.get("BENCH_REPLICA_CONFIGURE") != "1":
                sys.exit(f"the primary refuses replication connections from 127.0.0.1: add\n    {HBA_LINE}\n"
                         f"to {hba} and reload it (SELECT pg_reload_conf()), or run again with "
                         "BENCH_REPLICA_CONFIGURE=1 to have that done")
            with open(hba, "a") as f:
                f.write(f"\n# added by hotline bench/replica.py (BENCH_REPLICA_CONFIGURE=1)\n{HBA_LINE}\n")
            _admin("SELECT pg_reload_conf()")
            print(f"appended '{HBA_LINE}' to {hba} and reloaded the primary's configuration", flush=True)
            time.sleep(1)
        import socket

        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", self.port)) == 0:
                sys.exit(f"port {self.port} is taken (set BENCH_REPLICA_PORT)")
        (size,), = _admin("SELECT sum(pg_database_size(oid))::bigint FROM pg_database")
        parent = os.path.dirname(self.dir.rstrip("/")) or "/"
        free = shutil.disk_usage(parent).free
        # the databases, plus the WAL streamed during the copy and a margin
        need = int(size * 1.2) + 2 * 1024 ** 3
        print(f"cluster to copy: {size / 1e9:.2f} GB; free in {parent}: {free / 1e9:.1f} GB", flush=True)
        if free < need:
            sys.exit(f"not enough room for a copy of the cluster ({need / 1e9:.1f} GB needed)")
        if os.path.exists(self.dir):
            sys.exit(f"{self.dir} exists (a replica left behind?): stop it with "
                     f"{self.bin}/pg_ctl -D {self.dir} stop, remove the directory, and run again")

    # --- life ------------------------------------------------------------------------------
    def start(self) -> None:
        self.preflight()
        os.makedirs(self.dir, mode=0o700)
        self.started = True  # from here on, stop() cleans up
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        t = time.perf_counter()
        self._run([os.path.join(self.bin, "pg_basebackup"), "-h", self.host, "-p", str(self.primary_port),
                   "-U", "postgres", "-D", self.dir, "-R", "-X", "stream", "-c", "fast"])
        print(f"pg_basebackup: {time.perf_counter() - t:.1f} s", flush=True)
        # Debian keeps postgresql.conf and pg_hba.conf in /etc, outside the copied directory:
        # the replica gets its own, minimal ones.
        conf = {
            "port": str(self.port), "listen_addresses": "'127.0.0.1'", "unix_socket_directories": f"'{self.dir}'",
            "hot_standby": "on",
            # report queries run for seconds: without feedback, VACUUM on the primary would
            # make the standby cancel them (or hold back replay for max_standby_streaming_delay)
            "hot_standby_feedback": "on",
            "shared_buffers": "128MB", "jit": "off",
            "logging_collector": "off", "cluster_name": f"'{APP_NAME}'",
        }
        # a standby must allow at least as much as its primary in these
        for name in ("max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
                     "max_locks_per_transaction"):
            conf[name] = _admin(f"SHOW {name}")[0][0]
        self._write("postgresql.conf", "".join(f"{k} = {v}\n" for k, v in conf.items()))
        self._write("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n")
        self._write("pg_ident.conf", "")
        with open(os.path.join(self.dir, "postgresql.auto.conf"), "a") as f:  # names it in pg_stat_replication
            f.write(f"primary_conninfo = 'host={self.host} port={self.primary_port} user=postgres "
                    f"application_name={APP_NAME}'\n")
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.dir, "-l", os.path.join(self.dir, "server.log"),
                   "-w", "-t", "120", "start"], stdout=subprocess.DEVNULL)
        self.wait_streaming()

    def _write(self, name: str, text: str) -> None:
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def wait_streaming(self, timeout: float = 120) -> dict:
        """Wait until the primary lists this replica as streaming; its pg_stat_replication row."""
        deadline = time.monotonic() + timeout
        while True:
            rows = _admin("SELECT state, sync_state, sent_lsn::text, replay_lsn::text, "
                          "coalesce(extract(epoch FROM replay_lag) * 1000, 0) FROM pg_stat_replication "
                          "WHERE application_name = %s", (APP_NAME,))
            if rows and rows[0][0] == "streaming":
                state = dict(zip(("state", "sync_state", "sent_lsn", "replay_lsn", "replay_lag_ms"), rows[0]))
                print(f"replica on port {self.port}: {state['state']} ({state['sync_state']}), "
                      f"sent {state['sent_lsn']}, replayed {state['replay_lsn']}", flush=True)
                return state
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replica is not streaming after {timeout:.0f} s (see {self.dir}/server.log)")
            time.sleep(0.5)

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        if os.path.exists(os.path.join(self.dir, "postmaster.pid")):
            try:
                self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.dir, "-m", "fast", "-w", "stop"],
                          stdout=subprocess.DEVNULL)
            except subprocess.CalledProcessError as exc:
                print(f"pg_ctl stop failed: {exc}", file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)
        print(f"replica stopped, {self.dir} removed", flush=True)

    def __enter__(self) -> "Replica":
        try:
            self.start()
        except BaseException:
            log = os.path.join(self.dir, "server.log")
            if os.path.exists(log):
                with open(log) as f:
                    print("the replica's server.log:\n" + "".join(f.readlines()[-20:]), file=sys.stderr)
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# --- the measurement --------------------------------------------------------------------------
def _database() -> str:
    """BENCH_DB on the primary, created and loaded when needed; its SQLAlchemy URL."""
    if not _admin("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)):
        _admin(f'CREATE DATABASE "{DB_NAME}"')
    url = f"{PG.replace('postgresql://', 'postgresql+psycopg://', 1)}/{DB_NAME}"
    from flask_migrate import upgrade

    from bench._data import realistic_history, realistic_world
    from hotline import create_app
    from hotline.extensions import db
    from hotline.tickets.models import Ticket

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        have = db.session.query(Ticket.id).count()
        if have:
            print(f"database {DB_NAME}: {have} tickets (reused)", flush=True)
        else:
            t = time.perf_counter()
            _, districts, handlers, leaves, users = realistic_world()
            realistic_history(N, districts, handlers, leaves, users, end=NOW, echo=lambda msg: None)
            print(f"database {DB_NAME}: loaded {N} tickets in {time.perf_counter() - t:.0f} s", flush=True)
        db.session.remove()
        db.engine.dispose()
    return url


def _pages() -> list[tuple[str, str]]:
    from hotline.reports import periods

    today = NOW.date()
    week, month = periods.parse("weekly", f"{NOW:%G-W%V}")[0], f"{NOW:%Y-%m}"
    last_week_first = today - timedelta(days=today.weekday() + 7)
    return [
        ("dashboard, 30 days", f"/dashboard?date_from={today - timedelta(days=29)}&date_to={today}"),
        ("dashboard, 365 days", f"/dashboard?date_from={today - timedelta(days=364)}&date_to={today}"),
        ("ranking, last full week (counted afresh)",
         f"/reports/rates?date_from={last_week_first}&date_to={last_week_first + timedelta(days=6)}&level=2"),
        (f"weekly report {week}, running (live)", f"/reports/weekly/{week}"),
        (f"monthly bulletin {month}, running (live)", f"/reports/monthly/{month}"),
        (f"weekly report {week} as CSV (live)", f"/reports/weekly/{week}.csv"),
        ("CSV export, 30 days", f"/tickets/export.csv?date_from={today - timedelta(days=29)}&date_to={today}"),
    ]


def measure(url: str, replica: Replica) -> list[dict]:
    import sqlalchemy as sa
    from sqlalchemy import event

    from hotline import create_app
    from hotline.clock import clock
    from hotline.database import REPORTS_ENGINE, _replica_caught_up
    from hotline.extensions import db

    clock.set(NOW)
    apps = {"primary": create_app("testing", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False),
            "replica": create_app("testing", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False,
                                  REPORTS_DATABASE_URL=replica.url_for(url))}
    counts = {"primary": 0, "replica": 0}
    with apps["replica"].app_context():
        engines = {"primary": db.engine, "replica": apps["replica"].extensions[REPORTS_ENGINE]}
    def counter(name):
        def on_execute(conn, cursor, statement, parameters, context, executemany):
            counts[name] += 1
        return on_execute

    for name, engine in engines.items():
        event.listen(engine, "before_cursor_execute", counter(name))
    with engines["replica"].connect() as conn:
        assert conn.scalar(sa.text("SELECT pg_is_in_recovery()")), "the reports engine is not the standby"
        settings = {k: conn.scalar(sa.text(f"SHOW {k}")) for k in ("jit", "plan_cache_mode", "transaction_read_only")}
    print(f"reports engine {engines['replica'].url}: in recovery, {settings}", flush=True)

    clients = {}
    for name, app in apps.items():
        clients[name] = app.test_client()
        resp = clients[name].post("/login", data={"username": "manager", "password": "bench-pass-1"})
        assert resp.status_code == 302, (name, resp.status_code)

    def get(name, path):
        resp = clients[name].get(path)
        body = resp.get_data()  # an export streams: read it all
        assert resp.status_code == 200, (name, path, resp.status_code)
        return body

    lines = []
    print(f"{'page':48s} {'primary p50/p95 ms':>20s} {'replica p50/p95 ms':>20s} {'ratio':>6s}  statements on "
          f"the replica / the primary (replica app, one request)", flush=True)
    for label, path in _pages():
        bodies = {name: get(name, path) for name in apps}  # warm-up, and the answers compared
        if path.endswith(".csv"):
            assert bodies["primary"] == bodies["replica"], f"{label}: the replica's CSV differs"
        times = {"primary": [], "replica": []}
        for _ in range(ROUNDS):
            for name in apps:
                t = time.perf_counter()
                get(name, path)
                times[name].append((time.perf_counter() - t) * 1000)
        before = dict(counts)
        get("replica", path)
        on_replica, on_primary = counts["replica"] - before["replica"], counts["primary"] - before["primary"]
        base = row(f"replica bench, primary only: {label}", times["primary"])
        ours = row(f"replica bench, on the replica: {label}", times["replica"], ref_ms=base["p50_ms"],
                   statements_on_replica=on_replica, statements_on_primary=on_primary)
        lines += [base, ours]
        print(f"{label:48s} {base['p50_ms']:9.0f} / {base['p95_ms']:<9.0f} {ours['p50_ms']:9.0f} / "
              f"{ours['p95_ms']:<9.0f} {ours['ratio']:6.2f}  {on_replica} / {on_primary}", flush=True)

    # a write on the primary, then the wait a report request makes before counting on the replica
    waits = []
    for _ in range(ROUNDS):
        with engines["primary"].begin() as conn:
            conn.execute(sa.text("UPDATE tickets SET updated_at = updated_at WHERE id = (SELECT max(id) FROM tickets)"))
        t = time.perf_counter()
        assert _replica_caught_up(engines["primary"], engines["replica"], 10.0), "the replica did not catch up"
        waits.append((time.perf_counter() - t) * 1000)
    lines.append(row("replica bench, wait until a commit on the primary is replayed", waits))
    print(f"a commit on the primary replayed on the replica after p50 {lines[-1]['p50_ms']:.1f} ms "
          f"(p95 {lines[-1]['p95_ms']:.1f} ms; includes the two LSN queries)", flush=True)
    state = replica.wait_streaming()
    print(f"replay lag reported by the primary: {state['replay_lag_ms']:.1f} ms", flush=True)
    for app in apps.values():
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if app.extensions.get(REPORTS_ENGINE) is not None:
            app.extensions[REPORTS_ENGINE].dispose()
    return lines


def main() -> None:
    url = _database()
    load = os.getloadavg()
    with Replica() as replica:
        lines = measure(url, replica)
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start", flush=True)
    for line in lines:
        emit(line)


if __name__ == "__main__":
    main()
