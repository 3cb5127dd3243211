"""The organisation: the unit tree (up to four levels), its codes, supervisors and
status. Users are created and changed in hotline.auth.services."""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from hotline.admin.services.base import flushing, get_row, text
from hotline.enums import UnitKind
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.routing.models import RoutingRule
from hotline.units.models import Unit, assign_path

MAX_LEVEL = 4
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def unit_tree() -> list[Unit]:
    """Every unit in tree order (parents before their children), supervisors loaded."""
    return list(db.session.scalars(
        sa.select(Unit).options(joinedload(Unit.supervisor)).order_by(Unit.path, Unit.id)))


def _subtree_depth(unit: Unit) -> int:
    """The deepest level found in the unit's subtree (the unit's own level if a leaf)."""
    return db.session.scalar(sa.select(sa.func.max(Unit.level)).where(Unit.path.startswith(unit.path))) \
        or unit.level


def _clean_unit(data: dict, unit: Unit | None) -> dict:
    code = text(data.get("code"), "单位编码", "code", 32)
    taken = sa.select(Unit.id).where(Unit.code == code)
    if unit is not None:
        taken = taken.where(Unit.id != unit.id)
    if db.session.scalar(taken):
        raise ValidationFailed(f"单位编码 {code} 已被使用", field="code")
    name = text(data.get("name"), "单位名称", "name", 100)
    try:
        kind = UnitKind.coerce(data.get("kind"))
    except ValueError:
        raise ValidationFailed("请选择单位类型", field="kind") from None

    parent = get_row(Unit, data.get("parent_id"), "上级单位", "parent_id", required=False)
    if parent is None and kind is not UnitKind.CENTRE:
        raise ValidationFailed("只有热线中心可以作为顶级单位，请选择上级单位", field="parent_id")
    if parent is not None and unit is not None and parent.is_within(unit):
        raise ValidationFailed("不能把单位移到它自己或它的下级单位之下", field="parent_id")
    level = parent.level + 1 if parent is not None else 1
    if level > MAX_LEVEL:
        raise ValidationFailed(f"单位最多 {MAX_LEVEL} 级：上级单位「{parent.name}」已是第 {parent.level} 级",
                               field="parent_id")
    moved = unit is None or parent is not unit.parent
    if moved and parent is not None and not parent.active:
        raise ValidationFailed(f"上级单位「{parent.name}」已停用", field="parent_id")
    if unit is not None and moved and _subtree_depth(unit) - unit.level + level > MAX_LEVEL:
        raise ValidationFailed(f"移到「{parent.name}」之下后，下级单位将超过第 {MAX_LEVEL} 级", field="parent_id")

    supervisor = get_row(Unit, data.get("supervisor_id"), "督导单位", "supervisor_id", required=False)
    if supervisor is not None and unit is not None and supervisor.id == unit.id:
        raise ValidationFailed("督导单位不能是本单位", field="supervisor_id")
    email = text(data.get("email"), "邮箱", "email", 200, required=False)
    if email and not EMAIL_RE.match(email):
        raise ValidationFailed("邮箱格式不正确", field="email")

    active = bool(data.get("active"))
    if unit is not None and unit.active and not active:
        _check_can_deactivate_unit(unit)
    if active and parent is not None and not parent.active:
        raise ValidationFailed(f"上级单位「{parent.name}」已停用，不能启用本单位", field="active")
    return dict(code=code, name=name, kind=kind, parent=parent, level=level, supervisor=supervisor,
                email=email or None, active=active)


def _check_can_deactivate_unit(unit: Unit) -> None:
    if db.session.scalar(sa.select(Unit.id).where(Unit.parent_id == unit.id, Unit.active.is_(True)).limit(1)):
        raise ValidationFailed("该单位还有启用的下级单位，请先停用下级单位", field="active")
    rules = db.session.scalar(sa.select(sa.func.count()).select_from(RoutingRule).where(
        RoutingRule.active.is_(True), RoutingRule.lead_unit_id == unit.id))
    if rules:
        raise ValidationFailed(f"该单位是 {rules} 条启用的派单规则的主办单位，请先修改这些派单规则",
                               field="active")


def create_unit(data: dict) -> Unit:
    clean = _clean_unit(data, None)
    with flushing():
        unit = Unit(**clean)
        db.session.add(unit)
        db.session.flush()
        assign_path(unit)
    return unit


def update_unit(unit: Unit, data: dict) -> Unit:
    """Change a unit; moving it under another parent re-paths and re-levels its subtree."""
    clean = _clean_unit(data, unit)
    with flushing():
        old_path, old_level = unit.path, unit.level
        moved = clean["parent"] is not unit.parent
        for key, value in clean.items():
            setattr(unit, key, value)
        if moved:
            assign_path(unit)
            shift = unit.level - old_level
            below = db.session.scalars(sa.select(Unit).where(Unit.path.startswith(old_path), Unit.id != unit.id))
            for sub in below:
                sub.path = unit.path + sub.path[len(old_path):]
                sub.level += shift
    return unit
