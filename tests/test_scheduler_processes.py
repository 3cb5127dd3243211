"""Two real scheduler processes against one PostgreSQL database: one leads and runs each
job once per due time; when the leader is killed the stand-by takes over; SIGTERM stops
cleanly. (This test waits on real processes, polling with a deadline.)"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from hotline.scheduler.models import JobRun
from hotline.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def start(url, tmp_path, name):
    env = dict(os.environ, DATABASE_URL=url, HOTLINE_INSTANCE_DIR=str(tmp_path / name),
               HOTLINE_DEADLINE_WATCH_SECONDS="1", HOTLINE_ESCALATION_SECONDS="2", HOTLINE_SUPERVISION_SECONDS="2",
               HOTLINE_CALLBACK_DUE_SECONDS="2", HOTLINE_SEND_EMAIL_SECONDS="5",
               HOTLINE_STANDBY_RETRY_SECONDS="0.3", PYTHONUNBUFFERED="1", HOTLINE_CONFIG="development")
    log = open(tmp_path / f"{name}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    return proc, tmp_path / f"{name}.log"


def holders():
    db.session.commit()
    return db.session.execute(sa.select(JobRun.holder, sa.func.count()).group_by(JobRun.holder)).all()


def wait_for(predicate, timeout=30.0, what=""):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_one_leader_runs_jobs_and_standby_takes_over(app, db_kind, tmp_path):
    if db_kind != "postgresql":
        pytest.skip("leadership across processes is a PostgreSQL feature; SQLite runs one scheduler")
    from datetime import datetime as dt

    from hotline.enums import EventAction
    from hotline.tickets.models import TicketEvent
    from tests.factories import build_world

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    world = build_world()
    from hotline.clock import clock

    clock.set(dt(2026, 1, 5, 9, 30))  # long ago: by the processes' real clock the ticket is overdue
    overdue = world.signed()
    clock.set(dt(2026, 11, 23, 9, 30))
    db.session.commit()
    a, a_log = start(url, tmp_path, "a")
    b = None
    try:
        wait_for(lambda: holders(), what="the first job runs")
        b, b_log = start(url, tmp_path, "b")
        wait_for(lambda: "standing by" in b_log.read_text(), what="b standing by")
        before = sum(n for _, n in holders())
        wait_for(lambda: sum(n for _, n in holders()) >= before + 4, what="more runs by the leader")
        assert [h for h, _ in holders()] == [f"{os.uname().nodename}:{a.pid}"]
        # the effect, not just the bookkeeping: each fact about the overdue ticket once
        for action in (EventAction.URGE, EventAction.OVERDUE):
            n = db.session.scalar(sa.select(sa.func.count()).select_from(TicketEvent).where(
                TicketEvent.ticket_id == overdue.id, TicketEvent.action == action))
            assert n == 1, action

        a.send_signal(signal.SIGKILL)  # the leader dies without a word
        a.wait(timeout=10)
        b_holder = f"{os.uname().nodename}:{b.pid}"
        wait_for(lambda: any(h == b_holder for h, _ in holders()), timeout=30, what="b takes over")
        assert "leader" in b_log.read_text()

        b.send_signal(signal.SIGTERM)
        assert b.wait(timeout=15) == 0
        assert "stopped" in b_log.read_text()
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(timeout=10)
