"""Rate limits on `/api/v1/`: per bearer token (API_RATE_LIMIT_PER_TOKEN) and per client
address (API_RATE_LIMIT_PER_ADDRESS), each per API_RATE_LIMIT_WINDOW_SECONDS; 0 turns a
limit off. Checked before the token is even looked up, so a flood of bad tokens is
refused cheaply too. Over the limit: 429 RATE_LIMITED with Retry-After; every answer
carries X-RateLimit-Limit / -Remaining / -Reset (seconds until the window resets) of the
tighter of the two limits.
"""
from __future__ import annotations

from flask import current_app, g, request

from hotline.api.auth import bearer_token, digest
from hotline.api.errors import response
from hotline.clock import now as clock_now
from hotline.ratelimit.services import hit, retry_after

WHO = {"token": "每个令牌", "address": "每个来源地址"}


def _checks() -> list[tuple[str, str, int]]:
    cfg = current_app.config
    out = []
    token = bearer_token()
    if token and cfg.get("API_RATE_LIMIT_PER_TOKEN"):
        out.append(("token", "api:token:" + digest(token)[:40], int(cfg["API_RATE_LIMIT_PER_TOKEN"])))
    if cfg.get("API_RATE_LIMIT_PER_ADDRESS"):
        out.append(("address", "api:addr:" + (request.remote_addr or "unknown"), int(cfg["API_RATE_LIMIT_PER_ADDRESS"])))
    return out


def _headers(limit: int, result, now) -> dict:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(result.remaining),
            "X-RateLimit-Reset": str(retry_after(result, now))}


def limit_request():
    """before_request: count the request against each limit; 429 when one is exceeded."""
    seconds = int(current_app.config.get("API_RATE_LIMIT_WINDOW_SECONDS", 60))
    now = clock_now()
    tightest = None
    for who, key, limit in _checks():
        result = hit(key, limit, seconds, now=now)
        rank = (result.allowed, result.remaining)
        if tightest is None or rank < tightest[0]:
            tightest = (rank, who, limit, result)
    if tightest is None:
        return None
    _, who, limit, result = tightest
    g.rate_limit_headers = _headers(limit, result, now)
    if result.allowed:
        return None
    wait = retry_after(result, now)
    return response(429, "RATE_LIMITED", f"请求过于频繁：{WHO[who]}每 {seconds} 秒最多 {limit} 次，请 {wait} 秒后再试",
                    details={"limit": limit, "window_seconds": seconds, "scope": who},
                    headers={"Retry-After": str(wait), **g.rate_limit_headers})


def add_headers(resp):
    """after_request: the X-RateLimit-* headers on every answer that was counted."""
    for name, value in (g.get("rate_limit_headers") or {}).items():
        resp.headers.setdefault(name, value)
    return resp


def register(bp) -> None:
    """Install on a blueprint; register before its authentication hook so it runs first."""
    bp.before_request(limit_request)
    bp.after_request(add_headers)
