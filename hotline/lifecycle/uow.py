"""One unit of work per request, CLI command or job.

Operations change the session and flush; they never commit. The boundary — a page
handler, an API route, a CLI command, a scheduler job — wraps its work in
`unit_of_work()`, which commits once on success and rolls back everything on any error,
so a multi-row action is stored whole or not at all. Outside effects (mail, webhooks)
are written as outbox rows in the same transaction and handed to their senders only
after the commit (`after_commit`).
"""
from __future__ import annotations

import contextlib
import functools
import logging
from typing import Callable

from sqlalchemy.orm.exc import StaleDataError

from hotline.errors import StaleVersion
from hotline.extensions import db

log = logging.getLogger("hotline.lifecycle")
_AFTER_COMMIT_KEY = "hotline_after_commit"


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current unit of work has committed (never if it rolls back)."""
    db.session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


@contextlib.contextmanager
def unit_of_work(*, keep_loaded: bool = False):
    """Commit once at the end, or roll back whole. A lost optimistic-lock race (the
    ORM's version check on UPDATE) surfaces as StaleVersion.

    `keep_loaded`: the session's objects keep what they hold after the commit instead of
    being expired, so an answer can be built from exactly what was written after the
    commit without reading it back (the API's create builds its answer outside the
    transaction, whose row lock on the day's ticket number every other intake waits for)."""
    session = db.session
    real = session()
    expire = real.expire_on_commit
    try:
        yield session
        real.expire_on_commit = expire and not keep_loaded
        session.commit()
    except StaleDataError:
        session.rollback()
        session.info.pop(_AFTER_COMMIT_KEY, None)
        raise StaleVersion() from None
    except BaseException:
        session.rollback()
        session.info.pop(_AFTER_COMMIT_KEY, None)
        raise
    finally:
        real.expire_on_commit = expire
    for callback in session.info.pop(_AFTER_COMMIT_KEY, []):
        try:
            callback()
        except Exception:  # an outside effect never undoes what was stored
            log.exception("after-commit callback failed")


def committed(fn):
    """Decorator for a boundary function (CLI command, job): one unit of work around it."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with unit_of_work():
            return fn(*args, **kwargs)

    return wrapper
