"""Users and their roles."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from hotline.units.models import Unit
from hotline.enums import Role, enum_column
from hotline.extensions import db


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_column(Role), primary_key=True)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    #: 职务 (e.g. 分管领导, 主要领导): on the record of a leader's sign-off and instructions.
    title: Mapped[str] = mapped_column(sa.String(50), default="", server_default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    #: Bumped whenever the user's sessions must end (logout, password, roles, unit, status):
    #: part of the id kept in the session and the remember-me cookie, so older cookies fail.
    session_gen: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Set when someone else (an admin) chose the password: changed at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    unit: Mapped[Unit] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> set[Role]:
        return {r.role for r in self.role_rows}

    def set_roles(self, roles) -> None:
        wanted = {Role.coerce(r) for r in roles}
        if self.id is not None and wanted != self.roles:
            self.end_sessions()
        self.role_rows = [r for r in self.role_rows if r.role in wanted]
        have = {r.role for r in self.role_rows}
        for role in sorted(wanted - have, key=lambda r: r.value):
            self.role_rows.append(UserRole(role=role))

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt:131072:8:1")
        self.password_hash = generate_password_hash(password, method=method)
        self.end_sessions()

    def end_sessions(self) -> None:
        """Every session and remember-me cookie issued before now stops working."""
        self.session_gen = (self.session_gen or 0) + 1

    def get_id(self) -> str:  # Flask-Login: kept in the session and the remember-me cookie
        return f"{self.id}.{self.session_gen or 0}"

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.username}>"
