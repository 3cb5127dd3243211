"""Accounts: creating users and checking logins."""
from __future__ import annotations

import sqlalchemy as sa

from hotline.admin.models import Unit
from hotline.auth.models import User
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


def create_user(username: str, password: str, roles, unit: Unit, display_name: str | None = None) -> User:
    username = (username or "").strip()
    if not username:
        raise ValidationFailed("请填写用户名", field="username")
    if len(password or "") < 8:
        raise ValidationFailed("密码至少 8 位", field="password")
    try:
        roles = {Role.coerce(r) for r in roles}
    except ValueError:
        raise ValidationFailed("角色无效，可选：" + ", ".join(r.value for r in Role), field="roles") from None
    if not roles:
        raise ValidationFailed("至少选择一个角色", field="roles")
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise ValidationFailed(f"用户名 {username} 已存在", field="username")
    user = User(username=username, display_name=display_name or username, unit=unit)
    user.set_password(password)
    user.set_roles(roles)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalars(sa.select(User).where(User.username == (username or "").strip())).first()
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    return user
