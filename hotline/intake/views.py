"""The operator's intake page: the citizen's history first, then the request; the call's
endings: saved for dispatch, 直接答复, 不予受理, 转应急处置."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from hotline.categories.queries import category_choices
from hotline.enums import Role
from hotline.errors import DomainError
from hotline.extensions import db
from hotline.intake.cases import refusal_reasons
from hotline.intake.cases_forms import district_choices, reason_choices
from hotline.intake.defaults import district_for_address, request_type_for_category
from hotline.intake.forms import IntakeForm
from hotline.intake.drafts import TICKET_FIELDS
from hotline.intake.operations import record_ticket
from hotline.intake.queries import caller_history, likely_duplicates, search_articles
from hotline.lifecycle import unit_of_work
from hotline.tickets.attachments import check_files, discard, stage_files
from hotline.tickets.models import Ticket

bp = Blueprint("intake", __name__, url_prefix="/intake")


def _require_operator():
    if not current_user.has_role(Role.OPERATOR, Role.DISPATCHER):
        abort(403)


def _choices(form: IntakeForm) -> None:
    form.category_id.choices = [("", "请选择")] + category_choices()
    form.district_id.choices = district_choices()
    form.refusal_reason.choices = reason_choices()


def _context(form: IntakeForm):
    phone = (form.caller_phone.data or "").strip()
    return {
        "history": caller_history(phone) if phone else [],
        "duplicates": likely_duplicates(phone, form.address.data or "", form.category_id.data) if phone else [],
        "articles": search_articles(request.args.get("kb", "")) if request.args.get("kb") else [],
        "reasons": refusal_reasons(),
    }


def _done_message(ticket: Ticket, answering: bool, ending) -> str:
    if answering:
        state = "已直接答复办结"
    elif ending is not None:
        state = "已" + ticket.closure.label + (f"（{ticket.transferred_to}）" if ticket.transferred_to else "") \
            + "，已办结"
    else:
        state = "已自动派单至" + ticket.lead_unit.name if ticket.lead_unit_id else "已保存，等待派单"
    if ticket.query_code:
        state += f"。匿名查询码：{ticket.query_code}（请告知诉求人，凭工单编号和查询码查询办理进度）"
    return f"工单 {ticket.number} {state}"


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    _require_operator()
    form = IntakeForm()
    _choices(form)
    if request.method == "GET" and request.args.get("phone"):
        form.caller_phone.data = request.args["phone"]
    if form.validate_on_submit():
        draft = {f: getattr(form, f).data for f in TICKET_FIELDS}
        answering = bool(form.answer_now.data)
        ending = None if answering else form.ending()
        try:
            staged = stage_files(check_files(form.attachments.data))
            try:
                with unit_of_work():
                    ticket = record_ticket(current_user._get_current_object(), draft,
                                           answer=(form.answer.data or "") if answering else None,
                                           kb_article_id=form.kb_article_id.data or None, attachments=staged,
                                           ending=ending)
                    message, ticket_id = _done_message(ticket, answering, ending), ticket.id  # nothing read back
            except BaseException:
                discard(staged)
                raise
        except DomainError as err:
            field = getattr(form, err.details.get("field") or "", None)
            if field is not None:
                field.errors = list(field.errors) + [err.message]
            else:
                flash(err.message, "error")
            return render_template("intake/new.html", form=form, **_context(form)), 400
        flash(message, "success")
        return redirect(url_for("intake.new", last=ticket_id))
    status = 400 if request.method == "POST" else 200
    last = db.session.get(Ticket, request.args.get("last", type=int)) if request.args.get("last") else None
    return render_template("intake/new.html", form=form, last=last, **_context(form)), status


@bp.route("/caller")
@login_required
def caller():
    """Fragment: the caller's earlier tickets and likely duplicates (fetched as the phone is typed)."""
    _require_operator()
    phone = request.args.get("phone", "").strip()
    return render_template("intake/_caller.html", history=caller_history(phone),
                           duplicates=likely_duplicates(phone, request.args.get("address", ""),
                                                        request.args.get("category_id") or None))


@bp.route("/kb")
@login_required
def kb():
    """Fragment: knowledge-base answers matching the query."""
    _require_operator()
    return render_template("intake/_kb.html", articles=search_articles(request.args.get("q", "")))


@bp.route("/defaults")
@login_required
def defaults():
    """JSON: the request type and district the intake form would default to for the chosen
    category and typed address (the page fills only fields still empty)."""
    _require_operator()
    rtype = request_type_for_category(request.args.get("category_id", type=int))
    district = district_for_address(request.args.get("address", ""))
    return jsonify(request_type=rtype.value if rtype else None, request_type_label=rtype.label if rtype else None,
                   district_id=district.id if district else None, district_name=district.name if district else None)
