"""The registry of lifecycle actions: each action defined once, every surface asks it.

An action is its key and Chinese label, who may do it (roles), what it acts on (the
ticket itself, one of the user's assignments, a pending return or extension request, a
supervision case), its guard (the state checks), its input form, and its operation. The
same guard answers the page's "which buttons?", the API's "available actions" and the
refusal an operation raises, so a button is offered exactly when pressing it works.

`perform` is the only way a ticket changes state: role, lock, target, version, guard,
then the operation, then one version bump. It flushes; the caller's unit of work commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from hotline.auth.models import User
from hotline.clock import now as clock_now
from hotline.enums import Role
from hotline.errors import DomainError, Waiting
from hotline.extensions import db
from hotline.lifecycle.events import bump_version
from hotline.lifecycle.guards import check_version, lock_ticket, require_role
from hotline.tickets.models import Ticket


def _the_ticket(ticket: Ticket, actor: User, target=None) -> list:
    return [None]


def _no_check(ticket: Ticket, actor: User, target, at: datetime) -> None:
    return None


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    roles: tuple[Role, ...]
    #: (ticket, actor, target, at, data) -> result; flushes, never commits.
    operation: Callable[..., Any]
    #: (ticket, actor, target_id) -> candidate targets, best first; raises when the
    #: user has none (e.g. NOT_YOUR_UNIT). [None] for actions on the ticket itself.
    targets: Callable[..., list] = _the_ticket
    #: (ticket, actor, target, at) -> None or raises the DomainError of the refusal.
    check: Callable[..., None] = _no_check
    stage: str = ""
    #: The form (input schema) of pages and API; set by the stage's forms module.
    form: type | None = None
    #: The form field that carries the target's id (assignment_id, return_id, ...).
    target_field: str | None = None
    #: False for actions that do not act on a version the user saw (supervision case
    #: progress, instruction, acknowledgement, acceptance).
    versioned: bool = True
    #: Success message (or a function of the result) shown after the action.
    message: str | Callable[[Any], str] = "操作已完成"
    #: Extra keyword arguments a page passes when preparing the form.
    meta: dict = field(default_factory=dict)

    @property
    def on_case(self) -> bool:
        """Acts on a supervision case (offered on the case page, not the ticket page)."""
        return self.target_field == "case_id"

    def done_message(self, result) -> str:
        return self.message(result) if callable(self.message) else self.message


REGISTRY: dict[str, Action] = {}


def register(key: str, label: str, roles: tuple[Role, ...], **kw) -> Callable:
    """Decorator for an operation: `@register("sign", "签收", (Role.UNIT_STAFF,), ...)`."""

    def wrap(operation):
        if key in REGISTRY:
            raise RuntimeError(f"lifecycle action {key!r} registered twice")
        REGISTRY[key] = Action(key=key, label=label, roles=roles, operation=operation, **kw)
        return operation

    return wrap


def attach_form(key: str, form: type, target_field: str | None = None) -> None:
    """The stage's forms module gives each of its actions its input form."""
    action = REGISTRY[key]
    REGISTRY[key] = Action(**{**action.__dict__, "form": form, "target_field": target_field})


def get(key: str) -> Action | None:
    return REGISTRY.get(key)


def _pick(action: Action, ticket: Ticket, actor: User, candidates: list, at: datetime):
    """The first candidate the guard passes; else the first refusal is raised."""
    first_error = None
    for target in candidates:
        try:
            action.check(ticket, actor, target, at)
            return target
        except DomainError as err:
            first_error = first_error or err
    raise first_error


def offer(key: str, ticket: Ticket, actor: User, at: datetime | None = None):
    """The target the action would act on now, or raise the refusal (DomainError)."""
    action = REGISTRY[key]
    require_role(actor, *action.roles)
    return _pick(action, ticket, actor, action.targets(ticket, actor, None), at or clock_now())


def offers(ticket: Ticket, actor: User, at: datetime | None = None, *,
           stage: str | None = None) -> tuple[dict[str, Any], dict[str, DomainError]]:
    """One pass over the guards: (key -> target for every action the user may take now,
    key -> refusal for those refused only for now — Waiting: a co-unit's answer, an
    unread instruction). The ticket page asks once for both."""
    at = at or clock_now()
    found, waiting = {}, {}
    if not actor.is_active:  # require_role's refusal for every action
        return found, waiting
    roles = actor.roles  # once (offer() would ask require_role for every action)
    for key, action in REGISTRY.items():
        if (stage is not None and action.stage != stage) or roles.isdisjoint(action.roles):
            continue
        try:
            found[key] = _pick(action, ticket, actor, action.targets(ticket, actor, None), at)
        except Waiting as err:
            waiting[key] = err
        except DomainError:
            continue
    return found, waiting


def available_actions(ticket: Ticket, actor: User, at: datetime | None = None, *,
                      stage: str | None = None) -> dict[str, Any]:
    """key -> target for every action the user may take on the ticket now."""
    return offers(ticket, actor, at, stage=stage)[0]


def waiting_notices(ticket: Ticket, actor: User, at: datetime | None = None) -> dict[str, DomainError]:
    """Actions the user would have but for something still pending (Waiting refusals)."""
    return offers(ticket, actor, at)[1]


def perform(key: str, ticket_id: int, actor: User, version=None, *, target=None, **data):
    """Do one action: role → lock → target → version → guard → operation → version +1.

    Raises DomainError (nothing changed in the session's flushed state that the caller's
    unit of work would keep: the boundary rolls back). Returns the operation's result."""
    action = REGISTRY.get(key)
    if action is None:
        raise DomainError("UNKNOWN_ACTION", f"未知操作：{key}")
    require_role(actor, *action.roles)
    ticket = lock_ticket(ticket_id)
    candidates = action.targets(ticket, actor, target)
    if action.versioned:
        check_version(ticket, version)
    at = clock_now()
    chosen = _pick(action, ticket, actor, candidates, at)
    result = action.operation(ticket, actor, chosen, at, data)
    bump_version(ticket)
    db.session.flush()
    return result
