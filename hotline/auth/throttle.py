"""Sign-in throttling: failed sign-ins are counted per account name and per client address
in fixed windows shared by every worker process (hotline.ratelimit: Redis when REDIS_URL is
set, the database otherwise). Once either count reaches its limit, sign-ins for that
account or from that address are refused until the window ends, without checking any
password (so a flood costs no hashing). Account names are counted whether or not they
exist, and an unknown name is checked against a dummy hash, so the answer and its time
say nothing about which names exist.

On SQLite the counter needs the write lock: call these before the request's session
begins a transaction, or after it has ended (the login view does both).
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from hotline.ratelimit.services import hit, peek


class Lock(NamedTuple):
    scope: str  # "account" or "address"
    until: datetime


def _keys(username: str, address: str) -> dict[str, tuple[str, int]]:
    cfg = current_app.config
    return {
        "account": (f"login:account:{(username or '').strip().lower()[:64]}", cfg["LOGIN_FAILURES_PER_ACCOUNT"]),
        "address": (f"login:address:{address}", cfg["LOGIN_FAILURES_PER_ADDRESS"]),
    }


def _window() -> int:
    return current_app.config["LOGIN_LOCKOUT_SECONDS"]


def locked(username: str, address: str) -> Lock | None:
    """The lock that refuses this sign-in now, if any."""
    for scope, (key, limit) in _keys(username, address).items():
        if limit <= 0:
            continue
        count, until = peek(key, _window())
        if count >= limit:
            return Lock(scope, until)
    return None


def failed(username: str, address: str) -> Lock | None:
    """Count a failed sign-in; the lock it has just started, if it reached a limit."""
    started = None
    for scope, (key, limit) in _keys(username, address).items():
        if limit <= 0:
            continue
        result = hit(key, limit, _window())
        if result.remaining == 0 and started is None:
            started = Lock(scope, result.reset_at)
    return started


def dummy_check(password: str) -> None:
    """The same hashing work as a real check, for a name that has no account."""
    store = current_app.extensions.setdefault("hotline.auth", {})
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt:131072:8:1")
    if store.get("dummy_method") != method:
        store["dummy_hash"] = generate_password_hash("not-a-password-of-anyone", method=method)
        store["dummy_method"] = method
    check_password_hash(store["dummy_hash"], password or "")
