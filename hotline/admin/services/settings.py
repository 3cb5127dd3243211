"""Settings: single values the admin switches, stored as key/value rows."""
from __future__ import annotations

from hotline.admin.models import Setting
from hotline.admin.services.base import flushing
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.reports.definitions import Definitions, save, validate

AUTO_DISPATCH = "auto_dispatch"


def get_setting(key: str, default: str | None = None) -> str | None:
    row = db.session.get(Setting, key)
    return default if row is None else row.value


def set_setting(key: str, value) -> None:
    """Store one setting (flushes; the caller commits)."""
    value = "" if value is None else str(value)
    if len(value) > 400:
        raise ValidationFailed("设置值不能超过 400 个字", field="value")
    with flushing():
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value))
        else:
            row.value = value


def save_report_definitions(data: dict) -> Definitions:
    """Check and store the counting definitions (统计口径) (flushes; the caller commits);
    a broken rule is a ValidationFailed with its Chinese message, and nothing is stored."""
    try:
        defs = validate(data)
    except ValueError as err:
        raise ValidationFailed(str(err)) from None
    save(defs)
    return defs
