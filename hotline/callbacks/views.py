"""The callback agents' queue and the citizens' public status page."""
from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from hotline.callbacks.forms import StatusForm
from hotline.callbacks.queries import callback_queue, lookup_status, queue_details, rate_limited
from hotline.enums import Role
from hotline.extensions import db
from hotline.lifecycle import unit_of_work
from hotline.security import page_arg

bp = Blueprint("callbacks", __name__)


@bp.route("/callbacks")
@login_required
def queue():
    if not current_user.has_role(Role.CALLBACK_AGENT, Role.DISPATCHER, Role.SUPERVISOR, Role.MANAGER):
        abort(403)
    page = page_arg()
    pagination = db.paginate(callback_queue(), page=page, per_page=30, error_out=True)
    replies, attempts = queue_details(pagination.items)
    return render_template("callbacks/queue.html", pagination=pagination, replies=replies, attempts=attempts)


@bp.route("/status", methods=["GET", "POST"])
def status():
    """Public: a citizen checks their ticket with its number and the phone's last 4 digits
    (or, for an anonymous request, the query code given when it was recorded)."""
    form = StatusForm()
    result, message, code, retry = None, None, 200, {}
    if form.validate_on_submit():
        client = request.remote_addr or "unknown"
        throttle = rate_limited(client, form.number.data)
        if throttle is not None:
            message, code = throttle.message, 429
            retry = {"Retry-After": str(throttle.retry_after)}
        else:
            with unit_of_work():  # the attempt is recorded for the rate limit
                result = lookup_status(form.number.data, form.phone_tail.data, client)
            if result is None:
                message = "未找到匹配的工单，请核对工单编号和联系电话后四位（或查询码）"
    elif request.method == "POST":
        code = 400
    return render_template("callbacks/status.html", form=form, result=result, message=message), code, retry
