"""The notification list (the bell) and supervision pages."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload

from hotline.admin.models import Unit
from hotline.clock import now as clock_now
from hotline.enums import Role, SupervisionState
from hotline.errors import DomainError
from hotline.escalation import services as sup
from hotline.escalation.forms import AcceptForm, InstructionForm, ProgressForm
from hotline.escalation.models import SupervisionCase, SupervisionProgress
from hotline.escalation.notifications import mark_read, notifications_for
from hotline.extensions import db
from hotline.tickets.models import Ticket
from hotline.tickets.queries import sees_all

bp = Blueprint("escalation", __name__)


@bp.route("/notifications")
@login_required
def notifications():
    page = max(request.args.get("page", 1, type=int), 1)
    unread = request.args.get("unread") == "1"
    pagination = db.paginate(notifications_for(current_user, unread_only=unread), page=page, per_page=50,
                             error_out=False)
    return render_template("escalation/notifications.html", pagination=pagination, unread=unread, form=FlaskForm())


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read():
    form = FlaskForm()
    if not form.validate_on_submit():
        flash("页面已过期，请重试", "error")
        return redirect(url_for("escalation.notifications"))
    ids = request.form.getlist("id") or None
    n = mark_read(current_user, ids, clock_now())
    flash(f"已标记 {n} 条为已读", "success")
    from hotline.auth.views import safe_next

    return redirect(safe_next(request.form.get("next"), url_for("escalation.notifications")))


# --- supervision pages ------------------------------------------------------------------
LEVELS = {1: "单位主责", 2: "处室督导", 3: "委级统筹"}


def _cases_query(user):
    stmt = sa.select(SupervisionCase).join(Unit, Unit.id == SupervisionCase.unit_id).options(
        joinedload(SupervisionCase.unit))
    if not sees_all(user):
        stmt = stmt.where(Unit.path.startswith(user.unit.path))
    return stmt


@bp.route("/supervision")
@login_required
def cases():
    state = request.args.get("state", "open")
    level = request.args.get("level", type=int)
    unit_id = request.args.get("unit_id", type=int)
    stmt = _cases_query(current_user)
    if state in ("open", "closed"):
        stmt = stmt.where(SupervisionCase.state == SupervisionState(state))
    if level:
        stmt = stmt.where(SupervisionCase.level == level)
    if unit_id:
        stmt = stmt.where(SupervisionCase.unit_id == unit_id)
    pagination = db.paginate(stmt.order_by(SupervisionCase.level.desc(), SupervisionCase.due_at), per_page=50,
                             error_out=False)
    tickets = {t.id: t for t in db.session.scalars(sa.select(Ticket).where(
        Ticket.id.in_([c.ticket_id for c in pagination.items])))}
    by_level = dict(db.session.execute(_cases_query(current_user).where(
        SupervisionCase.state == SupervisionState.OPEN).with_only_columns(
        SupervisionCase.level, sa.func.count()).group_by(SupervisionCase.level)).all())
    units = db.session.scalars(sa.select(Unit).where(Unit.id.in_(
        _cases_query(current_user).with_only_columns(SupervisionCase.unit_id).distinct())).order_by(Unit.path)).all()
    return render_template("escalation/cases.html", pagination=pagination, tickets=tickets, levels=LEVELS,
                           by_level=by_level, units=units, state=state, level=level, unit_id=unit_id)


def _visible_case(case_id: int) -> SupervisionCase:
    case = db.session.scalars(_cases_query(current_user).where(SupervisionCase.id == case_id)).first()
    if case is None:
        abort(403)
    return case


def _case_page(case, forms=None, error=None, status=200):
    ticket = db.session.get(Ticket, case.ticket_id)
    progress = db.session.scalars(sa.select(SupervisionProgress).where(SupervisionProgress.case_id == case.id)
                                  .order_by(SupervisionProgress.id)).all()
    forms = forms or {}
    forms.setdefault("progress", ProgressForm(prefix="progress"))
    forms.setdefault("instruction", InstructionForm(prefix="instruction"))
    forms.setdefault("accept", AcceptForm(prefix="accept"))
    return render_template("escalation/case.html", case=case, ticket=ticket, progress=progress, forms=forms,
                           levels=LEVELS, error=error, Role=Role), status


@bp.route("/supervision/<int:case_id>")
@login_required
def case(case_id: int):
    return _case_page(_visible_case(case_id))


@bp.route("/supervision/<int:case_id>/<action>", methods=["POST"])
@login_required
def case_action(case_id: int, action: str):
    case = _visible_case(case_id)
    forms = {"progress": ProgressForm, "instruction": InstructionForm, "accept": AcceptForm, "ack": FlaskForm}
    if action not in forms:
        abort(404)
    form = forms[action](prefix=action if action != "ack" else "")
    if not form.validate_on_submit():
        first = next(iter(form.errors.values()), ["请检查输入"])
        return _case_page(case, {action: form}, error=first[0], status=400)
    user = current_user._get_current_object()
    try:
        if action == "progress":
            sup.report_progress(case.id, user, form.text.data)
            message = "进展已报送"
        elif action == "instruction":
            sup.give_instruction(case.id, user, form.text.data)
            message = "批示已下达"
        elif action == "ack":
            sup.acknowledge_instruction(case.id, user)
            message = "已确认阅读批示"
        else:
            sup.accept_case(case.id, user, form.note.data)
            message = "已验收销号"
    except DomainError as err:
        db.session.expire_all()
        if err.status == 403:
            abort(403)
        return _case_page(_visible_case(case_id), {action: form}, error=err.message, status=err.status)
    flash(message, "success")
    return redirect(url_for("escalation.case", case_id=case_id))
