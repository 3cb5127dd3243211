"""Every benchmark in one command: standard output is one JSON line per measurement.

    .venv/bin/python bench/run_all.py --quick                 # SQLite files, small sizes (minutes)
    BENCH_PG=postgresql://postgres@127.0.0.1:5432 .venv/bin/python bench/run_all.py --quick
    BENCH_PG=postgresql://postgres@127.0.0.1:5432 .venv/bin/python bench/run_all.py   # full sizes (hours)
    .venv/bin/python bench/run_all.py --quick --only list_100k,reports_1m

Each script runs in its own process with its own environment; what it prints for people
goes to standard error as it comes, its JSON lines (bench/_report.py: `name`, `n`,
`p50_ms`, `p95_ms`, `rps`, `rss_mb`, `ratio` where the script measures a reference in the
same run, and keys of its own) go to standard output with `"script"` added. A script that
cannot run on the chosen database gives one line `{"name": <script>, "skipped": why}`; a
script that fails gives `{"name": <script>, "failed": exit status}` and the others still
run (the exit status of run_all is then 1).

Databases: with BENCH_PG (a PostgreSQL server URL) each script gets a fresh database named
BENCH_DB_PREFIX + its suffix (hotline_bench_runall_list, _watch, _year, _api, _intake),
dropped at the end unless BENCH_KEEP=1; reports_1m and pages_1m share one (_year: loaded
once by reports_1m). BENCH_YEAR_URL names an already loaded database for those two instead
(e.g. the 1M one: used as it is, never migrated or dropped). Without BENCH_PG, SQLite files
in a temporary directory, and the two gunicorn scripts (intake, api_create) are skipped.
BENCH_REPLICA=1 (PostgreSQL) adds bench/replica.py, which copies the whole cluster with
pg_basebackup (read its docstring first).

Sizes (quick / full): tickets for list_100k 5 000 / 100 000, open assignments for
deadline_watch_100k 5 000 / 100 000, the realistic year of reports_1m and pages_1m
20 000 / 1 000 000, gunicorn rounds 3 s / 15 s; rounds per page 3 / the scripts' own
defaults. Any BENCH_* variable already set wins over these.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench._report import parse_lines  # noqa: E402

PG = (os.environ.get("BENCH_PG") or "").rstrip("/")
PREFIX = os.environ.get("BENCH_DB_PREFIX", "hotline_bench_runall")
KEEP = os.environ.get("BENCH_KEEP") == "1"

# script, database suffix, sizes (quick, full), needs PostgreSQL
SCRIPTS = [
    ("list_100k", "list", {"BENCH_TICKETS": ("5000", "100000"), "BENCH_ROUNDS": ("3", "5")}, False),
    ("deadline_watch_100k", "watch", {"BENCH_ASSIGNMENTS": ("5000", "100000")}, False),
    ("reports_1m", "year", {"BENCH_TICKETS": ("20000", "1000000"), "BENCH_RUNS": ("1", "3")}, False),
    ("pages_1m", "year", {"BENCH_TICKETS": ("20000", "1000000"), "BENCH_ROUNDS": ("3", "30")}, False),
    ("api_create", "api", {"BENCH_SECONDS": ("3", "15")}, True),
    ("intake", "intake", {"BENCH_SECONDS": ("3", "15")}, True),
    ("replica", "replica", {"BENCH_TICKETS": ("20000", "20000"), "BENCH_ROUNDS": ("3", "5")}, True),
]


def _admin(sql: str) -> list:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def _fresh_pg(name: str) -> str:
    if not name.startswith(PREFIX):  # never drop anything this runner did not name
        raise ValueError(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def plan(quick: bool, only: set[str] | None, tmp: str) -> list[tuple[str, dict, str | None]]:
    """(script, environment, reason to skip) in running order."""
    out, made = [], {}
    for script, suffix, sizes, needs_pg in SCRIPTS:
        if only is not None and script not in only:
            continue
        if script == "replica" and os.environ.get("BENCH_REPLICA") != "1" and not (only and "replica" in only):
            continue
        if needs_pg and not PG:
            out.append((script, {}, "needs PostgreSQL (set BENCH_PG)"))
            continue
        env = {k: os.environ.get(k, v[0] if quick else v[1]) for k, v in sizes.items()}
        if suffix == "year" and os.environ.get("BENCH_YEAR_URL"):
            env.update(DATABASE_URL=os.environ["BENCH_YEAR_URL"], BENCH_REUSE="1", BENCH_MIGRATE="0")
        elif script in ("api_create", "intake"):
            env.update(BENCH_PG=PG, BENCH_DB=f"{PREFIX}_{suffix}")  # they drop and create it themselves
            made[suffix] = f"{PREFIX}_{suffix}"
        elif script == "replica":
            env.update(BENCH_PG=PG, BENCH_DB=f"{PREFIX}_{suffix}")
            made[suffix] = f"{PREFIX}_{suffix}"
        elif PG:
            env.update(DATABASE_URL=f"{PG}/{PREFIX}_{suffix}", BENCH_REUSE="1")
            made[suffix] = f"{PREFIX}_{suffix}"
        else:
            env.update(DATABASE_URL=f"sqlite:///{os.path.join(tmp, suffix + '.sqlite')}", BENCH_REUSE="1")
        out.append((script, env, None))
    return out, made


def run(script: str, env: dict, timeout: float) -> tuple[list[dict], int]:
    """Run bench/<script>.py; its output goes to stderr as it comes, its JSON lines are returned."""
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "bench", f"{script}.py")], cwd=ROOT,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + timeout
    for text in proc.stdout:
        sys.stderr.write(f"[{script}] {text}")
        lines += parse_lines(text)
        if time.monotonic() > deadline:
            proc.kill()
            break
    return lines, proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: finishes in minutes")
    parser.add_argument("--only", help="comma-separated script names (list_100k, deadline_watch_100k, reports_1m, "
                                       "pages_1m, api_create, intake, replica)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per script (quick 900, full 36000)")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    timeout = args.timeout or (900 if args.quick else 36000)
    failed = False
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        todo, made = plan(args.quick, only, tmp)
        fresh = set()
        try:
            for script, env, skip in todo:
                if skip:
                    print(json.dumps({"name": script, "script": script, "skipped": skip}, ensure_ascii=False), flush=True)
                    continue
                url = env.get("DATABASE_URL", "")
                name = url.rsplit("/", 1)[-1] if PG and url.startswith(PG) else None
                if name in made.values() and name not in fresh:  # a fresh database, once per run (reports_1m and pages_1m share one)
                    _fresh_pg(name)
                    fresh.add(name)
                shown = {k: v for k, v in env.items() if k != "DATABASE_URL"} | (
                    {"DATABASE_URL": env["DATABASE_URL"]} if "DATABASE_URL" in env else {})
                sys.stderr.write(f"=== {script} {shown}\n")
                t = time.perf_counter()
                lines, status = run(script, env, timeout)
                sys.stderr.write(f"=== {script}: exit {status}, {len(lines)} JSON lines, "
                                 f"{time.perf_counter() - t:.0f} s\n")
                for line in lines:
                    print(json.dumps({**line, "script": script}, ensure_ascii=False), flush=True)
                if status != 0:
                    failed = True
                    print(json.dumps({"name": script, "script": script, "failed": status}), flush=True)
        finally:
            if PG and not KEEP:
                for name in made.values():
                    if name.startswith(PREFIX):
                        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
