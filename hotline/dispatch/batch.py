"""Dispatching from the queue: a ticket sent to the unit its routing rule suggests, alone
(the dispatcher accepts the suggestion) or in a batch (only tickets whose rule is certain).

Both go through the lifecycle's `dispatch` action (hotline.lifecycle.perform: role, lock,
version, guard, operation, event); this module only says what that action's input is, and
refuses what a batch must not send. Each ticket is its own unit of work (the caller's), so
one refusal leaves the others dispatched, and each gets its own result.
"""
from __future__ import annotations

from dataclasses import dataclass

from hotline.auth.models import User
from hotline.errors import DomainError
from hotline.lifecycle import perform, unit_of_work
from hotline.routing.services import Suggestion, suggest
from hotline.tickets.models import Ticket
from hotline.tickets.queries import get_visible_ticket

BATCH_NOTE = "按确定派单规则批量派单"
ACCEPT_NOTE = "按派单规则建议派单"


@dataclass
class Outcome:
    ticket_id: int
    number: str
    ok: bool
    message: str


def suggested_input(ticket: Ticket, *, certain_only: bool) -> tuple[Suggestion, dict]:
    """The dispatch action's input for the ticket's routing suggestion; refused when there
    is no suggestion, or (for a batch) when its rule is not certain."""
    s = suggest(ticket.category_id, ticket.district_id)
    if s.lead is None or not s.lead.active:
        raise DomainError("NO_ROUTING_RULE", "没有匹配的派单规则，请打开工单人工派单")
    if certain_only and not s.certain:
        raise DomainError("ROUTING_NOT_CERTAIN", "派单规则不确定（建议规则），请逐张核对后派单")
    return s, {"lead_unit_id": s.lead.id, "co_unit_ids": [u.id for u in s.co_units],
               "note": BATCH_NOTE if certain_only else ACCEPT_NOTE}


def dispatch_suggested(user: User, items: list[tuple[int, int | None]], *, certain_only: bool) -> list[Outcome]:
    """Dispatch each (ticket id, version the page showed) to its suggested unit, one unit
    of work per ticket; the outcome of each, in the given order."""
    outcomes = []
    for ticket_id, version in items:
        number = str(ticket_id)
        try:
            with unit_of_work():
                ticket = get_visible_ticket(user, ticket_id)
                number = ticket.number
                s, data = suggested_input(ticket, certain_only=certain_only)
                perform("dispatch", ticket_id, user, version, **data)
                units = "、".join([s.lead.name] + [u.name for u in s.co_units])
            outcomes.append(Outcome(ticket_id, number, True, f"已派单至 {units}"))
        except DomainError as err:
            outcomes.append(Outcome(ticket_id, number, False, err.message))
    return outcomes
