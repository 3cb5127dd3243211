"""The leader's desk (/leader): supervised tickets waiting for 领导签批, oldest first, and
the leader's instructions (批示) the units have not acknowledged yet."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from hotline.enums import EventAction, Role, TicketState
from hotline.extensions import db
from hotline.review.signoff import signoffs_for
from hotline.supervision.levels import level_names
from hotline.supervision.models import Instruction
from hotline.supervision.queries import open_case_for
from hotline.tickets.models import Reply, Ticket, TicketEvent
from hotline.units.models import Unit

bp = Blueprint("leader", __name__)


@bp.app_template_global("signoffs_for")
def _signoffs_for(ticket_id: int, case_id: int | None = None):
    """For templates/review/_signoffs.html on pages that do not pass `signoffs`."""
    return signoffs_for(ticket_id, case_id)


def waiting_for_signoff() -> list[dict]:
    """Tickets in 待签批, the longest waiting first: since when, lead unit, open case, and
    the lead unit's reply the dispatcher accepted."""
    since = (sa.select(sa.func.max(TicketEvent.at)).where(
        TicketEvent.ticket_id == Ticket.id, TicketEvent.to_state == TicketState.PENDING_SIGNOFF,
        TicketEvent.action == EventAction.REVIEW_ACCEPT).correlate(Ticket).scalar_subquery())
    rows = db.session.execute(sa.select(Ticket, since.label("since")).where(
        Ticket.state == TicketState.PENDING_SIGNOFF).order_by(since, Ticket.id)).all()
    ids = [t.id for t, _ in rows]
    replies: dict[int, Reply] = {}
    if ids:
        leads = {t.id: getattr(t.lead_assignment, "id", None) for t, _ in rows}
        for r in db.session.scalars(sa.select(Reply).where(Reply.ticket_id.in_(ids)).order_by(Reply.id)):
            if r.assignment_id == leads.get(r.ticket_id):
                replies[r.ticket_id] = r
    return [{"ticket": t, "since": at, "unit": t.lead_unit, "case": open_case_for(t.id), "reply": replies.get(t.id)}
            for t, at in rows]


def unread_instructions_by(user) -> list[tuple[Instruction, Ticket, Unit | None]]:
    """The user's instructions the unit has not acknowledged, oldest first."""
    return db.session.execute(
        sa.select(Instruction, Ticket, Unit).join(Ticket, Ticket.id == Instruction.ticket_id)
        .outerjoin(Unit, Unit.id == Instruction.unit_id)
        .where(Instruction.author_id == user.id, Instruction.acknowledged_at.is_(None))
        .order_by(Instruction.created_at, Instruction.id)).all()


@bp.route("/leader")
@login_required
def desk():
    if not current_user.has_role(Role.LEADER):
        abort(403)
    return render_template("review/leader.html", waiting=waiting_for_signoff(),
                           instructions=unread_instructions_by(current_user), levels=level_names())
