"""Error pages and template helpers shared by every blueprint."""
from flask import Flask, render_template, request
from flask_login import current_user

from hotline import enums
from hotline.api.errors import from_domain, from_http, is_api
from hotline.clock import now
from hotline.errors import DomainError
from hotline.notifications.services import unread_count


def _dt(value, fmt="%Y-%m-%d %H:%M"):
    return value.strftime(fmt) if value else ""


def _span(seconds: int) -> str:
    days, rest = divmod(abs(int(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{minutes}分"
    return f"{minutes}分钟"


def time_left(due):
    """(css class, text) for a deadline: ok / warning (under 24 hours) / overdue."""
    if due is None:
        return ("", "")
    seconds = (due - now()).total_seconds()
    if seconds < 0:
        return ("overdue", "已超期" + _span(seconds))
    return ("warning" if seconds < 86400 else "ok", "剩余" + _span(seconds))


def register_web(app: Flask) -> None:
    app.jinja_env.filters["dt"] = _dt
    app.jinja_env.globals["time_left"] = time_left

    @app.context_processor
    def _globals():
        def bell():
            return unread_count(current_user) if current_user.is_authenticated else 0

        return {"enums": enums, "now": now, "bell": bell}

    @app.errorhandler(DomainError)
    def _domain_error(err: DomainError):
        if is_api(request.path):
            return from_domain(err)
        return render_template("error.html", code=err.code, message=err.message), err.status

    @app.errorhandler(403)
    def _forbidden(err):
        if is_api(request.path):
            return from_http(err)
        return render_template("error.html", code="FORBIDDEN", message="您无权访问该页面"), 403

    @app.errorhandler(404)
    def _not_found(err):
        if is_api(request.path):
            return from_http(err)
        return render_template("error.html", code="NOT_FOUND", message="页面不存在"), 404
