"""The audit trail's admin page (审计日志), the hooks that record downloads, and the
retention command."""
from __future__ import annotations

from datetime import datetime, timedelta

import click
import sqlalchemy as sa
from flask import Blueprint, Flask, abort, current_app, render_template, request
from flask_login import current_user

from hotline.audit.models import AuditEntry
from hotline.audit.services import purge, record_now, retention_days, track_changes
from hotline.enums import Role
from hotline.extensions import db
from hotline.lifecycle import unit_of_work
from hotline.security import page_arg

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
PER_PAGE = 50
ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "login_locked": "账号/地址锁定", "login_refused_locked": "锁定期间登录",
    "logout": "退出", "password_changed": "修改密码", "refused": "越权被拒", "download": "导出/下载",
    "report_generated": "生成报表", "admin_create": "管理新增", "admin_update": "管理修改",
    "admin_delete": "管理删除", "audit_purge": "清理审计日志",
}


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.has_role(Role.ADMIN):
        abort(403)
    return None


def _day(value: str | None):
    try:
        return datetime.strptime((value or "").strip(), "%Y-%m-%d")
    except ValueError:
        return None


@bp.route("")
def log():
    """Search by action, user name, address, object and day range (newest first)."""
    f = {k: (request.args.get(k) or "").strip()[:64] for k in ("action", "user", "address", "object", "since", "until")}
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if f["action"]:
        stmt = stmt.where(AuditEntry.action == f["action"])
    if f["user"]:
        stmt = stmt.where(AuditEntry.username.icontains(f["user"], autoescape=True))
    if f["address"]:
        stmt = stmt.where(AuditEntry.address.startswith(f["address"], autoescape=True))
    if f["object"]:
        stmt = stmt.where(sa.or_(AuditEntry.object_type.icontains(f["object"], autoescape=True),
                                 AuditEntry.object_id == f["object"],
                                 AuditEntry.path.icontains(f["object"], autoescape=True)))
    since, until = _day(f["since"]), _day(f["until"])
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until + timedelta(days=1))
    page = db.paginate(stmt, page=page_arg(), per_page=PER_PAGE, error_out=True)
    return render_template("audit/log.html", pagination=page, f=f, actions=ACTIONS,
                           retention=retention_days())


def _record_download(response):
    """Every export and attachment download answered, with who and what (the query)."""
    disposition = response.headers.get("Content-Disposition", "")
    if response.status_code == 200 and disposition.startswith("attachment") and request.endpoint != "static":
        filename = disposition.split("filename=", 1)[-1].strip('"')[:64] if "filename=" in disposition else ""
        record_now("download", object_type=request.endpoint or "", object_id=filename,
                   detail={"args": request.args.to_dict(flat=False)} if request.args else None)
    return response


def init_app(app: Flask) -> None:
    track_changes()
    app.register_blueprint(bp)
    app.after_request(_record_download)

    @app.cli.group("audit")
    def audit_cli():
        """The audit trail."""

    @audit_cli.command("purge")
    def purge_cmd():
        """Delete entries older than the retention period (流程设置, else
        HOTLINE_AUDIT_RETENTION_DAYS; 0 keeps everything). The scheduler's audit_purge job
        does the same every day."""
        days = retention_days()
        with unit_of_work():
            n = purge(days)
        click.echo(f"deleted {n} audit entries older than {days} days" if days else "retention is 0: nothing deleted")
