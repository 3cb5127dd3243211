"""并单 and 拆单 after dispatch.

并单 (merge_dispatched): a duplicate that is already with a unit is closed into another
open ticket of the same lead unit (the action's target is that ticket; it is offered
only when there is one). 拆单 (split): part of a ticket's content that belongs to another
unit becomes a new ticket of the same citizen (split_from_id set), waiting for dispatch or
dispatched at once to the unit given.

Lifecycle actions of this step (registered with hotline.lifecycle.register)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.categories.models import Category
from hotline.dispatch.operations import dispatch_to, units_for_dispatch
from hotline.enums import Closure, EventAction, Role, TicketState
from hotline.errors import DomainError, ValidationFailed
from hotline.extensions import db
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import in_state, text
from hotline.lifecycle.registry import register
from hotline.tickets.closing import finish
from hotline.tickets.numbering import allocate_number
from hotline.tickets.models import Ticket

#: States in which a dispatched ticket may be merged into another (its unit is at work).
MERGEABLE = (TicketState.DISPATCHED, TicketState.SIGNED, TicketState.REOPENED)
#: Candidates offered on the page (the most recent first).
MAX_CANDIDATES = 50
#: States a ticket may be split in: waiting for dispatch, or with its unit.
SPLITTABLE = (TicketState.PENDING_DISPATCH, TicketState.DISPATCHED, TicketState.SIGNED)
#: Citizen and classification fields the split-off ticket keeps.
CARRIED = ("channel", "request_type", "urgency", "caller_name", "caller_phone", "confidential", "anonymous",
           "address", "district_id", "query_code")


# --- 并单 after dispatch ----------------------------------------------------------------
def merge_candidates(ticket: Ticket, actor: User, target=None) -> list[Ticket]:
    """Other open tickets with the same lead unit this one may be merged into."""
    if ticket.lead_unit_id is None or ticket.state not in MERGEABLE:
        raise DomainError("INVALID_STATE", f"工单当前状态为「{ticket.state.label}」，不能执行「派单后并单」",
                          state=ticket.state.value)
    stmt = sa.select(Ticket).where(Ticket.id != ticket.id, Ticket.lead_unit_id == ticket.lead_unit_id,
                                   Ticket.state.in_(MERGEABLE), Ticket.merged_into_id.is_(None))
    if target not in (None, ""):
        try:
            stmt = stmt.where(Ticket.id == int(target))
        except (TypeError, ValueError):
            raise ValidationFailed("请选择同一主办单位的另一张在办工单", field="into_ticket_id") from None
        found = db.session.scalars(stmt).all()
        if not found:
            raise ValidationFailed("请选择同一主办单位的另一张在办工单", field="into_ticket_id")
        return found
    found = db.session.scalars(stmt.order_by(Ticket.id.desc()).limit(MAX_CANDIDATES)).all()
    if not found:
        raise DomainError("NO_MERGE_CANDIDATE", "同一主办单位没有其他在办工单可以并入")
    return found


@register("merge_dispatched", "派单后并单", (Role.DISPATCHER,), stage="dispatch", targets=merge_candidates,
          check=in_state("派单后并单", *MERGEABLE), message=lambda t: f"已并入 {t.merged_into.number}")
def merge_dispatched(ticket: Ticket, actor: User, master: Ticket, at: datetime, data: dict) -> Ticket:
    """派单后并单: the duplicate closes as merged into `master`; its assignments are done."""
    note = text(data.get("note"), "note", "说明", required=False)
    before = ticket.state
    ticket.merged_into_id, ticket.merged_into = master.id, master
    finish(ticket, Closure.MERGED, at)
    record(ticket, actor, EventAction.MERGE, before, note=note, at=at,
           payload={"into_ticket_id": master.id, "into_number": master.number, "after_dispatch": True})
    return ticket


# --- 拆单 -------------------------------------------------------------------------------
@register("split", "拆单", (Role.DISPATCHER,), stage="dispatch", check=in_state("拆单", *SPLITTABLE),
          message=lambda t: f"已拆出新工单 {t.number}")
def split(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """拆单: a new ticket of the same citizen with part of the content (title, content,
    category given), for another unit (dispatched at once when `lead_unit_id` is given)."""

    title = text(data.get("title"), "title", "新工单标题", max_len=200)
    content = text(data.get("content"), "content", "拆出的诉求内容", max_len=10000)
    try:
        category = db.session.get(Category, int(data.get("category_id") or 0))
    except (TypeError, ValueError):
        category = None
    if category is None or not category.active:
        raise ValidationFailed("请选择有效的诉求分类", field="category_id")
    lead = None
    if data.get("lead_unit_id") not in (None, "", 0, "0"):
        lead, _ = units_for_dispatch(data.get("lead_unit_id"), ())
        if lead.id == ticket.lead_unit_id:
            raise ValidationFailed("拆出的工单应交其他单位办理", field="lead_unit_id")
    note = text(data.get("note"), "note", "拆单说明", required=False)
    new = Ticket(number=allocate_number(at), version=1, state=TicketState.PENDING_DISPATCH, created_at=at,
                 updated_at=at, created_by_id=actor.id, category_id=category.id, title=title, content=content,
                 split_from_id=ticket.id, **{f: getattr(ticket, f) for f in CARRIED})
    db.session.add(new)
    db.session.flush()
    record(new, actor, EventAction.SPLIT, None, note=note, at=at,
           payload={"split_from_id": ticket.id, "split_from_number": ticket.number})
    if lead is not None:
        dispatch_to(new, actor, lead, [], at, note=note, extra={"split_from_id": ticket.id})
    record(ticket, actor, EventAction.SPLIT, ticket.state, note=note, at=at,
           payload={"new_ticket_id": new.id, "new_number": new.number, "title": title,
                    "lead_unit_id": lead.id if lead else None})
    return new
