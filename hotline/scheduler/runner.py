"""The scheduler process: `flask --app wsgi scheduler run`.

Never started inside web workers. Several scheduler processes may run against one
PostgreSQL database: the one holding a session-level advisory lock (on a dedicated
connection, not a pooled one) is the leader and runs the jobs; the others stand by and try
for the lock every few seconds, so when the leader dies (its connection closes and the
lock goes with it) one of them takes over. Independently of the lock, each run claims its
(job, due time) row in `job_runs`, so a job runs once per due time even if two leaders
overlapped for a moment. On SQLite run a single scheduler process (one host, one file).

Missed runs: on start each job runs once at once (coalesced), and because jobs work from
the database state, a run after downtime catches up without losing or doubling anything.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy.dialects import postgresql, sqlite

from hotline.clock import TZ
from hotline.clock import now as clock_now
from hotline.extensions import db
from hotline.lifecycle.uow import unit_of_work
from hotline.reports.periods import parse_month, parse_week, previous_month, previous_week
from hotline.scheduler.jobs import JOBS
from hotline.scheduler.models import JobRun

log = logging.getLogger("hotline.scheduler")
LOCK_KEY = 0x12345_0001  # the advisory lock every hotline scheduler competes for


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def due_slot(moment: datetime, seconds: int) -> datetime:
    """The due time a run belongs to: `moment` floored to the job's interval."""
    epoch = datetime(2000, 1, 1)
    slots = int((moment - epoch).total_seconds()) // seconds
    return epoch + timedelta(seconds=slots * seconds)


def claim_run(job: str, due_at: datetime, holder: str) -> int | None:
    """Insert the (job, due time) row; None when another process already has it."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(JobRun).values(job=job, due_at=due_at, holder=holder, started_at=clock_now(), result="")
    run_id = db.session.execute(stmt.on_conflict_do_nothing().returning(JobRun.id)).scalar()
    db.session.commit()
    return run_id


def run_job(app: Flask, name: str, *, due_at: datetime | None = None, holder: str | None = None,
            at: datetime | None = None) -> dict | None:
    """Run one job once in its own app context; returns its result, or None if the due
    time was already taken by another process."""
    with app.app_context():
        holder = holder or holder_name()
        if due_at is not None and claim_run(name, due_at, holder) is None:
            log.info("job %s for %s already run elsewhere; skipped", name, due_at)
            return None
        try:
            with unit_of_work():  # the job's boundary: all its rows commit together, or none
                result = JOBS[name](at) if at is not None else JOBS[name]()
        except Exception:
            log.exception("job %s failed", name)
            raise
        finally:
            db.session.remove()
        if due_at is not None:
            db.session.execute(sa.update(JobRun).where(JobRun.job == name, JobRun.due_at == due_at)
                               .values(finished_at=clock_now(), result=str(result)))
            db.session.commit()
            db.session.remove()
        log.info("job %s done: %s", name, result)
        return result


class Leadership:
    """PostgreSQL advisory lock on a dedicated connection; always leader on SQLite."""

    def __init__(self, app: Flask):
        self.app = app
        self.conn = None
        with app.app_context():
            self.url = db.engine.url
            self.dialect = db.engine.dialect.name

    def try_acquire(self) -> bool:
        if self.dialect != "postgresql":
            return True
        import psycopg

        if self.conn is None or self.conn.closed:
            dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn = psycopg.connect(dsn, autocommit=True, application_name="hotline-scheduler")
        return bool(self.conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0])

    def still_held(self) -> bool:
        if self.dialect != "postgresql":
            return True
        try:
            self.conn.execute("SELECT 1")
            return True
        except Exception:
            return False

    def release(self) -> None:
        if self.conn is not None and not self.conn.closed:
            try:
                self.conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
            finally:
                self.conn.close()


def build_scheduler(app: Flask, holder: str) -> BlockingScheduler:
    sched = BlockingScheduler(timezone=TZ, job_defaults={"coalesce": True, "max_instances": 1,
                                                         "misfire_grace_time": 3600})
    intervals = app.config["JOB_INTERVALS"]
    for name, seconds in intervals.items():
        def fire(name=name, seconds=seconds):
            run_job(app, name, due_at=due_slot(clock_now(), seconds), holder=holder)
        sched.add_job(fire, IntervalTrigger(seconds=seconds, timezone=TZ), id=name, name=name,
                      next_run_time=datetime.now(TZ))  # once at start-up: catch up after downtime
    if "weekly_report" in JOBS:
        def weekly():
            # one run per reported week: due at the Monday 08:00 after it
            due = parse_week(previous_week(clock_now()))[1] + timedelta(hours=8)
            run_job(app, "weekly_report", due_at=due, holder=holder)
        sched.add_job(weekly, CronTrigger(day_of_week="mon", hour=8, minute=0, timezone=TZ), id="weekly_report",
                      name="weekly_report", next_run_time=datetime.now(TZ))  # catch up a missed Monday
    if "monthly_report" in JOBS:
        def monthly():
            # one run per reported month: due at 08:00 on the 1st after it
            due = parse_month(previous_month(clock_now()))[1] + timedelta(hours=8)
            run_job(app, "monthly_report", due_at=due, holder=holder)
        sched.add_job(monthly, CronTrigger(day=1, hour=8, minute=0, timezone=TZ), id="monthly_report",
                      name="monthly_report", next_run_time=datetime.now(TZ))  # catch up a missed 1st
    return sched


def run_scheduler(app: Flask) -> None:
    """Foreground loop: stand by until leader, then run the jobs until SIGTERM/SIGINT."""
    holder = holder_name()
    leadership = Leadership(app)
    stop = threading.Event()
    state = {"sched": None}

    def on_signal(signum, frame):
        log.info("signal %s: stopping", signum)
        stop.set()
        if state["sched"] is not None:
            state["sched"].shutdown(wait=False)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    retry = app.config["SCHEDULER_STANDBY_RETRY_SECONDS"]
    log.info("scheduler %s starting (%s)", holder, leadership.dialect)
    try:
        while not stop.is_set():
            if not leadership.try_acquire():
                log.info("standing by: another scheduler is the leader")
                stop.wait(retry)
                continue
            log.info("leader: %s runs the jobs", holder)
            sched = state["sched"] = build_scheduler(app, holder)
            if leadership.dialect == "postgresql":
                def watch():
                    if not leadership.still_held():
                        log.error("lost the leadership connection; stopping jobs")
                        sched.shutdown(wait=False)
                sched.add_job(watch, IntervalTrigger(seconds=max(retry, 1), timezone=TZ), id="_leadership")
            sched.start()  # blocks until shutdown
            state["sched"] = None
    finally:
        leadership.release()
        log.info("scheduler %s stopped", holder)
