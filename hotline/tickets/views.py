"""Ticket pages: the home queues, search, one ticket with the actions the user may take."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from hotline.admin.models import Category, Unit
from hotline.enums import UnitKind
from hotline.errors import DomainError, StaleVersion
from hotline.extensions import db
from hotline.routing.services import suggest
from hotline.tickets import services as svc
from hotline.tickets.attachments import attachment_path, check_files, discard, stage_files
from hotline.tickets.forms import (AnswerForm, CallbackForm, CloseForm, ConfirmUnreasonableForm, DispatchForm, ExtensionDecisionForm,
                                   ExtensionRequestForm, HandDownForm, MergeForm, OverruleForm, RedispatchForm,
                                   ReopenForm, ReplyForm, ReturnForm, ReviewForm, SearchForm, SignForm)
from hotline.tickets.models import Attachment, Reply, Ticket, TicketReturn
from hotline.tickets.policy import allowed_actions, pending_rows
from hotline.tickets.queries import (QUEUES, can_see_caller, earlier_tickets, get_visible_ticket, queue_counts,
                                     queues_for, search_tickets)

bp = Blueprint("tickets", __name__)


def unit_choices(root: Unit | None = None, *, include_root=False):
    stmt = sa.select(Unit).where(Unit.active.is_(True), Unit.kind != UnitKind.CENTRE).order_by(Unit.path)
    if root is not None:
        stmt = stmt.where(Unit.path.startswith(root.path))
        if not include_root:
            stmt = stmt.where(Unit.id != root.id)
    return [(u.id, "　" * max(u.level - 2, 0) + u.name) for u in db.session.scalars(stmt)]


def category_choices():
    cats = db.session.scalars(sa.select(Category).where(Category.active.is_(True)).order_by(Category.full_name))
    return [(c.id, c.full_name) for c in cats]


def district_choices():
    """Every district (inactive ones too: old tickets keep theirs), plus "none given" (0)."""
    units = db.session.scalars(sa.select(Unit).where(Unit.kind == UnitKind.DISTRICT).order_by(Unit.path))
    return [(0, "未填写区县")] + [(u.id, u.name) for u in units]


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
    form, queue, _, stmt = searched(current_user)
    page = max(request.args.get("page", 1, type=int), 1)
    pagination = db.paginate(stmt, page=page, per_page=current_app.config["TICKETS_PER_PAGE"], error_out=False,
                             count=True)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("tickets/search.html", form=form, pagination=pagination, queue=queue,
                           queue_label=QUEUES[queue][0] if queue else None, args=args)


# --- one ticket -----------------------------------------------------------------------
FORMS = {
    "dispatch": DispatchForm, "redispatch": RedispatchForm, "overrule": OverruleForm, "sign": SignForm,
    "hand_down": HandDownForm, "return": ReturnForm, "extension": ExtensionRequestForm,
    "decide_extension": ExtensionDecisionForm, "reply": ReplyForm, "review": ReviewForm,
    "callback": CallbackForm, "reopen": ReopenForm, "merge": MergeForm, "close": CloseForm,
    "confirm_unreasonable": ConfirmUnreasonableForm, "answer": AnswerForm,
}


def _prepare(form, key: str, ticket: Ticket, context) -> None:
    """Choices and defaults that depend on the ticket."""
    if key == "hand_down":
        form.sub_unit_id.choices = []  # filled below when the user may hand down
    if key in ("dispatch", "redispatch"):
        units = unit_choices()
        form.lead_unit_id.choices = [(0, "请选择主办单位")] + units
        form.co_unit_ids.choices = units
        if key == "redispatch":
            form.lead_unit_id.choices = [(0, "请选择（协办退单时不换主办）")] + units
    if key == "hand_down" and context is not None:
        base = context.unit if context.unit.is_within(current_user.unit) else current_user.unit
        form.sub_unit_id.choices = [(uid, name) for uid, name in unit_choices(base)
                                    if uid != context.handler_unit_id]
    if key == "close":
        form.closure.choices = [c for c in form.closure.choices
                                if (c[0] == "unreachable") == (ticket.state.value == "reviewed")]


def _fresh_form(key: str, ticket: Ticket, context):
    form = FORMS[key](formdata=None, prefix=key)
    form.version.data = ticket.version
    if hasattr(context, "unit_id") and hasattr(context, "role"):  # an assignment
        form.assignment_id.data = context.id
    if key in ("redispatch", "overrule"):
        form.return_id.data = context.id
    if key == "decide_extension":
        form.request_id.data = context.id
    _prepare(form, key, ticket, context)
    if key == "dispatch":
        s = suggest(ticket.category_id, ticket.district_id)
        if s.lead is not None:
            form.lead_unit_id.data = s.lead.id
            form.co_unit_ids.data = [u.id for u in s.co_units]
        form.suggestion = s
    return form


def render_ticket(ticket: Ticket, *, posted=None, error: str | None = None, status: int = 200):
    returns, extensions = pending_rows(ticket)
    actions = allowed_actions(ticket, current_user, pending_returns=returns, pending_extensions=extensions)
    forms = {key: _fresh_form(key, ticket, ctx) for key, ctx in actions.items() if key in FORMS}
    if posted is not None and posted[0] in forms:
        key, form = posted
        form.version.data = ticket.version  # the page now shows the current state
        forms[key] = form
    replies = db.session.scalars(sa.select(Reply).where(Reply.ticket_id == ticket.id).order_by(Reply.id)).all()
    all_returns = db.session.scalars(
        sa.select(TicketReturn).where(TicketReturn.ticket_id == ticket.id).order_by(TicketReturn.id)).all()
    attachments = db.session.scalars(
        sa.select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)).all()
    if not can_see_caller(current_user, ticket):
        attachments = [a for a in attachments if a.reply_id is not None]
    show_caller = can_see_caller(current_user, ticket)
    duplicates = []
    if "merge" in actions:
        from hotline.intake.services import likely_duplicates

        duplicates = likely_duplicates(ticket.caller_phone, ticket.address, ticket.category_id, exclude_id=ticket.id)
    from hotline.callbacks.models import Callback
    from hotline.escalation.services import open_case_for

    callbacks = db.session.scalars(sa.select(Callback).where(Callback.ticket_id == ticket.id)
                                   .order_by(Callback.id)).all()
    case = open_case_for(ticket.id)
    if case is not None and case.instruction and case.instruction_seen_at is None:
        actions.pop("reply", None)
        forms.pop("reply", None)
    co_replies = [r for r in replies if r.assignment_id != getattr(actions.get("reply"), "id", None)
                  and r.unit_id != getattr(ticket.lead_unit, "id", None)]
    return render_template(
        "tickets/detail.html", ticket=ticket, replies=replies, returns=all_returns, attachments=attachments,
        show_caller=show_caller, earlier=earlier_tickets(current_user, ticket) if show_caller else [],
        actions=actions, forms=forms, pending_extensions=extensions, pending_returns=returns,
        error=error, error_action=posted[0] if posted else None, duplicates=duplicates, co_replies=co_replies,
        callbacks=callbacks, case=case,
    ), status


@bp.route("/tickets/<int:ticket_id>")
@login_required
def detail(ticket_id: int):
    return render_ticket(get_visible_ticket(current_user, ticket_id))


def _run(key: str, ticket: Ticket, form) -> str:
    """Call the service for one action; returns the success message."""
    u, tid, v = current_user._get_current_object(), ticket.id, form.version.data
    aid = form.assignment_id.data or None
    if key == "dispatch":
        svc.dispatch(tid, u, v, form.lead_unit_id.data or None, form.co_unit_ids.data, form.note.data)
        return "已派单"
    if key == "redispatch":
        svc.redispatch(tid, u, v, form.return_id.data, form.lead_unit_id.data or None, form.co_unit_ids.data,
                       form.note.data)
        return "已改派"
    if key == "overrule":
        svc.overrule_return(tid, u, v, form.return_id.data, form.note.data)
        return "已驳回退单，原单位须办理"
    if key == "sign":
        svc.sign(tid, u, v, aid)
        return "已签收"
    if key == "hand_down":
        svc.hand_down(tid, u, v, form.sub_unit_id.data, form.note.data, aid)
        return "已下派"
    if key == "return":
        svc.return_ticket(tid, u, v, form.reason.data, form.reason_text.data, aid)
        return "已退单，等待派单员处理"
    if key == "extension":
        svc.request_extension(tid, u, v, form.requested_due_at.data, form.reason.data, aid)
        return "延期申请已提交"
    if key == "decide_extension":
        if form.decision.data == "approve":
            svc.approve_extension(tid, u, v, form.request_id.data, form.note.data)
            return "已同意延期"
        svc.refuse_extension(tid, u, v, form.request_id.data, form.note.data)
        return "已拒绝延期"
    if key == "reply":
        staged = stage_files(check_files(form.attachments.data))
        try:
            svc.reply(tid, u, v, form.result.data, form.actions_taken.data, form.contacted_citizen.data,
                      form.contact_note.data, form.public_text.data, aid, attachments=staged)
        except BaseException:
            discard(staged)
            raise
        return "办理结果已反馈"
    if key == "review":
        svc.review(tid, u, v, form.decision.data == "accept", form.note.data)
        return "审核通过，已转回访" if form.decision.data == "accept" else "已退回承办单位"
    if key == "callback":
        reached = form.reached.data == "1"
        reasonable = {"1": True, "0": False}.get(form.request_reasonable.data)
        svc.record_callback(tid, u, v, reached, form.resolution.data or None, form.satisfaction.data or None,
                            form.citizen_words.data, reasonable, form.note.data)
        return "回访已记录"
    if key == "reopen":
        svc.reopen(tid, u, v, form.note.data)
        return "已重办，并立督办单"
    if key == "answer":
        svc.answer_directly(tid, u, v, form.answer.data, form.kb_article_id.data or None)
        return "已直接答复办结"
    if key == "confirm_unreasonable":
        svc.confirm_unreasonable(tid, u, v, form.note.data)
        return "已裁定诉求不合理并办结，不计入单位满意度"
    if key == "merge":
        master = db.session.scalars(sa.select(Ticket).where(Ticket.number == form.into_number.data.strip())).first()
        svc.merge(tid, u, v, master.id if master else None, form.note.data)
        return f"已并入 {master.number}"
    if key == "close":
        svc.close(tid, u, v, form.closure.data, form.note.data)
        return "工单已办结"
    raise KeyError(key)


@bp.route("/tickets/<int:ticket_id>/<action>", methods=["POST"])
@login_required
def act(ticket_id: int, action: str):
    if action not in FORMS:
        return render_ticket(get_visible_ticket(current_user, ticket_id), error="未知操作", status=404)
    ticket = get_visible_ticket(current_user, ticket_id)
    form = FORMS[action](prefix=action)
    returns, extensions = pending_rows(ticket)
    ctx = allowed_actions(ticket, current_user, pending_returns=returns, pending_extensions=extensions).get(action)
    _prepare(form, action, ticket, ctx if ctx is not None else _assignment_by_id(ticket, form.assignment_id.data))
    if not form.validate():
        first = next(iter(form.errors.values()))
        message = first[0] if isinstance(first, list) else str(first)
        return render_ticket(ticket, posted=(action, form), error=message, status=400)
    try:
        message = _run(action, ticket, form)
    except StaleVersion as err:
        db.session.expire_all()
        ticket = get_visible_ticket(current_user, ticket_id)
        return render_ticket(ticket, posted=(action, form),
                             error=f"{err.message}（当前状态：{ticket.state.label}）", status=409)
    except DomainError as err:
        db.session.expire_all()
        ticket = get_visible_ticket(current_user, ticket_id)
        if err.status == 403:
            return render_template("error.html", code=err.code, message=err.message), 403
        if err.status == 404:
            return render_template("error.html", code=err.code, message=err.message), 404
        field = getattr(err, "field", None)
        if field and hasattr(form, field):
            getattr(form, field).errors = list(getattr(form, field).errors) + [err.message]
        return render_ticket(ticket, posted=(action, form), error=err.message, status=err.status)
    flash(message, "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))


def _assignment_by_id(ticket: Ticket, assignment_id):
    for a in ticket.assignments:
        if str(a.id) == str(assignment_id or ""):
            return a
    return None


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

