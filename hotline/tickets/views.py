"""Ticket pages: the home queues, search, one ticket with the actions the user may take."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from hotline import stages  # noqa: F401  (registers every lifecycle action)
from hotline.callbacks.models import Callback
from hotline.categories.queries import category_choices
from hotline.errors import DomainError, StaleVersion
from hotline.extensions import db
from hotline.intake.queries import likely_duplicates
from hotline.lifecycle import REGISTRY, offers, perform, unit_of_work
from hotline.supervision.levels import level_names
from hotline.supervision.queries import instructions_for, open_case_for
from hotline.tickets.attachments import attachment_path, check_files, discard, stage_files
from hotline.tickets.forms import SearchForm
from hotline.tickets.models import Attachment, Reply, Ticket, TicketReturn
from hotline.tickets.queries import (QUEUES, assignment_queue_total, can_see_caller, earlier_tickets,
                                     get_visible_ticket, keyword_search, queue_counts, queues_for, search_tickets,
                                     ticket_page)
from hotline.units.queries import district_choices, unit_choices
from hotline.security import page_arg

bp = Blueprint("tickets", __name__)


# --- home and lists -------------------------------------------------------------------
@bp.route("/")
@login_required
def home():
    counts = queue_counts(current_user)
    queues = [(k, QUEUES[k][0], counts.get(k, 0)) for k in queues_for(current_user)]
    return render_template("tickets/home.html", queues=queues)


def searched(user):
    """The search form read from the query string, its queue, and the statement it selects
    (shared by the list and the CSV export, so both show the same tickets)."""
    form = SearchForm(request.args)
    form.category_id.choices = [("", "全部")] + category_choices()
    form.unit_id.choices = [("", "全部")] + unit_choices()
    form.district_id.choices = [("", "全部")] + district_choices()
    queue = request.args.get("queue") or None
    if queue not in QUEUES:
        queue = None
    filters = form.filters() if form.validate() else {}
    return form, queue, filters, search_tickets(user, queue=queue, **filters)


@bp.route("/tickets")
@login_required
def search():
    form, queue, filters, stmt = searched(current_user)
    sort = filters.get("sort") or "relevance"  # search_tickets' default (newest first without keywords)
    keywords = bool(filters.get("text") and filters["text"].split())
    ranked = keywords and sort == "relevance"
    keyset = None if ranked else {"created_desc": "desc", "relevance": "desc", "created_asc": "asc"}.get(sort)
    total, cap = None, None
    if keywords:
        cap = current_app.config["KEYWORD_SEARCH_TOTAL_CAP"]
        stmt, total = keyword_search(current_user, filters, stmt, queue=queue, cap=cap)
    elif queue:
        total = assignment_queue_total(current_user, queue, filters)
    pagination = ticket_page(stmt, page=page_arg(), total=total, cap=cap,
                             per_page=current_app.config["TICKETS_PER_PAGE"], keyset=keyset,
                             after=request.args.get("after", type=int), before=request.args.get("before", type=int),
                             by_date_when_capped=ranked)
    args = {k: v for k, v in request.args.items() if k not in ("page", "after", "before")}
    return render_template("tickets/search.html", form=form, pagination=pagination, queue=queue,
                           queue_label=QUEUES[queue][0] if queue else None, args=args)


# --- one ticket -----------------------------------------------------------------------
def fresh_form(key: str, ticket: Ticket, target, user):
    """The action's form as the page offers it: current version, target id, choices."""
    action = REGISTRY[key]
    form = action.form(formdata=None, prefix=key)
    form.version.data = ticket.version
    if action.target_field and target is not None:
        getattr(form, action.target_field).data = target.id
    form.prepare(ticket, target, user, fresh=True)
    return form


