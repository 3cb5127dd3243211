"""Tickets as the API shows them: the caller hidden where the pages hide it, the actions
offered by the same guards as the page's buttons."""
from __future__ import annotations

from flask import url_for

from hotline import refcache
from hotline.lifecycle.registry import REGISTRY, offers
from hotline.tickets.queries import can_see_caller


def labeled(value):
    return {"value": value.value, "label": value.label} if value is not None else None


def unit_ref(u):
    return {"id": u.id, "code": u.code, "name": u.name} if u is not None else None


def category_ref(c):
    return {"id": c.id, "code": c.code, "name": c.full_name or c.name}


def _unit(unit_id):
    """A unit by id from the reference cache (its id, code and name), or None."""
    return refcache.unit(unit_id) if unit_id is not None else None


def summary(t) -> dict:
    return {"number": t.number, "version": t.version, "state": labeled(t.state), "closure": labeled(t.closure),
            "channel": labeled(t.channel), "request_type": labeled(t.request_type), "urgency": labeled(t.urgency),
            "category": category_ref(refcache.category(t.category_id) or t.category), "title": t.title,
            "lead_unit": unit_ref(_unit(t.lead_unit_id) or t.lead_unit),
            "created_at": t.created_at, "closed_at": t.closed_at, "external_source": t.external_source,
            "external_number": t.external_number}


def assignment(a) -> dict:
    return {"id": a.id, "unit": unit_ref(a.unit), "handler_unit": unit_ref(a.handler_unit), "role": labeled(a.role),
            "state": labeled(a.state), "active": a.active, "dispatched_at": a.dispatched_at,
            "sign_due_at": a.sign_due_at, "handle_due_at": a.handle_due_at, "signed_at": a.signed_at,
            "replied_at": a.replied_at, "escalation_level": a.escalation_level}


def event(e) -> dict:
    return {"id": e.id, "at": e.at, "action": labeled(e.action), "from_state": labeled(e.from_state),
            "to_state": labeled(e.to_state), "actor": e.actor.display_name if e.actor is not None else None,
            "note": e.note or "", "assignment_id": e.assignment_id}


def caller(t, user) -> dict | None:
    """The citizen, or None where the pages hide them (confidential tickets, unit staff)."""
    if not can_see_caller(user, t):
        return None
    return {"name": t.caller_name or "", "phone": t.caller_phone or "", "anonymous": bool(t.anonymous)}


def ticket(t, user) -> dict:
    offered, waiting = offers(t, user)
    show_caller = can_see_caller(user, t)
    # each action's route is the ticket's own path and the action's key (views._action_view)
    base = url_for("api.get_ticket", number=t.number)
    out = summary(t)
    out.update({
        "content": t.content, "address": t.address or "", "district": unit_ref(_unit(t.district_id) or t.district),
        "confidential": t.confidential,
        "caller": caller(t, user),
        "dispatched_at": t.dispatched_at, "callback_due_at": t.callback_due_at,
        "external_source": t.external_source, "external_number": t.external_number,
        "external_due_at": t.external_due_at, "call_id": t.call_id if show_caller else None,
        "recording_ref": t.recording_ref if show_caller else None,
        "assignments": [assignment(a) for a in t.assignments],
        "events": [event(e) for e in t.events],
        "available_actions": [
            {"key": k, "label": REGISTRY[k].label, "target": getattr(target, "id", None),
             "path": f"{base}/{k}"}
            for k, target in offered.items() if not REGISTRY[k].on_case],
        "waiting": {k: err.message for k, err in waiting.items()},
    })
    return out
