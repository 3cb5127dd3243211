"""Operations (issue 13): health and readiness, metrics, request ids, `flask check`, the
backup → restore round trip, and the sign-in lock-out holding across two server processes."""
from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from hotline.clock import now
from hotline.extensions import db
from hotline.scheduler.models import JobRun
from hotline.tickets.models import Ticket
from tests.conftest import count
from tests.factories import PASSWORD, UserFactory
from tests.test_pages import csrf_token, login

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_and_readyz_report_database_migrations_and_scheduler(world, client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    resp = client.get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 503 and body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    assert not body["checks"]["scheduler"]["ok"]  # no job has run yet
    db.session.add(JobRun(job="deadline_watch", due_at=now(), holder="test", started_at=now() - timedelta(seconds=30),
                          finished_at=now(), result=""))
    db.session.commit()
    resp = client.get("/readyz")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ok"


def test_metrics_for_local_scrapers_only(app, world, client, monkeypatch):
    world.dispatched()
    db.session.add(JobRun(job="escalation", due_at=now(), holder="t", started_at=now() - timedelta(seconds=2),
                          finished_at=now(), result=""))
    db.session.commit()
    html = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "operator", "password": "wrong-one", "csrf_token": csrf_token(html)})
    resp = client.get("/metrics")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert re.search(r'hotline_open_tickets\{unit="D1"\} 1\.0', text)
    assert 'hotline_http_requests_total{endpoint="auth.login",method="POST",status="401"}' in text
    assert 'hotline_login_failures_total{reason="wrong"}' in text
    assert 'hotline_http_request_duration_seconds_bucket{endpoint="auth.login"' in text
    assert 'hotline_job_last_duration_seconds{job="escalation"} 2.0' in text
    outsider = app.test_client()
    outsider.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert outsider.get("/metrics").status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token-123")
    assert outsider.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"}).status_code == 200


def test_every_answer_has_a_request_id(client):
    resp = client.get("/healthz", headers={"X-Request-Id": "abc-12345678"})
    assert resp.headers["X-Request-Id"] == "abc-12345678"
    resp = client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-Id"])


def _env(app, tmp_path, **extra):
    return dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
                HOTLINE_INSTANCE_DIR=str(tmp_path / "instance"), PYTHONUNBUFFERED="1", **extra)


def test_flask_check_reports_configuration_problems(app, world, tmp_path):
    db.session.commit()
    bad = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "check"], cwd=ROOT, capture_output=True,
                         text=True, env=_env(app, tmp_path, HOTLINE_CONFIG="production", SECRET_KEY="changeme"))
    assert bad.returncode != 0 and "SECRET_KEY" in bad.stdout + bad.stderr
    good = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "check"], cwd=ROOT, capture_output=True,
                          text=True, env=_env(app, tmp_path, HOTLINE_CONFIG="production",
                                              SECRET_KEY=secrets.token_hex(32)))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "WARN: REDIS_URL is not set" in good.stdout and "ERROR" not in good.stdout


def test_backup_then_restore_brings_back_every_row(app, world, tmp_path):
    tid = world.dispatched(caller_phone="13912345678", content="备份前的诉求").id
    db.session.commit()
    before = {tbl.name: db.session.scalar(sa.select(sa.func.count()).select_from(tbl))
              for tbl in db.metadata.sorted_tables}
    path = str(tmp_path / "hotline.backup")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["backup", path])
    assert result.exit_code == 0, result.output
    # after the backup (which ended the session): a new row, a changed one
    from hotline.audit.services import record
    record("login", username="after-backup")
    db.session.execute(sa.update(Ticket).where(Ticket.id == tid).values(content="备份后改过"))
    db.session.commit()
    db.session.close()
    result = runner.invoke(args=["restore", "--yes", path])
    assert result.exit_code == 0, result.output
    db.session.remove()
    db.engine.dispose()
    after = {tbl.name: db.session.scalar(sa.select(sa.func.count()).select_from(tbl))
             for tbl in db.metadata.sorted_tables}
    assert after == before
    assert db.session.get(Ticket, tid).content == "备份前的诉求"
    assert count(Ticket) == 1 and before["audit_log"] == after["audit_log"]


# --- the lock-out across two server processes ------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env, tmp_path, name):
    port = _free_port()
    log = open(tmp_path / f"{name}.log", "w")
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-w", "1", "-b",
                             f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200:
                    return proc, f"http://127.0.0.1:{port}"
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.3)
    finally:
        if time.monotonic() >= deadline:
            proc.kill()
    raise AssertionError((tmp_path / f"{name}.log").read_text())


def _try(base, session, username, password):
    html = session.get(f"{base}/login", timeout=30).text
    return session.post(f"{base}/login", data={"username": username, "password": password,
                                               "csrf_token": csrf_token(html)}, allow_redirects=False, timeout=30)


@pytest.mark.parametrize("store", ["database", "redis"])
def test_lock_out_holds_across_two_server_processes(app, world, tmp_path, store):
    name = f"lock{uuid.uuid4().hex[:8]}"
    UserFactory(username=name, unit=world.centre, roles=["operator"])
    db.session.commit()
    db.session.remove()
    extra = dict(HOTLINE_CONFIG="development", SECRET_KEY=secrets.token_hex(32), HOTLINE_JSON_LOGS="1")
    if store == "redis":
        extra["REDIS_URL"] = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        import redis
        try:
            redis.Redis.from_url(extra["REDIS_URL"]).ping()
        except redis.ConnectionError:
            pytest.skip("no Redis at " + extra["REDIS_URL"])
    env = _env(app, tmp_path, **extra)
    servers = [_serve(env, tmp_path, "a")]
    try:
        servers.append(_serve(env, tmp_path, "b"))
        (_, a), (_, b) = servers
        sa_, sb = requests.Session(), requests.Session()
        answers = [_try(base, s, name, "wrong-password") .status_code
                   for base, s in ((a, sa_), (b, sb), (a, sa_), (b, sb), (a, sa_))]
        assert answers == [401] * 5
        assert _try(b, sb, name, PASSWORD).status_code == 429  # five failures seen across both
        assert _try(a, sa_, name, PASSWORD).status_code == 429
        log = (tmp_path / "a.log").read_text()
        assert '"request_id"' in log and '"status": 401' in log  # JSON log lines
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=20)
