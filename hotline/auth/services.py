"""Accounts: creating and changing users, checking logins. Operations flush; the caller
(an admin page, a CLI command, the demo loader) commits in its unit of work."""
from __future__ import annotations

import sqlalchemy as sa

from hotline.units.models import Unit
from hotline.auth.models import User, UserRole
from hotline.auth.passwords import check_password_rules
from hotline.auth.throttle import dummy_check
from hotline.enums import Role
from hotline.errors import ValidationFailed
from hotline.extensions import db


def find_unit(ref: str) -> Unit | None:
    """A unit by code, exact name or id."""
    ref = (ref or "").strip()
    cond = [Unit.code == ref, Unit.name == ref]
    if ref.isdigit():
        cond.append(Unit.id == int(ref))
    return db.session.scalars(sa.select(Unit).where(sa.or_(*cond)).limit(1)).first()


def create_user(username: str, password: str, roles, unit: Unit, display_name: str | None = None, *,
                must_change: bool = True, check_rules: bool = True) -> User:
    """A new account. Its password was chosen by someone else (an admin, the CLI), so by
    default the user must change it at the first sign-in. Only the demo loader, whose
    passwords are published, skips the rules and the forced change."""
    username = (username or "").strip()
    if not username:
        raise ValidationFailed("请填写用户名", field="username")
    if check_rules:
        check_password_rules(password, username, display_name or "")
    roles = _clean_roles(roles)
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise ValidationFailed(f"用户名 {username} 已存在", field="username")
    user = User(username=username, display_name=display_name or username, unit=unit,
                must_change_password=must_change)
    user.set_password(password)
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with this name and password, or None. The same hashing work is done
    whether the name exists or not (no enumeration by timing)."""
    user = db.session.scalars(sa.select(User).where(User.username == (username or "").strip()[:64])).first()
    if user is None:
        dummy_check(password)
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user


def change_password(user: User, current: str, new: str) -> User:
    """The user's own change: the current password, then the rules; every other session of
    the user ends (the caller signs this one in again)."""
    if not user.check_password(current or ""):
        raise ValidationFailed("当前密码不正确", field="current_password")
    if current == new:
        raise ValidationFailed("新密码不能与当前密码相同", field="new_password")
    check_password_rules(new, user.username, user.display_name, field="new_password")
    user.set_password(new)
    user.must_change_password = False
    db.session.flush()
    return user


def _clean_roles(roles) -> set[Role]:
    try:
        roles = {Role.coerce(r) for r in roles or ()}
    except ValueError:
        raise ValidationFailed("角色无效，可选：" + ", ".join(r.value for r in Role), field="roles") from None
    if not roles:
        raise ValidationFailed("至少选择一个角色", field="roles")
    return roles


def update_user(user: User, display_name: str, unit: Unit, roles, active: bool,
                password: str | None = None) -> User:
    """Change a user's name, unit, roles and status, and reset the password when one is
    given. The last active admin cannot lose the admin role or be deactivated, so the
    system never locks its administrators out."""
    display_name = (display_name or "").strip()
    if not display_name:
        raise ValidationFailed("请填写姓名", field="display_name")
    if len(display_name) > 100:
        raise ValidationFailed("姓名不能超过 100 个字", field="display_name")
    if unit is None:
        raise ValidationFailed("请选择所属单位", field="unit_id")
    if unit.id != user.unit_id and not unit.active:
        raise ValidationFailed(f"单位「{unit.name}」已停用", field="unit_id")
    roles = _clean_roles(roles)
    if password:
        check_password_rules(password, user.username, display_name)
    active = bool(active)
    if user.active and Role.ADMIN in user.roles and not (active and Role.ADMIN in roles):
        others = db.session.scalar(
            sa.select(sa.func.count()).select_from(User).join(UserRole)
            .where(UserRole.role == Role.ADMIN, User.active.is_(True), User.id != user.id))
        if not others:
            raise ValidationFailed("系统至少需要一名启用的系统管理员，不能停用或取消最后一名管理员",
                                   field="roles" if active else "active")
    if active != user.active or unit.id != user.unit_id:
        user.end_sessions()
    user.display_name, user.unit, user.active = display_name, unit, active
    user.set_roles(roles)
    if password:  # an admin's reset: the user chooses their own at the next sign-in
        user.set_password(password)
        user.must_change_password = True
    db.session.flush()
    return user
