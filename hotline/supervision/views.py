"""Supervision pages: the list of cases and one case with the actions allowed now."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from hotline import stages  # noqa: F401  (registers every lifecycle action)
from hotline.enums import SupervisionState
from hotline.errors import DomainError
from hotline.extensions import db
from hotline.lifecycle import REGISTRY, available_actions, perform, unit_of_work
from hotline.supervision.levels import level_names
from hotline.supervision.models import SupervisionCase, SupervisionProgress
from hotline.supervision.queries import cases_with_unread_instructions, instructions_for
from hotline.supervision.sheets import urges_for
from hotline.tickets.models import Ticket
from hotline.tickets.queries import sees_all
from hotline.units.models import Unit
from hotline.security import page_arg

bp = Blueprint("supervision", __name__)


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
    pagination = db.paginate(stmt.order_by(SupervisionCase.level.desc(), SupervisionCase.due_at), page=page_arg(),
                             per_page=50, error_out=True)
    tickets = {t.id: t for t in db.session.scalars(sa.select(Ticket).where(
        Ticket.id.in_([c.ticket_id for c in pagination.items])))}
    by_level = dict(db.session.execute(_cases_query(current_user).where(
        SupervisionCase.state == SupervisionState.OPEN).with_only_columns(
        SupervisionCase.level, sa.func.count()).group_by(SupervisionCase.level)).all())
    units = db.session.scalars(sa.select(Unit).where(Unit.id.in_(
        _cases_query(current_user).with_only_columns(SupervisionCase.unit_id).distinct())).order_by(Unit.path)).all()
    return render_template("supervision/cases.html", pagination=pagination, tickets=tickets, levels=level_names(),
                           unread=cases_with_unread_instructions(c.id for c in pagination.items),
                           by_level=by_level, units=units, state=state, level=level, unit_id=unit_id)


def _visible_case(case_id: int) -> SupervisionCase:
    case = db.session.scalars(_cases_query(current_user).where(SupervisionCase.id == case_id)).first()
    if case is None:
        abort(403)
    return case


def _case_page(case, posted=None, error=None, status=200):
    ticket = db.session.get(Ticket, case.ticket_id)
    progress = db.session.scalars(sa.select(SupervisionProgress).where(SupervisionProgress.case_id == case.id)
                                  .order_by(SupervisionProgress.id)).all()
    user = current_user._get_current_object()
    offered = available_actions(ticket, user, stage="supervision")
    forms = {}
    for key, target in offered.items():
        if REGISTRY[key].on_case and target is not None and target.id == case.id:
            form = REGISTRY[key].form(formdata=None, prefix=key)
            form.case_id.data = case.id
            forms[key] = form
    if posted is not None and posted[0] in forms:
        forms[posted[0]] = posted[1]
    return render_template("supervision/case.html", case=case, ticket=ticket, progress=progress, forms=forms,
                           instructions=instructions_for(ticket.id), urges=urges_for(case.id),
                           labels={k: REGISTRY[k].label for k in forms}, levels=level_names(), error=error,
                           error_action=posted[0] if posted else None, signoff_case_id=case.id), status


@bp.route("/supervision/<int:case_id>")
@login_required
def case(case_id: int):
    return _case_page(_visible_case(case_id))


@bp.route("/supervision/<int:case_id>/<action>", methods=["POST"])
@login_required
def case_action(case_id: int, action: str):
    case = _visible_case(case_id)
    if action not in REGISTRY or not REGISTRY[action].on_case:
        abort(404)
    form = REGISTRY[action].form(prefix=action)
    if not form.validate_on_submit():
        first = next(iter(form.errors.values()), ["请检查输入"])
        return _case_page(case, (action, form), error=first[0], status=400)
    try:
        with unit_of_work():
            result = perform(action, case.ticket_id, current_user._get_current_object(), target=case.id,
                             **form.action_data())
    except DomainError as err:
        if err.status == 403:
            abort(403)
        return _case_page(_visible_case(case_id), (action, form), error=err.message, status=err.status)
    flash(REGISTRY[action].done_message(result), "success")
    return redirect(url_for("supervision.case", case_id=case_id))
