"""Issue 13: gunicorn with 4 workers and the scheduler process on PostgreSQL, many clients
acting on the same tickets at once for a bounded time. Afterwards: no 500, no lost update
(every action a client was told succeeded is stored, once), no duplicate event, and every
refusal audited. PostgreSQL only (SQLite is one host's file; its locking is tested elsewhere)."""
from __future__ import annotations

import collections
import os
import re
import secrets
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from hotline.audit.models import AuditEntry
from hotline.enums import EventAction, Role
from hotline.extensions import db
from hotline.tickets.models import Ticket, TicketEvent
from tests.factories import PASSWORD, UserFactory
from tests.test_ops import ROOT, _env
from tests.test_pages import csrf_token

SECONDS = float(os.environ.get("HOTLINE_LOAD_SECONDS", "20"))
TICKETS = 4  # few, so that the clients collide on each


def _login(base, username):
    s = requests.Session()
    html = s.get(f"{base}/login", timeout=30).text
    r = s.post(f"{base}/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(html)},
               allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[:500]
    return s


def test_concurrent_clients_on_gunicorn_and_scheduler(app, world, db_kind, tmp_path):
    if db_kind != "postgresql":
        pytest.skip("the multi-process load test runs on PostgreSQL")
    import subprocess
    import sys

    staff = [world.district_staff.username]
    for i in range(3):
        staff.append(UserFactory(username=f"d1extra{i}", unit=world.district, roles=[Role.UNIT_STAFF]).username)
    tickets = [world.dispatched().id for _ in range(TICKETS)]
    db.session.commit()
    db.session.remove()

    env = _env(app, tmp_path, HOTLINE_CONFIG="development", SECRET_KEY=secrets.token_hex(32),
               HOTLINE_WORKERS="4")
    server, base = _serve_workers(env, tmp_path)
    sched_log = open(tmp_path / "scheduler.log", "w")
    scheduler = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"], cwd=ROOT,
                                 env=dict(env, HOTLINE_DEADLINE_WATCH_SECONDS="1", HOTLINE_ESCALATION_SECONDS="2",
                                          HOTLINE_CALLBACK_DUE_SECONDS="2"),
                                 stdout=sched_log, stderr=subprocess.STDOUT)
    results = collections.Counter()  # (kind, status)
    signed_ok = collections.Counter()  # ticket id -> 302 answers to sign
    refused = collections.Counter()
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def unit_worker(username):
        s = _login(base, username)
        i = 0
        while time.monotonic() < stop:
            tid = tickets[i % len(tickets)]
            i += 1
            try:
                html = s.get(f"{base}/tickets/{tid}", timeout=30).text
                m = re.search(r'name="sign-version" type="hidden" value="(\d+)"', html)
                data = {"sign-csrf_token": csrf_token(html), "sign-version": m.group(1) if m else "1"}
                a = re.search(r'name="sign-assignment_id" type="hidden" value="(\d*)"', html)
                if a:
                    data["sign-assignment_id"] = a.group(1)
                r = s.post(f"{base}/tickets/{tid}/sign", data=data, allow_redirects=False, timeout=30)
            except requests.RequestException as exc:
                with lock:
                    errors.append(repr(exc))
                continue
            with lock:
                results[("sign", r.status_code)] += 1
                if r.status_code == 302:
                    signed_ok[tid] += 1
                if r.status_code == 403:
                    refused[username] += 1

    def intruder(username, urls):
        s = _login(base, username)
        i = 0
        while time.monotonic() < stop:
            url = urls[i % len(urls)]
            i += 1
            try:
                r = s.get(f"{base}{url}", allow_redirects=False, timeout=30)
            except requests.RequestException as exc:
                with lock:
                    errors.append(repr(exc))
                continue
            with lock:
                results[("probe", r.status_code)] += 1
                if r.status_code == 403:
                    refused[username] += 1
            time.sleep(0.05)

    def guarded(fn, *args):
        def run():
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                with lock:
                    errors.append(f"{fn.__name__}{args}: {exc!r}")
        return threading.Thread(target=run)

    threads = [guarded(unit_worker, u) for u in staff]
    threads.append(guarded(intruder, "operator", ["/admin/users", "/admin/audit"]))
    threads.append(guarded(intruder, "d2staff", [f"/tickets/{t}" for t in tickets]))
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=SECONDS + 120)
        deadline = time.monotonic() + 90  # the scheduler's first runs (it starts beside a loaded web)
        while True:
            ready = requests.get(f"{base}/readyz", timeout=30)
            if ready.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        server.terminate()
        scheduler.terminate()
        server.wait(timeout=30)
        scheduler.wait(timeout=30)

    assert not errors, errors[:5]
    assert not [k for k in results if k[1] >= 500], results
    assert ready.status_code == 200, ready.text + (tmp_path / "scheduler.log").read_text()[-3000:]
    db.session.expire_all()
    events = dict(db.session.execute(
        sa.select(TicketEvent.ticket_id, sa.func.count()).where(TicketEvent.action == EventAction.SIGN)
        .group_by(TicketEvent.ticket_id)).all())
    # each ticket signed at most once, and exactly as the successful answers say (a ticket
    # the clients did not reach in the time has neither)
    for tid in tickets:
        assert events.get(tid, 0) == signed_ok[tid] <= 1, (tid, events.get(tid), signed_ok[tid])
    assert sum(signed_ok.values()) >= len(tickets) // 2, (signed_ok, results)
    assert all(db.session.get(Ticket, tid).version == (3 if signed_ok[tid] else 2) for tid in tickets)
    audited = dict(db.session.execute(sa.select(AuditEntry.username, sa.func.count())
                                      .where(AuditEntry.action == "refused").group_by(AuditEntry.username)).all())
    assert refused["operator"] > 0 and refused["d2staff"] > 0 and audited == dict(refused), (audited, refused)
    print(f"\n{sum(results.values())} requests in {SECONDS:g} s: {dict(results)}")


def _serve_workers(env, tmp_path):
    """gunicorn with 4 workers on a free port (tests.test_ops._serve runs 1)."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "web.log", "w")
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-c",
                             str(ROOT / "deploy" / "gunicorn.conf.py"), "-w", "4", "-b", f"127.0.0.1:{port}",
                             "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200:
                return proc, f"http://127.0.0.1:{port}"
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.3)
    proc.kill()
    raise AssertionError((tmp_path / "web.log").read_text())
