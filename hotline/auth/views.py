from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from hotline import refcache
from hotline.auth.forms import LoginForm
from hotline.auth.models import User
from hotline.auth.services import authenticate
from hotline.extensions import db, login_manager

bp = Blueprint("auth", __name__)


#: The session's user with unit and roles, and the reference data's version (built once)
USER_BY_ID = (sa.select(User, refcache.version_column()).where(User.id == sa.bindparam("user_id"))
              .options(joinedload(User.role_rows)))


@login_manager.user_loader
def load_user(user_id: str):
    """The session's user with unit and roles in one query (every page asks for the roles),
    which also reads the reference data's version (hotline.refcache)."""
    row = db.session.execute(USER_BY_ID, {"user_id": int(user_id)}).unique().first()
    if row is None:
        return None
    refcache.note_version(row[1])
    return row[0]


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only a path on this site (no scheme, host or protocol-relative //): no open redirect."""
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return default or url_for("tickets.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("tickets.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is None:
            form.password.errors.append("用户名或密码错误")
        else:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("已退出登录", "info")
    return redirect(url_for("auth.login"))
