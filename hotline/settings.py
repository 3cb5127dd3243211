"""The centre's process settings: where a city's practice differs, the admin sets it.

Each setting is a JSON value in the `settings` table under its key, with the default
(today's behaviour) declared where it is used: `value(KEY, DEFAULT)`. Operations read
them (from the per-process reference cache, hotline.refcache: a change bumps its version,
so every worker sees it on its next request); only the admin pages (and tests) write
them, inside their unit of work.
"""
from __future__ import annotations

import json
from typing import Any

from hotline import refcache
from hotline.admin.models import Setting
from hotline.extensions import db


def value(key: str, default: Any) -> Any:
    """The stored value of `key`, or `default` when unset or unreadable. Dict defaults
    are merged, so a stored dict may name only the entries it changes."""
    text = refcache.setting_text(key)
    if text is None:
        return default
    try:
        stored = json.loads(text)
    except ValueError:
        return default
    if isinstance(default, dict) and isinstance(stored, dict):
        return {**default, **stored}
    return stored


def store(key: str, data: Any) -> None:
    """Set `key` (flushes; the caller's unit of work commits)."""
    text = json.dumps(data, ensure_ascii=False)
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=text))
    else:
        row.value = text
    db.session.flush()
