"""The notification list (the bell)."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from hotline.auth.views import safe_next
from hotline.clock import now as clock_now
from hotline.extensions import db
from hotline.lifecycle import unit_of_work
from hotline.notifications.services import mark_read, notifications_for
from hotline.security import page_arg

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@login_required
def notifications():
    page = page_arg()
    unread = request.args.get("unread") == "1"
    pagination = db.paginate(notifications_for(current_user, unread_only=unread), page=page, per_page=50,
                             error_out=True)
    return render_template("notifications/list.html", pagination=pagination, unread=unread, form=FlaskForm())


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read():
    form = FlaskForm()
    if not form.validate_on_submit():
        flash("页面已过期，请重试", "error")
        return redirect(url_for("notifications.notifications"))
    with unit_of_work():
        n = mark_read(current_user, request.form.getlist("id") or None, clock_now())
    flash(f"已标记 {n} 条为已读", "success")
    return redirect(safe_next(request.form.get("next"), url_for("notifications.notifications")))
