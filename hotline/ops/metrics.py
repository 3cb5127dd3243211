"""Prometheus metrics. Request counts and latencies per endpoint and failed sign-ins are
counted in the process (in PROMETHEUS_MULTIPROC_DIR when set, so every gunicorn worker's
counts are summed); ticket and job figures are read from the database at scrape time, so
the scheduler process needs no exporter of its own."""
from __future__ import annotations

import os
import time

import sqlalchemy as sa
from flask import Flask, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from hotline.clock import now as clock_now
from hotline.extensions import db

REQUESTS = Counter("hotline_http_requests_total", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram("hotline_http_request_duration_seconds", "Time to answer a request", ["endpoint"],
                    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LOGIN_FAILURES = Counter("hotline_login_failures_total", "Failed sign-ins (wrong password, unknown name, locked)",
                         ["reason"])


class DatabaseCollector:
    """Open and overdue tickets per unit; job runs, failures and the last duration per job."""

    def collect(self):
        from hotline.enums import OPEN_ASSIGNMENT_STATES, TicketState
        from hotline.scheduler.models import JobRun
        from hotline.tickets.models import Assignment, Ticket
        from hotline.units.models import Unit

        now = clock_now()
        open_ = GaugeMetricFamily("hotline_open_tickets", "Open tickets per lead unit", labels=["unit"])
        for code, n in db.session.execute(
                sa.select(sa.func.coalesce(Unit.code, "none"), sa.func.count(Ticket.id))
                .select_from(Ticket).outerjoin(Unit, Unit.id == Ticket.lead_unit_id)
                .where(Ticket.state != TicketState.CLOSED).group_by(Unit.code)):
            open_.add_metric([code], n)
        yield open_
        overdue = GaugeMetricFamily("hotline_overdue_assignments", "Open assignments past their handle deadline",
                                    labels=["unit"])
        for code, n in db.session.execute(
                sa.select(Unit.code, sa.func.count(Assignment.id)).join(Unit, Unit.id == Assignment.unit_id)
                .where(Assignment.active.is_(True), Assignment.state.in_(OPEN_ASSIGNMENT_STATES),
                       Assignment.handle_due_at < now).group_by(Unit.code)):
            overdue.add_metric([code], n)
        yield overdue
        runs = GaugeMetricFamily("hotline_job_runs", "Scheduled job runs recorded", labels=["job"])
        duration = GaugeMetricFamily("hotline_job_last_duration_seconds", "Duration of the job's last finished run",
                                     labels=["job"])
        for job, n in db.session.execute(sa.select(JobRun.job, sa.func.count()).group_by(JobRun.job)):
            runs.add_metric([job], n)
        last = sa.select(JobRun.job, sa.func.max(JobRun.id).label("id")).where(
            JobRun.finished_at.is_not(None)).group_by(JobRun.job).subquery()
        for job, started, finished in db.session.execute(
                sa.select(JobRun.job, JobRun.started_at, JobRun.finished_at).join(last, last.c.id == JobRun.id)):
            duration.add_metric([job], max(0.0, (finished - started).total_seconds()))
        yield runs
        yield duration
        db.session.rollback()


def exposition() -> tuple[bytes, str]:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        for collector in (REQUESTS, LATENCY, LOGIN_FAILURES):
            registry.register(collector)
    registry.register(DatabaseCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


def init_app(app: Flask) -> None:
    @app.before_request
    def _start():
        g._metrics_start = time.perf_counter()

    @app.after_request
    def _observe(response):
        start = g.pop("_metrics_start", None)
        endpoint = request.endpoint or "unmatched"
        if start is not None and endpoint != "static":
            LATENCY.labels(endpoint).observe(time.perf_counter() - start)
            REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        return response
