"""Fixed-window rate limits that hold across every worker process.

    allowed, remaining, reset_at = hit("api:token:ab12…", limit=600, window_seconds=60)

A window is a slice of the app clock (`hotline.clock`) aligned to its length; each `hit`
adds one to the key's count in the current window and says whether the count is still
within the limit. The counts live where every process sees them: in Redis when
`REDIS_URL` is set (INCR + EXPIRE of every key in one MULTI), otherwise in the database table
`rate_limit_hits` (one atomic INSERT … ON CONFLICT DO UPDATE … RETURNING for all of a
request's keys, on a connection and transaction of its own, so a hit is neither part of the request's unit of
work nor undone by its rollback). Nothing here is API-specific: the API's per-token and
per-address limits (hotline/ratelimit/api.py) and a login throttle use the same `hit`.

Why not Flask-Limiter: its `limits` storages read `time.time()`, so windows could not
follow the app clock the tests set (they never sleep), and a database storage would have
to implement the library's whole storage interface (get, get_expiry, check, reset, clear,
moving windows) for the one operation used here.

On SQLite the counter's own transaction needs the write lock, which the request's session
holds once it has begun a transaction; so call `hit` before the request touches the
database (the API hook runs first of the blueprint's hooks), or it fails loudly rather
than waiting for a lock it can never get.
"""
from __future__ import annotations

import functools
import hashlib
import logging
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from hotline.clock import now as clock_now
from hotline.extensions import db
from hotline.ratelimit.models import RateLimitHit

log = logging.getLogger("hotline.ratelimit")
EPOCH = datetime(2000, 1, 1)  # windows are aligned to multiples of their length from here
MAX_KEY = 200  # the column's length; longer keys are hashed


class Hit(NamedTuple):
    allowed: bool
    remaining: int
    reset_at: datetime  # the end of the current window (app clock, naive local time)


def window(now: datetime, seconds: int) -> tuple[datetime, datetime]:
    """The fixed window of `seconds` that contains `now`: (start, end)."""
    if seconds < 1:
        raise ValueError("window_seconds must be at least 1")
    elapsed = int((now - EPOCH).total_seconds())
    start = EPOCH + timedelta(seconds=elapsed - elapsed % seconds)
    return start, start + timedelta(seconds=seconds)


@functools.lru_cache(maxsize=8)
def _upsert(n: int) -> sa.TextClause:
    """The counting upsert of `n` keys in one statement, the same SQL on PostgreSQL and
    SQLite. Text, so it is compiled once (SQLAlchemy does not cache the dialects' INSERT …
    ON CONFLICT constructs)."""
    rows = ", ".join(f"(:k{i}, :start, 1, :end)" for i in range(n))
    return sa.text(f"INSERT INTO rate_limit_hits (key, window_start, count, expires_at) VALUES {rows} "
                   "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_hits.count + 1 "
                   "RETURNING key, count").bindparams(sa.bindparam("start", type_=sa.DateTime()),
                                                     sa.bindparam("end", type_=sa.DateTime()))


