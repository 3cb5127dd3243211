"""Test set-up: a real database per run (SQLite file and a throw-away PostgreSQL
database), built by the Alembic migrations, emptied between tests; the clock is set,
never slept on.

PostgreSQL: HOTLINE_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres) is
used to create and drop a database for the run. Without a server the PostgreSQL tests
skip with a message, except under CI=true, where a missing server fails the run.
"""
from __future__ import annotations

import atexit
import contextvars
import os
import shutil
import tempfile
import time
import uuid
from datetime import datetime

import psycopg
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

# Each test process (each xdist worker) gets its own instance folder (attachments, secret
# key), so one worker's files never show up in another's before/after comparison. Set
# before `config` is imported (create_app imports it), and applied to every app below.
TEST_INSTANCE_DIR = tempfile.mkdtemp(prefix=f"hotline-instance-{os.getpid()}-")
os.environ["HOTLINE_INSTANCE_DIR"] = TEST_INSTANCE_DIR
atexit.register(shutil.rmtree, TEST_INSTANCE_DIR, ignore_errors=True)

from hotline import create_app  # noqa: E402
from hotline.clock import clock
from hotline.extensions import db

PG_ADMIN_URL = os.environ.get("HOTLINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
START = datetime(2026, 11, 23, 9, 30)  # a Monday morning


def _pg_database():
    """Create a throw-away database; return (sqlalchemy url, drop function)."""
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        msg = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}".strip()
        if IN_CI:
            pytest.fail("CI=true and " + msg, pytrace=False)
        pytest.skip(msg + " (PostgreSQL tests skipped; start a server or set HOTLINE_TEST_PG_URL)")
    name = f"hotline_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)

    def drop():
        # FORCE ends the sessions still open, but a live server's thread that has not
        # stopped yet may connect again in between (seen on a loaded machine): retry.
        for attempt in range(10):
            try:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 9:
                    raise
                time.sleep(0.5)
        admin.close()

    return f"{base}/{name}", drop


class IsolatedClient(FlaskClient):
    """Each request runs in a blank context, so it gets its own app context, `g` and
    database session, as in production, instead of sharing the test's (which would leak
    the logged-in user and the session's identity map between requests)."""

    def open(self, *args, **kwargs):
        # End the test's own transaction first: on SQLite every transaction holds the
        # write lock (BEGIN IMMEDIATE) and the request would wait for it.
        db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


def _migrated_app(url: str):
    from flask_migrate import upgrade

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    app.instance_path = TEST_INSTANCE_DIR  # also if `config` was imported before this module
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def app(request, tmp_path_factory):
    """One migrated app per database kind for the whole run."""
    kind = request.param
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("db") / "hotline.sqlite"
        application = _migrated_app(f"sqlite:///{path}")
        application.config["DB_KIND"] = "sqlite"
        yield application
        with application.app_context():
            db.engine.dispose()
    else:
        url, drop = _pg_database()
        application = _migrated_app(url)
        application.config["DB_KIND"] = "postgresql"
        yield application
        with application.app_context():
            db.engine.dispose()
        drop()


def _empty_database():
    from hotline.deadlines.services import seed_default_policy

    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # the audit trail's trigger lets only a purge delete
            conn.exec_driver_sql("SET LOCAL hotline.audit_purge = 'on'")
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    seed_default_policy()
    db.session.commit()


@pytest.fixture(autouse=True)
def _fresh(request):
    """Every test that uses the app starts with an empty database and the clock at START."""
    clock.set(START)
    if "app" not in request.fixturenames:
        yield
        clock.reset()
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        _empty_database()
        yield
        db.session.remove()
    clock.reset()


@pytest.fixture
def db_kind(app):
    return app.config["DB_KIND"]


@pytest.fixture
def world(app):
    from tests.factories import build_world

    return build_world()


@pytest.fixture
def client(app):
    return app.test_client()


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
