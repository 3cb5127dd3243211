"""Sending the outbox: the `webhooks` scheduler job.

Each run claims the due deliveries (pending, next_attempt_at <= now, subscription active)
in a short transaction: on PostgreSQL with FOR UPDATE SKIP LOCKED, and it moves their
next attempt a lease ahead, so a second scheduler neither waits for nor re-sends them.
Then each one is POSTed outside any transaction (an HTTP call never holds a lock), and its
outcome is committed at once with a WebhookAttempt row: 2xx is delivered; anything else
(another status, a timeout, a refused connection) is retried after the next back-off
delay (WEBHOOK_RETRY_DELAYS) until WEBHOOK_MAX_ATTEMPTS, then it is failed. A sender that
dies mid-send leaves the delivery to be retried when the lease runs out: delivery is at
least once, and receivers tell repeats apart by `X-Hotline-Delivery`.

Signature: `X-Hotline-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
with `X-Hotline-Timestamp` the Unix time of the attempt, so a receiver can verify both the
body and its freshness.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from hotline.clock import TZ
from hotline.clock import now as clock_now
from hotline.extensions import db
from hotline.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

DEFAULT_RETRY_DELAYS = (60, 300, 1800, 7200, 43200, 86400, 86400)
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_TIMEOUT = 5.0
BATCH = 50
USER_AGENT = "hotline-webhooks/1"


@dataclass(frozen=True)
class Outgoing:
    """What one send needs, read before the claim commits (no ORM access while sending)."""
    id: int
    attempts: int
    event_type: str
    payload: dict
    url: str
    secret: str


@dataclass(frozen=True)
class Outcome:
    status: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def settings() -> tuple[tuple[int, ...], int, float]:
    cfg = current_app.config
    return (tuple(cfg.get("WEBHOOK_RETRY_DELAYS") or DEFAULT_RETRY_DELAYS),
            int(cfg.get("WEBHOOK_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS),
            float(cfg.get("WEBHOOK_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT))


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is not a delivery
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post(out: Outgoing, at: datetime, timeout: float) -> Outcome:
    """POST one delivery; never raises."""
    body = body_of(out.payload)
    timestamp = str(int(at.replace(tzinfo=TZ).timestamp()))
    request = urllib.request.Request(out.url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
        "X-Hotline-Event": out.event_type, "X-Hotline-Delivery": str(out.id),
        "X-Hotline-Timestamp": timestamp, "X-Hotline-Signature": signature(out.secret, timestamp, body)})
    started = time.monotonic()
    status, error = None, None
    try:
        with _opener.open(request, timeout=timeout) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        error = f"HTTP {exc.code} {exc.reason}"
    except Exception as exc:  # timeouts, refused connections, bad hosts: all retried
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}"
    duration = int((time.monotonic() - started) * 1000)
    if status is not None and not 200 <= status < 300 and error is None:
        error = f"HTTP {status}"
    return Outcome(status, error[:1000] if error else None, duration)


def claim(now: datetime, limit: int, lease: timedelta) -> list[Outgoing]:
    """The due deliveries, locked (skipping rows another sender holds) and leased; commits."""
    rows = db.session.execute(
        sa.select(WebhookDelivery.id, WebhookDelivery.attempts, WebhookDelivery.event_type, WebhookDelivery.payload,
                  WebhookSubscription.url, WebhookSubscription.secret)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now,
               WebhookSubscription.active.is_(True))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)).all()
    if rows:
        db.session.execute(sa.update(WebhookDelivery).where(WebhookDelivery.id.in_([r.id for r in rows]))
                           .values(next_attempt_at=now + lease))
    db.session.commit()
    return [Outgoing(*row) for row in rows]


def settle(out: Outgoing, outcome: Outcome, at: datetime, delays, max_attempts: int) -> str:
    """Store one attempt's outcome and the delivery's new state; commits."""
    attempts = out.attempts + 1
    values = dict(attempts=attempts, last_status=outcome.status, last_error=outcome.error)
    if outcome.ok:
        values.update(state="delivered", delivered_at=at, last_error=None)
    elif attempts >= max_attempts:
        values.update(state="failed")
    else:
        values.update(next_attempt_at=at + timedelta(seconds=delays[min(attempts, len(delays)) - 1]))
    db.session.execute(sa.update(WebhookDelivery).where(WebhookDelivery.id == out.id).values(**values))
    db.session.add(WebhookAttempt(delivery_id=out.id, at=at, status=outcome.status, error=outcome.error,
                                  duration_ms=outcome.duration_ms))
    db.session.commit()  # the job's boundary, per delivery: what went out is never lost
    return values.get("state", "retry")


def send_due(now: datetime | None = None, batch: int = BATCH, rounds: int = 10) -> dict:
    """Send the due deliveries, one commit per delivery; returns counts by outcome. Run as
    of `now` (tests, `jobs run --at`), every attempt is stamped `now`; otherwise each is
    stamped with the clock when it is sent."""
    fixed = now is not None
    now = now or clock_now()
    delays, max_attempts, timeout = settings()
    lease = timedelta(seconds=max(60, 4 * timeout))
    result = {"delivered": 0, "retry": 0, "failed": 0}
    for _ in range(rounds):
        claimed = claim(now, batch, lease)
        for out in claimed:
            at = now if fixed else clock_now()
            result[settle(out, post(out, at, timeout), at, delays, max_attempts)] += 1
        if len(claimed) < batch:
            break
    return result
