"""Error pages and template helpers shared by every blueprint."""
import sqlalchemy.exc as sa_exc
from flask import Flask, current_app, render_template, request
from flask_login import current_user

from hotline import enums
from hotline.api.errors import from_domain, from_http, is_api, response as api_response
from hotline.audit.services import record_now
from hotline.clock import now
from hotline.errors import DomainError, PermissionDenied
from hotline.extensions import db
from hotline.notifications.services import unread_count
from hotline.security import PAGE_INVALID


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
        if isinstance(err, PermissionDenied):
            record_now("refused", detail={"code": err.code, "method": request.method})
        if is_api(request.path):
            return from_domain(err)
        return render_template("error.html", message=err.message), err.status

    @app.errorhandler(403)
    def _forbidden(err):
        record_now("refused", detail={"method": request.method})
        if is_api(request.path):
            return from_http(err)
        return render_template("error.html", message="您无权访问该页面"), 403

    @app.errorhandler(404)
    def _not_found(err):
        if is_api(request.path):
            return from_http(err)
        return render_template("error.html", message="页面不存在，请检查地址是否正确"), 404

    @app.errorhandler(400)
    def _bad_request(err):
        if is_api(request.path):
            return from_http(err)
        return _error_page(err.description if err.description == PAGE_INVALID else
                           "请求无效，请返回上一页检查填写的内容后重试", 400)

    @app.errorhandler(405)
    def _method(err):
        if is_api(request.path):
            return from_http(err)
        return _error_page("不支持该操作方式，请从页面上的按钮进入", 405)

    @app.errorhandler(413)
    def _too_large(err):
        """Refused from Content-Length before the body is read. The page sends the user back
        to the form, where hotline.js brings back what was typed (kept in the browser at
        submit time); the form page also checks file sizes before sending."""
        if is_api(request.path):
            return from_http(err)
        limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        back = safe_back()
        return render_template("error.html", message=f"提交的内容过大（附件总计不能超过 {limit} MB），未保存。"
                               "请返回表单（已填写的文字会恢复），压缩或减少附件后再提交。",
                               back=back, restore_draft=True), 413

    @app.errorhandler(429)
    def _too_many(err):
        if is_api(request.path):
            return from_http(err)
        return _error_page("操作过于频繁，请稍后再试", 429)

    @app.errorhandler(sa_exc.DataError)
    def _data_error(err):
        """Text the database cannot store (a NUL byte on PostgreSQL) or a number out of range
        that slipped past the forms: refused, nothing stored."""
        db.session.rollback()
        if is_api(request.path):
            return api_response(400, "INVALID_INPUT", "提交的内容含有无法保存的字符或超出范围的数值")
        return _error_page("提交的内容含有无法保存的字符（如控制字符）或超出范围的数值，请返回修改后重试", 400)

    @app.errorhandler(500)
    def _server_error(err):
        db.session.rollback()
        if is_api(request.path):
            return api_response(500, "INTERNAL", "服务器内部错误，请稍后重试")
        return _error_page("服务器内部错误，操作未完成，请稍后重试；如反复出现请联系系统管理员", 500)


def _error_page(message: str, status: int):
    return render_template("error.html", message=message), status


def safe_back() -> str:
    """The form page to go back to: this path (forms post to their own page) as a GET."""
    from hotline.auth.views import safe_next

    return safe_next(request.full_path.rstrip("?"))
