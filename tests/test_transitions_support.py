"""Helpers shared by the lifecycle transition tests (tests/test_transitions_*.py).

No tests live here. The helpers:

- `snapshot(ticket_id)`: a fresh read (after expire_all, through Core selects, so no
  identity-map object can hide a change) of the ticket row, its events, its assignments,
  its related rows (replies, returns, extension requests, callbacks, supervision cases)
  and the row counts of every ticket table, as plain data that compares with `==`.
- `refused(ticket_id, call, expect)`: runs an illegal call, checks the DomainError
  subclass, its `.code` (and `.field`), and that the snapshot is exactly as before.
- `applied(ticket_id, call)`: runs a legal call, checks the version went up by exactly
  one and exactly one event was appended with the earlier ones untouched.
- `make(world, name)`: a ticket driven through the real services to a named situation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest
import sqlalchemy as sa

from hotline.callbacks.models import Callback
from hotline.enums import Closure, ReturnReason, Satisfaction
from hotline.errors import DomainError, PermissionDenied, StaleVersion, ValidationFailed
from hotline.supervision.models import SupervisionCase
from hotline.extensions import db
from tests import svc
from hotline.tickets.models import (Assignment, ExtensionRequest, Reply, Ticket, TicketEvent,
                                    TicketReturn, TicketSequence)

# --- the calendar of the tests -------------------------------------------------------
# The conftest clock starts on Monday 2026-11-23 09:30; a normal 求助 (help) ticket
# dispatched then is due to be signed in 1 working day, handled in 5, returned within 2.
NOW = datetime(2026, 11, 23, 9, 30)
SIGN_DUE = datetime(2026, 11, 24, 9, 30)
RETURN_DUE = datetime(2026, 11, 25, 9, 30)
HANDLE_DUE = datetime(2026, 11, 30, 9, 30)
#: 10 working days after HANDLE_DUE: the latest an extension may reach.
EXTENSION_MAX = datetime(2026, 12, 14, 9, 30)
EXTENDED_TO = datetime(2026, 12, 4, 9, 30)

REPLY_TEXT = "已联系物业公司修复电梯，恢复运行。"

# --- expected refusals ---------------------------------------------------------------
ROLE = (PermissionDenied, "FORBIDDEN_ROLE", None)
UNIT = (PermissionDenied, "NOT_YOUR_UNIT", None)
STALE = (StaleVersion, "STALE_VERSION", None)
STATE = (DomainError, "INVALID_STATE", None)


def invalid(field_name: str):
    return (ValidationFailed, "VALIDATION", field_name)


def code(name: str):
    return (DomainError, name, None)


# --- snapshots -----------------------------------------------------------------------
RELATED = (Reply, TicketReturn, ExtensionRequest, Callback, SupervisionCase)
COUNTED = (Ticket, TicketEvent, Assignment, *RELATED, TicketSequence)


def _rows(model, *where) -> list[dict]:
    table = model.__table__
    order = table.c.id if "id" in table.c else list(table.primary_key.columns)[0]
    stmt = sa.select(table).where(*where).order_by(order)
    return [dict(r) for r in db.session.execute(stmt).mappings()]


def snapshot(ticket_id: int | None) -> dict:
    """Everything a transition could change about a ticket, read fresh from the database."""
    db.session.expire_all()
    snap: dict = {
        "counts": {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m.__table__))
                   for m in COUNTED},
        "sequences": _rows(TicketSequence),
    }
    if ticket_id is None:
        return snap
    tickets = _rows(Ticket, Ticket.__table__.c.id == ticket_id)
    assert len(tickets) == 1, f"ticket {ticket_id} not found"
    snap["ticket"] = tickets[0]
    snap["events"] = _rows(TicketEvent, TicketEvent.__table__.c.ticket_id == ticket_id)
    snap["event_keys"] = [(e["id"], e["action"], e["from_state"], e["to_state"]) for e in snap["events"]]
    snap["assignments"] = _rows(Assignment, Assignment.__table__.c.ticket_id == ticket_id)
    for model in RELATED:
        snap[model.__tablename__] = _rows(model, model.__table__.c.ticket_id == ticket_id)
    return snap


def refused(ticket_id, call, expect) -> DomainError:
    """Run an illegal call: it raises the expected error and changes nothing at all."""
    error, code_, field_name = expect
    before = snapshot(ticket_id)
    with pytest.raises(error) as info:
        call()
    err = info.value
    assert err.code == code_, f"expected {code_}, got {err.code}: {err.message}"
    if field_name is not None:
        assert err.field == field_name, f"expected field {field_name!r}, got {err.field!r}"
    after = snapshot(ticket_id)
    assert after == before, "a refused transition changed the database"
    return err


@dataclass
class Applied:
    result: object
    event: dict
    before: dict
    after: dict

    @property
    def ticket(self) -> dict:
        return self.after["ticket"]

    def assignment(self, assignment_id: int) -> dict:
        return next(a for a in self.after["assignments"] if a["id"] == assignment_id)

    def new_rows(self, model) -> list[dict]:
        old = {r["id"] for r in self.before[model.__tablename__]}
        return [r for r in self.after[model.__tablename__] if r["id"] not in old]


def applied(ticket_id, call) -> Applied:
    """Run a legal call: version +1, exactly one new event, earlier events untouched."""
    before = snapshot(ticket_id)
    result = call()
    after = snapshot(ticket_id)
    assert after["ticket"]["version"] == before["ticket"]["version"] + 1
    n = len(before["events"])
    assert after["events"][:n] == before["events"], "earlier events were changed"
    new = after["events"][n:]
    assert len(new) == 1, f"expected exactly one new event, got {[e['action'] for e in new]}"
    return Applied(result, new[0], before, after)


def version(ticket_id: int) -> int:
    return db.session.scalar(sa.select(Ticket.version).where(Ticket.id == ticket_id))


def fresh_ticket(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def assignment_of(ticket_id: int, unit, *, active_only: bool = True) -> Assignment:
    db.session.expire_all()
    stmt = sa.select(Assignment).where(Assignment.ticket_id == ticket_id, Assignment.unit_id == unit.id)
    if active_only:
        stmt = stmt.where(Assignment.active.is_(True))
    return db.session.scalars(stmt.order_by(Assignment.id.desc())).first()


# --- situations ----------------------------------------------------------------------
@dataclass
class Ctx:
    """A ticket in a named situation: `c.t` its id, `c.v` its current version."""

    w: object
    t: int
    extra: dict = field(default_factory=dict)

    @property
    def v(self) -> int:
        return version(self.t)

    def __getattr__(self, name):
        try:
            return self.__dict__["extra"][name]
        except KeyError:
            raise AttributeError(name) from None


def _pending(w):
    return Ctx(w, w.record().id)


def _answered(w):
    t = w.record()
    svc.answer_directly(t.id, w.operator, t.version, "已告知市民物业报修电话。")
    return Ctx(w, t.id)


def _dispatched(w):
    return Ctx(w, w.dispatched().id)


def _dispatched_to_street(w):
    return Ctx(w, w.dispatched(lead=w.street).id)


def _dispatched_co(w):
    t = w.dispatched(cos=[w.housing])
    return Ctx(w, t.id, {"co": assignment_of(t.id, w.housing).id})


def _signed(w):
    return Ctx(w, w.signed().id)


def _signed_co(w):
    """Lead (district) signed; co-unit (housing) still to sign."""
    t = w.signed(cos=[w.housing])
    return Ctx(w, t.id, {"co": assignment_of(t.id, w.housing).id})


def _co_signed(w):
    """Lead (district) and co-unit (housing) both signed."""
    c = _signed_co(w)
    svc.sign(c.t, w.housing_staff, c.v, assignment_id=c.co)
    return c


def _urgent_signed(w):
    return Ctx(w, w.signed(urgency="urgent").id)


def _handed_down(w):
    c = _signed(w)
    svc.hand_down(c.t, w.district_staff, c.v, w.street.id, note="请东华街道核实处理")
    return c


def _returned(w):
    c = _dispatched(w)
    ret = svc.return_ticket(c.t, w.district_staff, c.v, ReturnReason.NOT_OUR_DUTY, "电梯维修属住建部门")
    c.extra["return_id"] = ret.id
    return c


def _returned_after_sign(w):
    c = _signed(w)
    ret = svc.return_ticket(c.t, w.district_staff, c.v, ReturnReason.WRONG_AREA, "地址不在本区")
    c.extra["return_id"] = ret.id
    return c


def _co_returned(w):
    t = w.dispatched(cos=[w.housing, w.water])
    c = Ctx(w, t.id, {"co": assignment_of(t.id, w.housing).id, "water_co": assignment_of(t.id, w.water).id})
    ret = svc.return_ticket(c.t, w.housing_staff, c.v, ReturnReason.NOT_OUR_DUTY, "非住建职责",
                            assignment_id=c.co)
    c.extra["return_id"] = ret.id
    return c


def _overruled(w):
    c = _returned(w)
    svc.overrule_return(c.t, w.dispatcher, c.v, c.return_id, "属地管理，须由东城区办理")
    return c


def _redispatched(w):
    c = _returned(w)
    svc.redispatch(c.t, w.dispatcher, c.v, c.return_id, lead_unit_id=w.housing.id)
    return c


def _extension_pending(w):
    c = _signed(w)
    req = svc.request_extension(c.t, w.district_staff, c.v, EXTENDED_TO, "需协调电梯厂家更换配件")
    c.extra["request_id"] = req.id
    return c


def _extension_approved(w):
    c = _extension_pending(w)
    svc.approve_extension(c.t, w.dispatcher, c.v, c.request_id, "同意")
    return c


def _extension_refused(w):
    c = _extension_pending(w)
    svc.refuse_extension(c.t, w.dispatcher, c.v, c.request_id, "理由不充分")
    return c


def _replied(w):
    return Ctx(w, w.replied().id)


def _reviewed(w):
    return Ctx(w, w.reviewed().id)


def _unsatisfied(w):
    return Ctx(w, w.unsatisfied().id)


def _reopened(w):
    c = _unsatisfied(w)
    svc.reopen(c.t, w.supervisor, c.v, "市民反映电梯仍未修好，请重新办理")
    return c


def _closed(w):
    c = _reviewed(w)
    svc.record_callback(c.t, w.callback_agent, c.v, reached=True, resolution="resolved",
                        satisfaction=Satisfaction.SATISFIED, citizen_words="修好了，谢谢")
    return c


def _merged(w):
    master = w.record()
    dup = w.record(caller_phone="13900002222")
    svc.merge(dup.id, w.dispatcher, dup.version, master.id, "同一部电梯")
    return Ctx(w, dup.id, {"master": master.id})


def _invalid(w):
    c = _pending(w)
    svc.close(c.t, w.dispatcher, c.v, Closure.INVALID, "骚扰电话")
    return c


SITUATIONS = {
    "pending": _pending,
    "answered": _answered,
    "dispatched": _dispatched,
    "dispatched_to_street": _dispatched_to_street,
    "dispatched_co": _dispatched_co,
    "signed": _signed,
    "signed_co": _signed_co,
    "co_signed": _co_signed,
    "urgent_signed": _urgent_signed,
    "handed_down": _handed_down,
    "returned": _returned,
    "returned_after_sign": _returned_after_sign,
    "co_returned": _co_returned,
    "overruled": _overruled,
    "redispatched": _redispatched,
    "extension_pending": _extension_pending,
    "extension_approved": _extension_approved,
    "extension_refused": _extension_refused,
    "replied": _replied,
    "reviewed": _reviewed,
    "unsatisfied": _unsatisfied,
    "reopened": _reopened,
    "closed": _closed,
    "merged": _merged,
    "invalid": _invalid,
}


def make(world, name: str) -> Ctx:
    return SITUATIONS[name](world)


def case(case_id: str, situation: str, call, expect):
    """One row of a refusal table: the call takes the Ctx."""
    return pytest.param(situation, call, expect, id=case_id)
