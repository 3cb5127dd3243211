from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from hotline import refcache
from hotline.audit.services import record, record_now
from hotline.auth import throttle
from hotline.auth.forms import LoginForm, PasswordChangeForm
from hotline.auth.models import User
from hotline.auth.services import authenticate, change_password as change_own_password
from hotline.errors import DomainError
from hotline.extensions import db, login_manager
from hotline.lifecycle import unit_of_work
from hotline.ops.logs import note_user
from hotline.ops.metrics import LOGIN_FAILURES

bp = Blueprint("auth", __name__)
# What a user who must change an admin-set password may still reach.
OPEN_WHILE_CHANGE_PENDING = {"auth.change_password", "auth.logout", "static", "health.healthz", "health.readyz"}


#: The session's user with unit and roles, and the reference data's version (built once)
USER_BY_ID = (sa.select(User, refcache.version_column()).where(User.id == sa.bindparam("user_id"))
              .options(joinedload(User.role_rows)))


@login_manager.user_loader
def load_user(user_id: str):
    """`<id>.<session generation>`: the session's user with unit and roles in one query
    (every page asks for the roles), which also reads the reference data's version
    (hotline.refcache). A session or remember-me cookie made before the user's sessions
    were ended (logout, password, roles, unit, deactivation) loads nobody."""
    ident, _, gen = (user_id or "").partition(".")
    if not ident.isdigit() or not gen.isdigit() or len(ident) > 10:
        return None
    row = db.session.execute(USER_BY_ID, {"user_id": int(ident)}).unique().first()
    if row is None:
        return None
    refcache.note_version(row[1])
    user = row[0]
    if user.session_gen != int(gen):
        return None
    note_user(user)
    return user


#: Surfaces that authenticate by token, not by the session: the session's user is never
#: loaded for them (on SQLite, loading it would open the transaction whose write lock
#: their rate-limit counter must take first).
TOKEN_SURFACES = ("api", "open311")


@bp.before_app_request
def _password_change_pending():
    if request.endpoint in OPEN_WHILE_CHANGE_PENDING or request.blueprint in TOKEN_SURFACES:
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.change_password", next=request.full_path if request.method == "GET" else None))
    return None


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only a path on this site (no scheme, host or protocol-relative //): no open redirect."""
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return default or url_for("tickets.home")


def _minutes(until) -> int:
    from hotline.clock import now

    return max(1, int((until - now()).total_seconds() + 59) // 60)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("tickets.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        db.session.rollback()  # on SQLite the shared counters need the write lock this session may hold
        name, address = form.username.data.strip(), request.remote_addr or "unknown"
        lock = throttle.locked(name, address)
        if lock is not None:
            form.password.errors.append(f"登录失败次数过多，请 {_minutes(lock.until)} 分钟后再试")
            record_now("login_refused_locked", username=name, detail={"scope": lock.scope})
            LOGIN_FAILURES.labels("locked").inc()
            status = 429
        else:
            user = authenticate(name, form.password.data)
            if user is None:
                db.session.rollback()
                started = throttle.failed(name, address)
                record_now("login_failed", username=name)
                LOGIN_FAILURES.labels("wrong").inc()
                if started is not None:
                    record_now("login_locked", username=name, detail={"scope": started.scope,
                                                                      "until": started.until})
                form.password.errors.append("用户名或密码错误")
                status = 401
            else:
                login_user(user, remember=form.remember.data)
                with unit_of_work():
                    record("login", user=user)
                if user.must_change_password:
                    return redirect(url_for("auth.change_password", next=request.args.get("next")))
                return redirect(safe_next(request.args.get("next")))
    elif form.is_submitted():
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Ends this user's sessions everywhere: a copy of the cookie is worth nothing after."""
    user = db.session.get(User, current_user.id)
    with unit_of_work():
        user.end_sessions()
        record("logout", user=user)
    logout_user()
    flash("已退出登录", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        user = db.session.get(User, current_user.id)
        try:
            with unit_of_work():
                change_own_password(user, form.current_password.data, form.new_password.data)
                record("password_changed", user=user)
        except DomainError as err:
            getattr(form, err.details.get("field") or "new_password").errors.append(err.message)
            status = 400
        else:
            login_user(user)  # this session goes on with the new generation; all others end
            flash("密码已修改", "success")
            return redirect(safe_next(request.args.get("next")))
    elif form.is_submitted():
        status = 400
    return render_template("auth/password.html", form=form,
                           forced=current_user.must_change_password), status

