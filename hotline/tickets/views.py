"""Ticket pages: the user's list and one ticket with its deadlines and history."""
import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required

from hotline.enums import TicketState
from hotline.extensions import db
from hotline.tickets.models import Reply, Ticket, TicketReturn
from hotline.tickets.queries import can_see_caller, earlier_tickets, get_visible_ticket, visible_tickets

bp = Blueprint("tickets", __name__)


@bp.route("/")
@login_required
def home():
    state = request.args.get("state") or None
    stmt = visible_tickets(current_user)
    if state:
        try:
            stmt = stmt.where(Ticket.state == TicketState(state))
        except ValueError:
            state = None
    page = max(request.args.get("page", 1, type=int), 1)
    per_page = current_app.config["TICKETS_PER_PAGE"]
    pagination = db.paginate(stmt.order_by(Ticket.id.desc()), page=page, per_page=per_page, error_out=False)
    counts = dict(db.session.execute(
        visible_tickets(current_user).with_only_columns(Ticket.state, sa.func.count()).group_by(Ticket.state)
    ).all())
    return render_template("tickets/list.html", pagination=pagination, counts=counts, state=state,
                           states=list(TicketState))


@bp.route("/tickets/<int:ticket_id>")
@login_required
def detail(ticket_id: int):
    ticket = get_visible_ticket(current_user, ticket_id)
    replies = db.session.scalars(sa.select(Reply).where(Reply.ticket_id == ticket.id).order_by(Reply.id)).all()
    returns = db.session.scalars(
        sa.select(TicketReturn).where(TicketReturn.ticket_id == ticket.id).order_by(TicketReturn.id)).all()
    show_caller = can_see_caller(current_user, ticket)
    return render_template("tickets/detail.html", ticket=ticket, replies=replies, returns=returns,
                           show_caller=show_caller,
                           earlier=earlier_tickets(ticket) if show_caller else [])
