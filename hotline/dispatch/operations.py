"""Dispatch (派单) and the dispatcher's other decisions: re-dispatch (改派) or overrule
(驳回) a unit's return, merge a duplicate (并单), close an invalid ticket (无效工单)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.deadlines.services import ticket_clocks
from hotline.enums import (AssignmentRole, AssignmentState, Closure, EventAction, ReturnDecision, Role, TicketState,
                           UnitKind)
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import in_state, pending_target, require_state, text
from hotline.lifecycle.registry import register
from hotline.tickets.models import Assignment, Ticket, TicketReturn
from hotline.tickets.closing import finish
from hotline.units.models import Unit

OPEN_STATES = tuple(st for st in TicketState if st.is_open)


# --- the units and their clocks ---------------------------------------------------------
def active_unit(unit_id, field: str) -> Unit:
    if unit_id in (None, "", 0, "0"):
        raise ValidationFailed("请选择承办单位", field=field)
    try:
        unit = db.session.get(Unit, int(unit_id))
    except (TypeError, ValueError):
        unit = None
    if unit is None or not unit.active:
        raise ValidationFailed("所选单位不存在或已停用", field=field)
    if unit.kind is UnitKind.CENTRE:
        raise ValidationFailed("不能派给热线中心本身，请选择承办单位", field=field)
    return unit


def units_for_dispatch(lead_unit_id, co_unit_ids) -> tuple[Unit, list[Unit]]:
    lead = active_unit(lead_unit_id, "lead_unit_id")
    cos, seen = [], {lead.id}
    for uid in co_unit_ids or ():
        unit = active_unit(uid, "co_unit_ids")
        if unit.id in seen:
            raise ValidationFailed("主办单位与协办单位不能重复", field="co_unit_ids")
        seen.add(unit.id)
        cos.append(unit)
    return lead, cos


def new_assignment(ticket: Ticket, actor: User, unit: Unit, role: AssignmentRole, at: datetime, round_no: int,
                   clocks: dict) -> Assignment:
    a = Assignment(ticket=ticket, unit=unit, role=role, state=AssignmentState.DISPATCHED, active=True,
                   round=round_no, dispatched_at=at, dispatched_by_id=actor.id, **clocks)
    db.session.add(a)
    return a


def create_assignments(ticket: Ticket, actor: User, lead: Unit, cos: list[Unit], at: datetime,
                       round_no: int) -> list[Assignment]:
    clocks = ticket_clocks(ticket, at)
    co_clocks = ticket_clocks(ticket, at, co_unit=True)
    created = [new_assignment(ticket, actor, unit, role, at, round_no,
                              clocks if role is AssignmentRole.LEAD else co_clocks)
               for unit, role in [(lead, AssignmentRole.LEAD)] + [(u, AssignmentRole.CO) for u in cos]]
    ticket.lead_unit_id = lead.id
    ticket.dispatched_at = at
    return created


def assignment_payload(assignments: list[Assignment]) -> dict:
    return {"assignments": [
        {"unit_id": a.unit.id, "unit": a.unit.name, "role": a.role.value,
         "sign_due_at": a.sign_due_at.isoformat(), "handle_due_at": a.handle_due_at.isoformat(),
         "calendar_confirmed": a.calendar_confirmed}
        for a in assignments]}


def dispatch_to(ticket: Ticket, actor: User, lead: Unit, cos: list[Unit], at: datetime, *, note: str = "",
                extra: dict | None = None) -> None:
    """Send a waiting ticket to its units (also used by auto-dispatch on intake)."""
    created = create_assignments(ticket, actor, lead, cos, at, round_no=1)
    ticket.state = TicketState.DISPATCHED
    db.session.flush()
    record(ticket, actor, EventAction.DISPATCH, TicketState.PENDING_DISPATCH, note=note,
           payload={**assignment_payload(created), **(extra or {})}, at=at)


# --- dispatch ---------------------------------------------------------------------------
@register("dispatch", "派单", (Role.DISPATCHER,), stage="dispatch", check=in_state("派单", TicketState.PENDING_DISPATCH),
          message="已派单")
def dispatch(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """派单: the lead unit and optional co-units, each with its deadlines."""
    lead, cos = units_for_dispatch(data.get("lead_unit_id"), data.get("co_unit_ids"))
    dispatch_to(ticket, actor, lead, cos, at, note=text(data.get("note"), "note", "派单说明", required=False))
    return ticket


# --- a unit's return: re-dispatch or overrule -------------------------------------------
def pending_returns(ticket: Ticket, actor: User, target=None) -> list[TicketReturn]:
    return pending_target(TicketReturn, ticket, target, pending=lambda r: r.decision is ReturnDecision.PENDING,
                          field="return_id", missing="退单记录不存在", none_code="NO_PENDING_RETURN",
                          none_message="该工单没有待处理的退单", decided_code="RETURN_DECIDED", decided_what="该退单",
                          decided_label=lambda r: r.decision.label)


def _returned_assignment_state(label):
    def check(ticket, actor, ret: TicketReturn, at):
        returned = db.session.get(Assignment, ret.assignment_id)
        if returned.role is AssignmentRole.LEAD:
            require_state(ticket, label, TicketState.RETURNED)
        else:
            require_state(ticket, label, *OPEN_STATES)
    return check


def _decide_return(ret: TicketReturn, actor: User, at: datetime, decision: ReturnDecision, note: str) -> None:
    ret.decision, ret.decided_by_id, ret.decided_at, ret.decision_note = decision, actor.id, at, note


@register("redispatch", "改派", (Role.DISPATCHER,), stage="dispatch", targets=pending_returns,
          check=_returned_assignment_state("改派"), message="已改派")
def redispatch(ticket: Ticket, actor: User, ret: TicketReturn, at: datetime, data: dict) -> Ticket:
    """改派: a returned lead assignment replaces the whole dispatch (new lead, new
    co-units, new clocks); a returned co-assignment is dropped and the given co-units added."""
    note = text(data.get("note"), "note", "改派说明", required=False)
    returned = db.session.get(Assignment, ret.assignment_id)
    before = ticket.state
    round_no = max(a.round for a in ticket.assignments) + 1
    if returned.role is AssignmentRole.LEAD:
        lead, cos = units_for_dispatch(data.get("lead_unit_id"), data.get("co_unit_ids"))
        for a in ticket.active_assignments():
            a.active = False
            if a.state is not AssignmentState.RETURNED:
                a.state = AssignmentState.CANCELLED
        created = create_assignments(ticket, actor, lead, cos, at, round_no)
        ticket.state = TicketState.DISPATCHED
    else:
        _, cos = units_for_dispatch(ticket.lead_assignment.unit_id, data.get("co_unit_ids"))
        taken = {a.unit_id for a in ticket.active_assignments() if a.id != returned.id}
        if any(u.id in taken for u in cos):
            raise ValidationFailed("该单位已在办理此工单", field="co_unit_ids")
        returned.active = False
        clocks = ticket_clocks(ticket, at, co_unit=True)
        created = [new_assignment(ticket, actor, unit, AssignmentRole.CO, at, round_no, clocks) for unit in cos]
    _decide_return(ret, actor, at, ReturnDecision.REDISPATCHED, note)
    db.session.flush()
    record(ticket, actor, EventAction.REDISPATCH, before, note=note, at=at,
           payload={"return_id": ret.id, **assignment_payload(created)})
    return ticket


@register("overrule", "驳回退单", (Role.DISPATCHER,), stage="dispatch", targets=pending_returns,
          check=_returned_assignment_state("驳回退单"), message="已驳回退单，原单位须办理")
def overrule_return(ticket: Ticket, actor: User, ret: TicketReturn, at: datetime, data: dict) -> Ticket:
    """驳回退单: the dispatcher holds that the unit is responsible; it must handle the ticket."""
    note = text(data.get("note"), "note", "驳回理由")
    assignment = db.session.get(Assignment, ret.assignment_id)
    before = ticket.state
    assignment.state = AssignmentState.SIGNED if assignment.signed_at else AssignmentState.DISPATCHED
    assignment.return_overruled = True
    if assignment.role is AssignmentRole.LEAD:
        ticket.state = TicketState.SIGNED if assignment.signed_at else TicketState.DISPATCHED
    _decide_return(ret, actor, at, ReturnDecision.OVERRULED, note)
    record(ticket, actor, EventAction.OVERRULE_RETURN, before, note=note, assignment=assignment, at=at,
           payload={"return_id": ret.id, "unit": assignment.unit.name})
    return ticket


# --- merge and invalid ------------------------------------------------------------------
@register("merge", "并单", (Role.DISPATCHER,), stage="dispatch", check=in_state("并单", TicketState.PENDING_DISPATCH),
          message=lambda t: f"已并入 {t.merged_into.number}")
def merge(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """并单: a duplicate waiting for dispatch is closed into the ticket it repeats
    (given as `into_ticket_id` or `into_number`)."""
    master, field = None, "into_number" if "into_number" in data else "into_ticket_id"
    if data.get("into_ticket_id"):
        try:
            master = db.session.get(Ticket, int(data["into_ticket_id"]))
        except (TypeError, ValueError):
            master = None
    elif (data.get("into_number") or "").strip():
        master = db.session.scalars(sa.select(Ticket).where(Ticket.number == data["into_number"].strip())).first()
    if master is None or master.id == ticket.id:
        raise ValidationFailed("请选择要并入的另一张工单", field=field)
    if master.closure is Closure.MERGED:
        raise ValidationFailed(f"工单 {master.number} 本身已被并单，请并入主工单", field=field)
    note = text(data.get("note"), "note", "说明", required=False)
    ticket.merged_into_id = master.id
    ticket.merged_into = master
    finish(ticket, Closure.MERGED, at)
    record(ticket, actor, EventAction.MERGE, TicketState.PENDING_DISPATCH, note=note, at=at,
           payload={"into_ticket_id": master.id, "into_number": master.number})
    return ticket


@register("close", "无效工单办结", (Role.DISPATCHER,), stage="dispatch", check=in_state("办结归档", TicketState.PENDING_DISPATCH),
          message="工单已办结")
def close_invalid(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """无效工单: a ticket still waiting for dispatch that needs no handling."""
    note = text(data.get("note"), "note", "无效原因")
    before = ticket.state
    finish(ticket, Closure.INVALID, at)
    record(ticket, actor, EventAction.CLOSE, before, note=note, at=at,
           payload={"closure": Closure.INVALID.value, "closure_label": Closure.INVALID.label})
    return ticket
