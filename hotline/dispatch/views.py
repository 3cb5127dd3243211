"""The dispatcher's keyboard queue (/dispatch/queue): the tickets waiting for dispatch,
oldest first, each with its routing suggestion; accept one suggestion, or dispatch every
selected ticket whose rule is certain in one go (hotline.dispatch.batch)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from hotline.dispatch.batch import dispatch_suggested
from hotline.enums import Role
from hotline.extensions import db
from hotline.routing.services import suggest
from hotline.tickets.models import Ticket
from hotline.tickets.queries import search_tickets
from hotline.security import page_arg

bp = Blueprint("dispatch_queue", __name__, url_prefix="/dispatch")


def _require_dispatcher():
    if not current_user.has_role(Role.DISPATCHER):
        abort(403)


@bp.route("/queue")
@login_required
def queue():
    _require_dispatcher()
    stmt = search_tickets(current_user, queue="pending_dispatch", sort="created_asc")
    page = page_arg()
    pagination = db.paginate(stmt, page=page, per_page=current_app.config["TICKETS_PER_PAGE"], error_out=True,
                             count=True)
    rows = [(t, suggest(t.category_id, t.district_id)) for t in pagination.items]
    return render_template("dispatch/queue.html", rows=rows, pagination=pagination,
                           focus=request.args.get("row", 0, type=int))


def _version(ticket_id: int) -> int | None:
    return request.form.get(f"version-{ticket_id}", type=int)


@bp.route("/queue", methods=["POST"])
@login_required
def act():
    """accept=<id>: dispatch that ticket to its suggested unit. Otherwise: dispatch every
    checked ticket_id whose routing rule is certain. One result per ticket, as messages."""
    _require_dispatcher()
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        abort(400)
    accept = request.form.get("accept", type=int)
    if accept:
        items, certain_only = [(accept, _version(accept))], False
    else:
        ids = [int(v) for v in request.form.getlist("ticket_id") if v.isdigit()]
        if not ids:
            flash("请先勾选要批量派单的工单（空格键勾选当前行）", "error")
            return redirect(url_for("dispatch_queue.queue"))
        items, certain_only = [(i, _version(i)) for i in ids], True
    outcomes = dispatch_suggested(current_user._get_current_object(), items, certain_only=certain_only)
    for o in outcomes:
        flash(f"工单 {o.number}：{o.message}", "success" if o.ok else "error")
    if len(outcomes) > 1:
        done = sum(o.ok for o in outcomes)
        flash(f"批量派单：{done} 张已派单，{len(outcomes) - done} 张未派单", "info")
    return redirect(url_for("dispatch_queue.queue", row=request.form.get("row", 0, type=int)))


@bp.route("/next")
@login_required
def next_ticket():
    """The ticket after `after` in the dispatch queue (oldest first), else the first; the
    queue itself when it is empty. The ticket page's N key."""
    _require_dispatcher()
    after = request.args.get("after", 0, type=int)
    ids = search_tickets(current_user, queue="pending_dispatch", sort="created_asc") \
        .with_only_columns(Ticket.id).where(Ticket.id != after).limit(1)
    found = db.session.scalar(ids.where(Ticket.id > after)) or db.session.scalar(ids)
    if not found:
        flash("派单队列已清空", "info")
        return redirect(url_for("dispatch_queue.queue"))
    return redirect(url_for("tickets.detail", ticket_id=found))
