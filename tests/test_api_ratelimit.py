"""Rate limits: per token and per client address on /api/v1, counted where every worker
process sees them (the database by default, Redis when REDIS_URL is set)."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from hotline.api.auth import create_token
from hotline.database import configure_engine
from hotline.extensions import db
from hotline.ratelimit.models import RateLimitHit
from hotline.ratelimit.services import DatabaseCounter, RedisCounter, hit, window
from tests.conftest import IN_CI
from tests.factories import at

REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MISSING = "/api/v1/tickets/12345-00000000-000000"  # any authenticated route will do: 404


@pytest.fixture
def limits(app, monkeypatch):
    """Small limits for one test (the app is shared by the run)."""
    def set_(per_token=0, per_address=0, window=60):
        monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_TOKEN", per_token)
        monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_ADDRESS", per_address)
        monkeypatch.setitem(app.config, "API_RATE_LIMIT_WINDOW_SECONDS", window)
    return set_


def _token(user, name="集成"):
    _, text = create_token(user, name)
    db.session.commit()
    return {"Authorization": f"Bearer {text}"}


def test_the_limit_reached_answers_429_with_retry_after(world, client, limits):
    limits(per_token=3)
    auth = _token(world.operator)
    at(datetime(2026, 11, 23, 10, 0, 15))
    answers = [client.get(MISSING, headers=auth) for _ in range(3)]
    assert [r.status_code for r in answers] == [404, 404, 404]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == "3" and answers[0].headers["X-RateLimit-Reset"] == "45"
    refused = client.get(MISSING, headers=auth)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "45"
    error = refused.json["error"]
    assert error["code"] == "RATE_LIMITED" and "每个令牌每 60 秒最多 3 次" in error["message"]
    assert error["details"] == {"limit": 3, "window_seconds": 60, "scope": "token"}
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    # POSTs count the same, and nothing is done when refused
    r = client.post(f"{MISSING}/sign", headers=auth, json={"version": 1})
    assert r.status_code == 429
    # the next window starts afresh
    at(datetime(2026, 11, 23, 10, 1, 0))
    again = client.get(MISSING, headers=auth)
    assert again.status_code == 404 and again.headers["X-RateLimit-Remaining"] == "2"


def test_windows_are_separate_and_aligned(world, client, limits):
    limits(per_token=2, window=3600)
    auth = _token(world.operator)
    at(datetime(2026, 11, 23, 10, 59, 59))
    assert [client.get(MISSING, headers=auth).status_code for _ in range(3)] == [404, 404, 429]
    at(datetime(2026, 11, 23, 11, 0, 0))  # one second later, the next hour
    assert [client.get(MISSING, headers=auth).status_code for _ in range(3)] == [404, 404, 429]
    assert client.get(MISSING, headers=auth).headers["Retry-After"] == "3600"
    assert window(datetime(2026, 11, 23, 11, 30), 3600) == (datetime(2026, 11, 23, 11), datetime(2026, 11, 23, 12))


def test_two_tokens_are_counted_apart(world, client, limits):
    limits(per_token=2)
    first, second = _token(world.operator, "甲"), _token(world.dispatcher, "乙")
    assert [client.get(MISSING, headers=first).status_code for _ in range(3)] == [404, 404, 429]
    assert [client.get(MISSING, headers=second).status_code for _ in range(2)] == [404, 404]
    # a bad token is limited too (before it is looked up), on its own count
    bad = {"Authorization": "Bearer hl_not-a-token"}
    assert [client.get(MISSING, headers=bad).status_code for _ in range(3)] == [401, 401, 429]


def test_the_address_limit_holds_across_tokens(world, client, limits):
    limits(per_token=10, per_address=3)
    tokens = [_token(world.operator, "甲"), _token(world.dispatcher, "乙")]
    here = {"REMOTE_ADDR": "10.0.0.7"}
    codes = [client.get(MISSING, headers=tokens[i % 2], environ_base=here).status_code for i in range(4)]
    assert codes == [404, 404, 404, 429]
    refused = client.get(MISSING, headers=tokens[1], environ_base=here)
    assert refused.json["error"]["details"]["scope"] == "address"
    assert refused.headers["X-RateLimit-Limit"] == "3"  # the tighter limit is the one reported
    # unauthenticated requests count against the address as well; another address is free
    assert client.get("/api/v1/openapi.json", environ_base=here).status_code == 429
    assert client.get(MISSING, headers=tokens[0], environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 404


def test_zero_turns_a_limit_off(world, client, limits):
    limits(per_token=0, per_address=0)
    auth = _token(world.operator)
    r = client.get(MISSING, headers=auth)
    assert r.status_code == 404 and "X-RateLimit-Limit" not in r.headers
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RateLimitHit)) == 0


def test_a_refused_request_is_counted_outside_the_unit_of_work(world, client, limits):
    """The counter has its own transaction: a request that fails (401, 404, rolled back)
    still counts, and the count is in the table at once."""
    limits(per_address=5)
    client.get(MISSING, headers={"Authorization": "Bearer nope"})
    client.post(f"{MISSING}/sign", headers={"Authorization": "Bearer nope"}, json={"version": 1})
    row = db.session.scalars(sa.select(RateLimitHit)).one()
    assert row.key == "api:addr:127.0.0.1" and row.count == 2
    assert row.window_start == datetime(2026, 11, 23, 9, 30) and row.expires_at == datetime(2026, 11, 23, 9, 31)


# --- shared by several processes ------------------------------------------------------------------

def _second_engine():
    """Another engine on the same database, as another worker process would have."""
    engine = sa.create_engine(db.engine.url)
    configure_engine(engine)
    return engine


def test_the_database_counter_is_shared_by_two_engines(app, world):
    db.session.commit()  # on SQLite an open session transaction would hold the write lock
    other = _second_engine()
    try:
        one, two = DatabaseCounter(db.engine), DatabaseCounter(other)
        now = datetime(2026, 11, 23, 10, 0, 30)
        results = [hit("login:operator", 4, 60, using=(one, two)[i % 2], now=now) for i in range(5)]
        assert [r.allowed for r in results] == [True, True, True, True, False]
        assert [r.remaining for r in results] == [3, 2, 1, 0, 0]
        assert results[0].reset_at == datetime(2026, 11, 23, 10, 1)
        with other.connect() as conn:
            assert conn.execute(sa.select(RateLimitHit.count)).scalar_one() == 5
    finally:
        other.dispose()


def test_expired_windows_are_cleaned_up(app, world):
    db.session.commit()
    counter = DatabaseCounter(db.engine)
    start = datetime(2026, 11, 23, 10, 0)
    for minute in range(3):
        hit("k", 10, 60, using=counter, now=start + timedelta(minutes=minute))
    # the first hit cleaned (nothing yet); the next ones were within CLEANUP_EVERY
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RateLimitHit)) == 3
    db.session.commit()
    hit("k", 10, 60, using=counter, now=start + counter.CLEANUP_EVERY)
    rows = db.session.execute(sa.select(RateLimitHit.window_start, RateLimitHit.count)).all()
    assert rows == [(start + counter.CLEANUP_EVERY, 1)]


def test_sqlite_refuses_to_count_inside_an_open_session_transaction(app, world, db_kind):
    if db_kind != "sqlite":
        pytest.skip("only SQLite's single writer lock needs the check")
    db.session.scalar(sa.select(sa.func.count()).select_from(RateLimitHit))  # begins a transaction
    with pytest.raises(RuntimeError, match="before the request's session begins a transaction"):
        hit("k", 1, 60, using=DatabaseCounter(db.engine))
    db.session.rollback()


def _redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        msg = f"Redis is not reachable at {REDIS_URL}: {exc}"
        if IN_CI:
            pytest.fail("CI=true and " + msg, pytrace=False)
        pytest.skip(msg + " (Redis tests skipped; start redis-server or set HOTLINE_TEST_REDIS_URL)")
    return client


@pytest.fixture
def redis_prefix():
    """A fresh key prefix per test; its keys are deleted afterwards."""
    prefix = f"hotline-test:{uuid.uuid4().hex}:"
    yield prefix
    client = _redis_client()
    for name in client.scan_iter(prefix + "*"):
        client.delete(name)


def test_redis_counter_is_shared_by_two_clients(redis_prefix):
    one, two = RedisCounter(_redis_client(), redis_prefix), RedisCounter(_redis_client(), redis_prefix)
    now = datetime(2026, 11, 23, 10, 0, 30)
    results = [hit("api:token:x", 3, 60, using=(one, two)[i % 2], now=now) for i in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert hit("api:token:y", 3, 60, using=two, now=now).remaining == 2  # another key
    assert hit("api:token:x", 3, 60, using=one, now=now + timedelta(seconds=30)).remaining == 2  # next window
    ttl = one.client.ttl(f"{redis_prefix}api:token:x@20261123T100000")
    assert 60 < ttl <= 120  # expires a minute after its window


def test_the_api_uses_redis_when_redis_url_is_set(world, client, limits, monkeypatch, redis_prefix):
    _redis_client()
    limits(per_token=2)
    monkeypatch.setitem(client.application.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setattr(RedisCounter, "PREFIX", redis_prefix)
    client.application.extensions.pop("hotline.ratelimit", None)
    try:
        auth = _token(world.operator)
        assert [client.get(MISSING, headers=auth).status_code for _ in range(3)] == [404, 404, 429]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RateLimitHit)) == 0
        assert len(list(_redis_client().scan_iter(redis_prefix + "*"))) == 1
    finally:
        client.application.extensions.pop("hotline.ratelimit", None)


def test_an_unreachable_redis_lets_requests_through(world, client, limits, monkeypatch, caplog):
    limits(per_token=1)
    monkeypatch.setitem(client.application.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens
    client.application.extensions.pop("hotline.ratelimit", None)
    try:
        auth = _token(world.operator)
        assert [client.get(MISSING, headers=auth).status_code for _ in range(2)] == [404, 404]
        assert "rate limit counter unavailable" in caplog.text
    finally:
        client.application.extensions.pop("hotline.ratelimit", None)