def render_ticket(ticket: Ticket, *, posted=None, error: str | None = None, status: int = 200):
    user = current_user._get_current_object()
    offered, notices = offers(ticket, user)
    actions = {k: t for k, t in offered.items() if not REGISTRY[k].on_case}
    forms = {key: fresh_form(key, ticket, target, user) for key, target in actions.items()}
    if posted is not None and posted[0] in forms:
        key, form = posted
        form.version.data = ticket.version  # the page now shows the current state
        forms[key] = form
    replies = db.session.scalars(sa.select(Reply).where(Reply.ticket_id == ticket.id).order_by(Reply.id)).all()
    all_returns = db.session.scalars(
        sa.select(TicketReturn).where(TicketReturn.ticket_id == ticket.id).order_by(TicketReturn.id)).all()
    show_caller = can_see_caller(user, ticket)
    attachments = db.session.scalars(
        sa.select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)).all()
    if not show_caller:
        attachments = [a for a in attachments if a.reply_id is not None]
    duplicates = []
    if "merge" in actions:
        duplicates = likely_duplicates(ticket.caller_phone, ticket.address, ticket.category_id, exclude_id=ticket.id)
    callbacks = db.session.scalars(sa.select(Callback).where(Callback.ticket_id == ticket.id)
                                   .order_by(Callback.id)).all()
    reply_target = actions.get("reply")
    co_replies = [r for r in replies if r.assignment_id != getattr(reply_target, "id", None)
                  and r.unit_id != getattr(ticket.lead_unit, "id", None)]
    return render_template(
        "tickets/detail.html", ticket=ticket, replies=replies, returns=all_returns, attachments=attachments,
        show_caller=show_caller, earlier=earlier_tickets(user, ticket) if show_caller else [],
        actions=actions, labels={k: REGISTRY[k].label for k in actions}, forms=forms,
        notices=notices, error=error, error_action=posted[0] if posted else None,
        duplicates=duplicates, co_replies=co_replies, callbacks=callbacks, case=open_case_for(ticket.id),
        level_names=level_names(), instructions=instructions_for(ticket.id),
    ), status


@bp.route("/tickets/<int:ticket_id>")
@login_required
def detail(ticket_id: int):
    return render_ticket(get_visible_ticket(current_user, ticket_id))


def run_action(key: str, ticket: Ticket, form, user):
    """Perform one action from its validated form, in one unit of work; the result."""
    action = REGISTRY[key]
    data = form.action_data()
    data.pop(action.target_field, None)  # the target travels as `target`, not as input
    staged = []
    if "attachments" in data:
        staged = stage_files(check_files(data["attachments"]))
        data["attachments"] = staged
    target = getattr(form, action.target_field).data if action.target_field else None
    try:
        with unit_of_work():
            return perform(key, ticket.id, user, form.version.data, target=target or None, **data)
    except BaseException:
        discard(staged)
        raise


@bp.route("/tickets/<int:ticket_id>/<action>", methods=["POST"])
@login_required
def act(ticket_id: int, action: str):
    ticket = get_visible_ticket(current_user, ticket_id)
    if action not in REGISTRY or REGISTRY[action].on_case:
        return render_ticket(ticket, error="未知操作", status=404)
    user = current_user._get_current_object()
    form = REGISTRY[action].form(prefix=action)
    target = _target_of(ticket, action, form, user)
    form.prepare(ticket, target, user, fresh=False)
    if not form.validate():
        first = next(iter(form.errors.values()))
        message = first[0] if isinstance(first, list) else str(first)
        return render_ticket(ticket, posted=(action, form), error=message, status=400)
    try:
        result = run_action(action, ticket, form, user)
    except StaleVersion as err:
        ticket = get_visible_ticket(current_user, ticket_id)
        return render_ticket(ticket, posted=(action, form),
                             error=f"{err.message}（当前状态：{ticket.state.label}）", status=409)
    except DomainError as err:
        if err.status in (403, 404):
            return render_template("error.html", code=err.code, message=err.message), err.status
        ticket = get_visible_ticket(current_user, ticket_id)
        field = getattr(err, "field", None)
        if field and hasattr(form, field):
            getattr(form, field).errors = list(getattr(form, field).errors) + [err.message]
        return render_ticket(ticket, posted=(action, form), error=err.message, status=err.status)
    flash(REGISTRY[action].done_message(result), "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))


def _target_of(ticket: Ticket, key: str, form, user):
    """What the posted form acts on (for its choices): the row its hidden id names."""
    action = REGISTRY[key]
    if not action.target_field:
        return None
    try:
        candidates = action.targets(ticket, user, getattr(form, action.target_field).data or None)
    except DomainError:
        return None
    return candidates[0] if candidates else None


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    att = db.session.get(Attachment, attachment_id)
    if att is None:
        return render_template("error.html", code="NOT_FOUND", message="附件不存在"), 404
    ticket = get_visible_ticket(current_user, att.ticket_id)  # same refusal when not the user's to see
    if att.reply_id is None and not can_see_caller(current_user, ticket):
        abort(403)  # what the caller sent in (photos, recordings) stays with the centre on confidential tickets
    return send_file(attachment_path(att), mimetype=att.content_type, as_attachment=True,
                     download_name=att.filename)
