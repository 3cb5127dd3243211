"""Reading the organisation tree: choices for the pages' unit pickers."""
from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_request_context

from hotline.enums import UnitKind
from hotline.extensions import db
from hotline.units.models import Unit


def unit_choices(root: Unit | None = None, *, include_root=False) -> list[tuple[int, str]]:
    """Active units (not the centre), indented by level; below `root` when given."""
    stmt = sa.select(Unit).where(Unit.active.is_(True), Unit.kind != UnitKind.CENTRE).order_by(Unit.path)
    if root is not None:
        stmt = stmt.where(Unit.path.startswith(root.path))
        if not include_root:
            stmt = stmt.where(Unit.id != root.id)
    return [(u.id, "　" * max(u.level - 2, 0) + u.name) for u in db.session.scalars(stmt)]


def district_choices() -> list[tuple[int, str]]:
    """Every district (inactive ones too: old tickets keep theirs), plus "none given" (0)."""
    units = db.session.scalars(sa.select(Unit).where(Unit.kind == UnitKind.DISTRICT).order_by(Unit.path))
    return [(0, "未填写区县")] + [(u.id, u.name) for u in units]


def subtree_ids(unit: Unit) -> list[int]:
    """The ids of `unit` and of every unit below it (one prefix query on the path index),
    read once per request: the ticket scopes then compare assignment unit ids with this
    list instead of joining units and matching paths for every assignment."""
    cache = g.setdefault("unit_subtree_ids", {}) if has_request_context() else {}
    key = (unit.id, unit.path)
    if key not in cache:
        cache[key] = list(db.session.scalars(sa.select(Unit.id).where(Unit.path.startswith(unit.path))))
    return cache[key]
