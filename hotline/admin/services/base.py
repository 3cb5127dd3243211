"""What every admin operation uses: the flush that turns a constraint clash into a
Chinese refusal, trimmed text and the row an id refers to."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from hotline.errors import ValidationFailed, clean_text
from hotline.extensions import db


@contextmanager
def flushing():
    """Flush what the block changed; a clash with a row someone else just stored becomes a
    ValidationFailed (the caller's unit of work rolls everything back)."""
    try:
        yield
        db.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed("保存失败：与其他记录冲突（可能刚被他人修改），请刷新后重试", code="CONFLICT") from exc


def text(value, label: str, field: str, max_len: int, required: bool = True) -> str:
    return clean_text(value, field, label, required=required, max_len=max_len)


def get_row(model, ident, label: str, field: str, required: bool = True):
    """The row `ident` refers to; None for an empty optional reference."""
    if ident in (None, "", 0):
        if required:
            raise ValidationFailed(f"请选择{label}", field=field)
        return None
    try:
        obj = db.session.get(model, int(ident))
    except (TypeError, ValueError):
        obj = None
    if obj is None:
        raise ValidationFailed(f"{label}不存在", field=field)
    return obj