def _short(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    return key[:MAX_KEY - 41] + "#" + hashlib.sha1(key.encode("utf-8")).hexdigest()


class DatabaseCounter:
    """Counts in `rate_limit_hits`, one row per key and window. Rows whose window has
    ended are deleted now and then (at most once per CLEANUP_EVERY per process)."""

    CLEANUP_EVERY = timedelta(minutes=10)
    unavailable: tuple[type[BaseException], ...] = ()  # without the database nothing works anyway

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.cleaned_at: datetime | None = None

    def incr(self, key: str, start: datetime, end: datetime, now: datetime) -> int:
        return self.incr_many([key], start, end, now)[key]

    def incr_many(self, keys: list[str], start: datetime, end: datetime, now: datetime) -> dict[str, int]:
        """One upsert for every key (a request's per-token and per-address counts), on a
        connection of its own: autocommit on PostgreSQL (no BEGIN / COMMIT round trips)."""
        if self.engine.dialect.name not in ("postgresql", "sqlite"):
            raise RuntimeError(f"rate limits need PostgreSQL or SQLite, not {self.engine.dialect.name}")
        self._check_not_inside_session()
        table = RateLimitHit.__table__
        keys = sorted(set(keys))  # one lock order for all
        params = {"start": start, "end": end, **{f"k{i}": k for i, k in enumerate(keys)}}
        cleanup = self.cleaned_at is None or now - self.cleaned_at >= self.CLEANUP_EVERY or now < self.cleaned_at
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                counts = dict(conn.execute(_upsert(len(keys)), params).all())
                if cleanup:
                    conn.execute(sa.delete(table).where(table.c.expires_at <= now))
        else:
            with self.engine.begin() as conn:
                counts = dict(conn.execute(_upsert(len(keys)), params).all())
                if cleanup:
                    conn.execute(sa.delete(table).where(table.c.expires_at <= now))
        if cleanup:
            self.cleaned_at = now
        return counts

    def get(self, key: str, start: datetime) -> int:
        self._check_not_inside_session()
        table = RateLimitHit.__table__
        with self.engine.begin() as conn:
            return conn.execute(sa.select(table.c.count).where(
                table.c.key == key, table.c.window_start == start)).scalar() or 0

    def _check_not_inside_session(self) -> None:
        if self.engine.dialect.name != "sqlite":
            return
        try:
            session_engine = db.engine
        except RuntimeError:  # no app context: not inside a request's session either
            return
        if session_engine.url == self.engine.url and db.session().in_transaction():
            raise RuntimeError("rate limit hit() on SQLite must run before the request's session begins a "
                               "transaction (that transaction holds the write lock the counter needs)")


class RedisCounter:
    """Counts in Redis: one key per key and window, expiring a minute after its window."""

    PREFIX = "hotline:ratelimit:"

    def __init__(self, client, prefix: str | None = None):
        import redis

        self.client, self.prefix = client, prefix or self.PREFIX
        self.unavailable = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

    @classmethod
    def from_url(cls, url: str, prefix: str | None = None) -> "RedisCounter":
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1), prefix)

    def incr(self, key: str, start: datetime, end: datetime, now: datetime) -> int:
        return self.incr_many([key], start, end, now)[key]

    def incr_many(self, keys: list[str], start: datetime, end: datetime, now: datetime) -> dict[str, int]:
        """Every key's INCR + EXPIRE in one MULTI (one round trip)."""
        ttl = int((end - start).total_seconds()) + 60
        keys = list(dict.fromkeys(keys))
        pipe = self.client.pipeline(transaction=True)
        for key in keys:
            name = f"{self.prefix}{key}@{start:%Y%m%dT%H%M%S}"
            pipe.incr(name)
            pipe.expire(name, ttl)
        replies = pipe.execute()
        return {key: int(replies[2 * i]) for i, key in enumerate(keys)}

    def get(self, key: str, start: datetime) -> int:
        return int(self.client.get(f"{self.prefix}{key}@{start:%Y%m%dT%H%M%S}") or 0)


def counter():
    """The app's counter: Redis when REDIS_URL is set, the database otherwise (one per
    app and URL, so a changed setting takes effect)."""
    url = current_app.config.get("REDIS_URL") or None
    counters = current_app.extensions.setdefault("hotline.ratelimit", {})
    if url not in counters:
        counters[url] = RedisCounter.from_url(url) if url else DatabaseCounter(db.engine)
    return counters[url]


def hit(key: str, limit: int, window_seconds: int, *, using=None, now: datetime | None = None) -> Hit:
    """Count one hit on `key` in the current window of `window_seconds`; allowed while
    the window's count is at most `limit`. `using` is a counter (the app's by default).
    If Redis cannot be reached the hit is allowed (logged): limits protect the service,
    they must not take it down."""
    return hit_many([(key, limit)], window_seconds, using=using, now=now)[0]


def hit_many(limits: list[tuple[str, int]], window_seconds: int, *, using=None,
             now: datetime | None = None) -> list[Hit]:
    """`hit` for several (key, limit) pairs at once, counted in one statement (or one
    Redis round trip); the results in the same order."""
    now = now or clock_now()
    start, end = window(now, window_seconds)
    store = using if using is not None else counter()
    keys = [_short(key) for key, _ in limits]
    try:
        counts = store.incr_many(keys, start, end, now)
    except store.unavailable as exc:
        log.warning("rate limit counter unavailable, allowing %s: %s", ", ".join(keys), exc)
        return [Hit(True, limit, end) for _, limit in limits]
    return [Hit(counts[k] <= limit, max(0, limit - counts[k]), end) for k, (_, limit) in zip(keys, limits)]


def peek(key: str, window_seconds: int, *, using=None, now: datetime | None = None) -> tuple[int, datetime]:
    """(count of `key` in the current window, the window's end), without adding to it: for
    limits that count only failures (sign-in) and must be checked before the attempt."""
    now = now or clock_now()
    start, end = window(now, window_seconds)
    store = using if using is not None else counter()
    try:
        count = store.get(_short(key), start)
    except store.unavailable as exc:
        log.warning("rate limit counter unavailable, reading 0 for %s: %s", key, exc)
        count = 0
    return count, end


def retry_after(result: Hit, now: datetime | None = None) -> int:
    """Whole seconds until the window resets (at least 1)."""
    seconds = (result.reset_at - (now or clock_now())).total_seconds()
    return max(1, int(seconds + 0.999))
