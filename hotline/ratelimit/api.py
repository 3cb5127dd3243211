"""Rate limits on `/api/v1/` and `/open311/v2/`: per token (API_RATE_LIMIT_PER_TOKEN) and
per client address (API_RATE_LIMIT_PER_ADDRESS), each per API_RATE_LIMIT_WINDOW_SECONDS; 0
turns a limit off. Checked before the token is even looked up, so a flood of bad tokens is
refused cheaply too; both counts are taken in one statement (or one Redis round trip).
Over the limit: 429 with Retry-After (the API's RATE_LIMITED error, or Open311's error
list); every answer carries X-RateLimit-Limit / -Remaining / -Reset (seconds until the
window resets) of the tighter of the two limits.

The API's token is its bearer token; Open311's is the `api_key` of a POST (reading is
public, so only the address counts there). A token is counted under the same key on both
surfaces: one budget per token.
"""
from __future__ import annotations

from typing import Callable

from flask import current_app, g, request

from hotline.api.auth import bearer_token, digest
from hotline.api.errors import response
from hotline.clock import now as clock_now
from hotline.ratelimit.services import hit_many, retry_after

WHO = {"token": "每个令牌", "address": "每个来源地址"}


def _checks(token: str | None) -> list[tuple[str, str, int]]:
    cfg = current_app.config
    out = []
    if token and cfg.get("API_RATE_LIMIT_PER_TOKEN"):
        out.append(("token", "api:token:" + digest(token)[:40], int(cfg["API_RATE_LIMIT_PER_TOKEN"])))
    if cfg.get("API_RATE_LIMIT_PER_ADDRESS"):
        out.append(("address", "api:addr:" + (request.remote_addr or "unknown"), int(cfg["API_RATE_LIMIT_PER_ADDRESS"])))
    return out


def _headers(limit: int, result, now) -> dict:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(result.remaining),
            "X-RateLimit-Reset": str(retry_after(result, now))}


def api_refusal(message: str, details: dict, headers: dict):
    return response(429, "RATE_LIMITED", message, details=details, headers=headers)


def limiter(token_of: Callable[[], str | None] = bearer_token, refuse: Callable = api_refusal):
    """A before_request hook: count the request against each limit; `refuse(message,
    details, headers)` answers when one is exceeded."""

    def limit_request():
        seconds = int(current_app.config.get("API_RATE_LIMIT_WINDOW_SECONDS", 60))
        checks = _checks(token_of())
        if not checks:
            return None
        now = clock_now()
        results = hit_many([(key, limit) for _, key, limit in checks], seconds, now=now)
        i = min(range(len(checks)), key=lambda j: (results[j].allowed, results[j].remaining))  # the tightest
        (who, _, limit), result = checks[i], results[i]
        g.rate_limit_headers = _headers(limit, result, now)
        if result.allowed:
            return None
        wait = retry_after(result, now)
        return refuse(f"请求过于频繁：{WHO[who]}每 {seconds} 秒最多 {limit} 次，请 {wait} 秒后再试",
                      {"limit": limit, "window_seconds": seconds, "scope": who},
                      {"Retry-After": str(wait), **g.rate_limit_headers})

    return limit_request


limit_request = limiter()


def add_headers(resp):
    """after_request: the X-RateLimit-* headers on every answer that was counted."""
    for name, value in (g.get("rate_limit_headers") or {}).items():
        resp.headers.setdefault(name, value)
    return resp


def register(bp, *, token_of: Callable[[], str | None] = bearer_token, refuse: Callable = api_refusal) -> None:
    """Install on a blueprint; register before its authentication hook so it runs first."""
    bp.before_request(limit_request if (token_of, refuse) == (bearer_token, api_refusal)
                      else limiter(token_of, refuse))
    bp.after_request(add_headers)
