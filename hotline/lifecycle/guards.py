"""The checks every lifecycle action is built from, and the ticket lock.

Each helper raises a DomainError with a stable code and a Chinese message; an action's
guard is a composition of them, asked both "may this user do it now?" (for buttons and
the API's available actions) and "do it" (the same code, raising).
"""
from __future__ import annotations

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.enums import AssignmentRole, AssignmentState, Role, TicketState
from hotline.errors import DomainError, NotFound, PermissionDenied, StaleVersion, ValidationFailed, clean_text
from hotline.extensions import db
from hotline.tickets.models import Assignment, Ticket

text = clean_text


def lock_ticket(ticket_id: int) -> Ticket:
    """The ticket row, locked for this transaction (SELECT ... FOR UPDATE on PostgreSQL;
    SQLite serialises writers with BEGIN IMMEDIATE) and re-read from the database."""
    stmt = (sa.select(Ticket).where(Ticket.id == int(ticket_id)).with_for_update(of=Ticket)
            .execution_options(populate_existing=True))
    ticket = db.session.execute(stmt).unique().scalar_one_or_none()
    if ticket is None:
        raise NotFound()
    return ticket


def require_role(actor: User | None, *roles: Role) -> None:
    if actor is None or not actor.is_active or not actor.has_role(*roles):
        names = "、".join(r.label for r in roles)
        raise PermissionDenied("FORBIDDEN_ROLE", f"您没有执行此操作的权限（需要角色：{names}）")


def check_version(ticket: Ticket, version) -> None:
    try:
        seen = int(version)
    except (TypeError, ValueError):
        raise ValidationFailed("缺少工单版本号，请刷新页面后重试", field="version") from None
    if seen != ticket.version:
        raise StaleVersion(current_version=ticket.version)


def require_state(ticket: Ticket, label: str, *states: TicketState) -> None:
    if ticket.state not in states:
        raise DomainError("INVALID_STATE", f"工单当前状态为「{ticket.state.label}」，不能执行「{label}」",
                          state=ticket.state.value)


def require_assignment_state(assignment: Assignment, label: str, *states: AssignmentState) -> None:
    if assignment.state not in states:
        raise DomainError("INVALID_STATE", f"本单位的派单状态为「{assignment.state.label}」，不能执行「{label}」",
                          state=assignment.state.value)


def can_act_for(actor: User, assignment: Assignment, *, allow_handler: bool = True) -> bool:
    """The assignment's unit is the actor's unit or below it; or (when allowed) the
    sub-unit it was handed down to is."""
    unit = actor.unit
    if unit is None:
        return False
    if assignment.unit.path.startswith(unit.path):
        return True
    handler = assignment.handler_unit
    return allow_handler and handler is not None and handler.path.startswith(unit.path)


def my_assignments(ticket: Ticket, actor: User, target=None, *, allow_handler: bool = True) -> list[Assignment]:
    """The active assignments the unit user may act on, lead first; refused when none."""
    mine = [a for a in ticket.active_assignments() if can_act_for(actor, a, allow_handler=allow_handler)]
    if target not in (None, ""):
        mine = [a for a in mine if str(a.id) == str(target)]
    if not mine:
        raise PermissionDenied("NOT_YOUR_UNIT", "该工单未派给您的单位，不能操作")
    return sorted(mine, key=lambda a: (a.role is not AssignmentRole.LEAD, a.id))


def coerce(enum_cls, value, field: str, label: str):
    try:
        return enum_cls.coerce(value)
    except ValueError:
        raise ValidationFailed(f"{label}的取值无效", field=field) from None


def flag(value) -> bool | None:
    """A yes/no input from a form ("1"/"0"), JSON (true/false) or Python; None when unset."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def in_state(label: str, *states: TicketState):
    """A guard: the ticket is in one of `states` (the refusal names the action `label`)."""

    def check(ticket: Ticket, actor: User, target, at) -> None:
        require_state(ticket, label, *states)

    return check


def pending_target(model, ticket: Ticket, target, *, pending, field: str, missing: str, none_code: str,
                   none_message: str, decided_code: str, decided_what: str, decided_label) -> list:
    """The rows of `model` waiting for a decision on this ticket (a return, an extension
    request): the one named by `target`, else all of them, oldest first; refused when the
    named one is not this ticket's, is already decided, or there is none."""
    if target not in (None, ""):
        try:
            row = db.session.get(model, int(target))
        except (TypeError, ValueError):
            row = None
        if row is None or row.ticket_id != ticket.id:
            raise ValidationFailed(missing, field=field)
        if not pending(row):
            raise DomainError(decided_code, f"{decided_what}已处理（{decided_label(row)}）")
        return [row]
    rows = [r for r in db.session.scalars(sa.select(model).where(model.ticket_id == ticket.id).order_by(model.id))
            if pending(r)]
    if not rows:
        raise DomainError(none_code, none_message)
    return rows
