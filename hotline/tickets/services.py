"""The ticket lifecycle: one function per transition of DESIGN.md.

Every function here takes the acting user and the ticket version the user saw, checks
role, unit, version and state in that order, changes the ticket, writes exactly one
event and commits; or raises a DomainError (stable code, Chinese message) and leaves the
database as it was. The web UI, the API and the scheduler all call these; nothing else
changes a ticket's state.

Concurrency: the ticket row is read with SELECT ... FOR UPDATE (PostgreSQL; SQLite
serialises writers with BEGIN IMMEDIATE) and the version column is also checked by the
ORM on UPDATE, so of two simultaneous actions on one ticket exactly one wins and the
other gets STALE_VERSION.
"""
from __future__ import annotations

import functools
import re
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.exc import StaleDataError

from hotline.admin.models import Category, Unit
from hotline.auth.models import User
from hotline.callbacks.models import Callback
from hotline.clock import now as clock_now
from hotline.deadlines.services import calendar, due_for, limit_for
from hotline.enums import (HANDLING_STATES, OPEN_ASSIGNMENT_STATES, AssignmentRole, AssignmentState, Channel, Closure,
                           DeadlineClock, EventAction, ExtensionState, RequestType, Resolution,
                           ReturnDecision, ReturnReason, Role, Satisfaction, SupervisionReason,
                           SupervisionState, TicketState, UnitKind, Urgency)
from hotline.errors import (DomainError, NotFound, PermissionDenied, StaleVersion, ValidationFailed,
                            clean_text)
from hotline.escalation.models import SupervisionCase
from hotline.extensions import db
from hotline.tickets.models import (Assignment, ExtensionRequest, Reply, Ticket, TicketEvent,
                                    TicketReturn, TicketSequence)

PHONE_RE = re.compile(r"^[0-9+\-]{5,20}$")
MAX_FAILED_CALLBACKS = 3


# --- plumbing -------------------------------------------------------------------------
def transition(fn):
    """Run a transition as one transaction: commit on success, roll back on any error."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except StaleDataError:
            db.session.rollback()
            raise StaleVersion() from None
        except BaseException:
            db.session.rollback()
            raise

    return wrapper


def _lock_ticket(ticket_id: int) -> Ticket:
    stmt = (
        sa.select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update(of=Ticket)
        .execution_options(populate_existing=True)
    )
    ticket = db.session.execute(stmt).unique().scalar_one_or_none()
    if ticket is None:
        raise NotFound()
    return ticket


def _require_role(actor: User | None, *roles: Role) -> None:
    if actor is None or not actor.is_active or not actor.has_role(*roles):
        names = "、".join(r.label for r in roles)
        raise PermissionDenied("FORBIDDEN_ROLE", f"您没有执行此操作的权限（需要角色：{names}）")


def _check_version(ticket: Ticket, version) -> None:
    try:
        seen = int(version)
    except (TypeError, ValueError):
        raise ValidationFailed("缺少工单版本号，请刷新页面后重试", field="version") from None
    if seen != ticket.version:
        raise StaleVersion(current_version=ticket.version)


def _require_state(ticket: Ticket, action: EventAction, *states: TicketState) -> None:
    if ticket.state not in states:
        raise DomainError(
            "INVALID_STATE",
            f"工单当前状态为「{ticket.state.label}」，不能执行「{action.label}」",
            state=ticket.state.value,
        )


def _can_act_for(actor: User, assignment: Assignment, *, allow_handler: bool = True) -> bool:
    unit = actor.unit
    if assignment.unit.path.startswith(unit.path):
        return True
    handler = assignment.handler_unit
    return allow_handler and handler is not None and handler.path.startswith(unit.path)


def _actor_assignment(ticket: Ticket, actor: User, assignment_id=None, *,
                      allow_handler: bool = True) -> Assignment:
    """The active assignment the unit user acts on (theirs, or one below their unit)."""
    mine = [a for a in ticket.active_assignments() if _can_act_for(actor, a, allow_handler=allow_handler)]
    if assignment_id is not None:
        mine = [a for a in mine if a.id == int(assignment_id)]
    if not mine:
        raise PermissionDenied("NOT_YOUR_UNIT", "该工单未派给您的单位，不能操作")
    mine.sort(key=lambda a: (a.role is not AssignmentRole.LEAD, a.id))
    return mine[0]


def _require_co_units_heard(ticket: Ticket, at: datetime) -> None:
    """The lead's reply consolidates the co-units': it waits for each co-unit still
    handling within its deadline (an overdue co-unit does not hold the citizen's answer)."""
    waiting = [a.unit.name for a in ticket.active_assignments()
               if a.role is AssignmentRole.CO and a.state in OPEN_ASSIGNMENT_STATES and at <= a.handle_due_at]
    if waiting:
        raise DomainError("CO_UNITS_PENDING", f"协办单位尚未反馈：{'、'.join(waiting)}，请汇总其意见后再答复",
                          units=waiting)


def _require_instruction_read(ticket: Ticket) -> None:
    """A leader's instruction on the ticket's supervision case must be read first."""
    unread = db.session.scalar(sa.select(SupervisionCase.id).where(
        SupervisionCase.ticket_id == ticket.id, SupervisionCase.state == SupervisionState.OPEN,
        SupervisionCase.instruction.is_not(None), SupervisionCase.instruction_seen_at.is_(None)))
    if unread:
        raise DomainError("INSTRUCTION_UNREAD", "该工单有领导批示，请先阅读并确认后再办理")


def _require_assignment_state(assignment: Assignment, action: EventAction, *states: AssignmentState):
    if assignment.state not in states:
        raise DomainError(
            "INVALID_STATE",
            f"本单位的派单状态为「{assignment.state.label}」，不能执行「{action.label}」",
            state=assignment.state.value,
        )


_text = clean_text


def _enum(enum_cls, value, field: str, label: str):
    try:
        return enum_cls.coerce(value)
    except ValueError:
        raise ValidationFailed(f"{label}的取值无效", field=field) from None


def _record(ticket: Ticket, actor: User | None, action: EventAction, from_state: TicketState | None,
            *, note: str = "", payload: dict | None = None, assignment: Assignment | None = None,
            at: datetime | None = None) -> TicketEvent:
    at = at or clock_now()
    ticket.updated_at = at
    if sa.inspect(ticket).persistent:
        ticket.version += 1  # exactly one version per transition
    event = TicketEvent(
        ticket=ticket,
        assignment_id=assignment.id if assignment is not None else None,
        actor_id=actor.id if actor is not None else None,
        actor_unit_id=actor.unit_id if actor is not None else None,
        at=at,
        action=action,
        from_state=from_state,
        to_state=ticket.state,
        note=note or "",
        payload=payload or {},
    )
    db.session.add(event)
    return event


def _active_unit(unit_id, field: str) -> Unit:
    if unit_id in (None, "", 0, "0"):
        raise ValidationFailed("请选择承办单位", field=field)
    unit = db.session.get(Unit, int(unit_id))
    if unit is None or not unit.active:
        raise ValidationFailed("所选单位不存在或已停用", field=field)
    if unit.kind is UnitKind.CENTRE:
        raise ValidationFailed("不能派给热线中心本身，请选择承办单位", field=field)
    return unit


def allocate_number(moment: datetime) -> str:
    """Next ticket number of the day, `12345-YYYYMMDD-NNNNNN`, by one atomic upsert.

    The upsert takes the day's row lock until the transaction ends, so two intakes at the
    same moment get different numbers, on PostgreSQL as on SQLite, and a rolled-back
    intake hands its number back instead of leaving a gap that was never used.
    """
    day = moment.date()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(TicketSequence).values(day=day, last=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[TicketSequence.day], set_={"last": TicketSequence.last + 1}
    ).returning(TicketSequence.last)
    seq = db.session.execute(stmt).scalar_one()
    if seq > 999_999:
        raise DomainError("NUMBER_EXHAUSTED", "当日工单编号已用完")
    return f"12345-{day:%Y%m%d}-{seq:06d}"


def warn_at(start: datetime, due: datetime) -> datetime:
    """The warning moment: a configured fraction (default 80%) of the allowed time."""
    fraction = float(current_app.config.get("WARN_FRACTION", 0.8))
    return start + (due - start) * fraction


def _deadlines(ticket: Ticket, start: datetime) -> dict:
    rt, urg = ticket.request_type, ticket.urgency
    sign = due_for(DeadlineClock.SIGN, rt, urg, start)
    handle = due_for(DeadlineClock.HANDLE, rt, urg, start)
    ret = due_for(DeadlineClock.RETURN, rt, urg, start)
    return {
        "sign_due_at": sign.at,
        "sign_warn_at": warn_at(start, sign.at),
        "handle_due_at": handle.at,
        "handle_started_at": start,
        "handle_warn_at": warn_at(start, handle.at),
        "handle_due_original_at": handle.at,
        "return_due_at": ret.at,
        "calendar_confirmed": sign.confirmed and handle.confirmed and ret.confirmed,
    }


def _create_assignments(ticket: Ticket, actor: User, lead: Unit, cos: list[Unit], at: datetime,
                        round_no: int) -> list[Assignment]:
    clocks = _deadlines(ticket, at)
    created = []
    for unit, role in [(lead, AssignmentRole.LEAD)] + [(u, AssignmentRole.CO) for u in cos]:
        a = Assignment(ticket=ticket, unit=unit, role=role, state=AssignmentState.DISPATCHED,
                       active=True, round=round_no, dispatched_at=at, dispatched_by_id=actor.id,
                       **clocks)
        db.session.add(a)
        created.append(a)
    ticket.lead_unit_id = lead.id
    ticket.dispatched_at = at
    return created


def _units_for_dispatch(lead_unit_id, co_unit_ids) -> tuple[Unit, list[Unit]]:
    lead = _active_unit(lead_unit_id, "lead_unit_id")
    cos, seen = [], {lead.id}
    for uid in co_unit_ids or ():
        unit = _active_unit(uid, "co_unit_ids")
        if unit.id in seen:
            raise ValidationFailed("主办单位与协办单位不能重复", field="co_unit_ids")
        seen.add(unit.id)
        cos.append(unit)
    return lead, cos


def _assignment_payload(assignments: list[Assignment]) -> dict:
    return {
        "assignments": [
            {"unit_id": a.unit.id, "unit": a.unit.name, "role": a.role.value,
             "sign_due_at": a.sign_due_at.isoformat(), "handle_due_at": a.handle_due_at.isoformat(),
             "calendar_confirmed": a.calendar_confirmed}
            for a in assignments
        ]
    }


def _finish(ticket: Ticket, closure: Closure, at: datetime) -> None:
    ticket.state = TicketState.CLOSED
    ticket.closure = closure
    ticket.closed_at = at
    for a in ticket.active_assignments():
        if a.state in (AssignmentState.DISPATCHED, AssignmentState.SIGNED, AssignmentState.REPLIED):
            a.state = AssignmentState.DONE


# --- intake ---------------------------------------------------------------------------
TICKET_FIELDS = ("channel", "request_type", "category_id", "urgency", "caller_name", "caller_phone",
                 "confidential", "address", "district_id", "title", "content")


def _validate_draft(draft: dict) -> dict:
    phone = re.sub(r"\s+", "", draft.get("caller_phone") or "")
    if not phone:
        raise ValidationFailed("请填写来电号码", field="caller_phone")
    if not PHONE_RE.match(phone):
        raise ValidationFailed("来电号码格式不正确（5-20位数字，可含 + 和 -）", field="caller_phone")
    category = db.session.get(Category, int(draft["category_id"])) if draft.get("category_id") else None
    if category is None or not category.active:
        raise ValidationFailed("请选择有效的诉求分类", field="category_id")
    district_id = draft.get("district_id") or None
    if district_id is not None:
        district = db.session.get(Unit, int(district_id))
        if district is None or district.kind is not UnitKind.DISTRICT:
            raise ValidationFailed("所选区县无效", field="district_id")
        district_id = district.id
    return {
        "channel": _enum(Channel, draft.get("channel") or Channel.PHONE, "channel", "来源渠道"),
        "request_type": _enum(RequestType, draft.get("request_type"), "request_type", "诉求类型"),
        "urgency": _enum(Urgency, draft.get("urgency") or Urgency.NORMAL, "urgency", "紧急程度"),
        "category_id": category.id,
        "caller_name": _text(draft.get("caller_name"), "caller_name", "来电人姓名", required=False, max_len=100),
        "caller_phone": phone,
        "confidential": bool(draft.get("confidential")),
        "address": _text(draft.get("address"), "address", "事发地址", required=False, max_len=300),
        "district_id": district_id,
        "title": _text(draft.get("title"), "title", "工单标题", max_len=200),
        "content": _text(draft.get("content"), "content", "诉求内容", max_len=10000),
    }


@transition
def record_ticket(actor: User, draft: dict, *, answer: str | None = None, kb_article_id=None,
                  auto_dispatch: bool = True, attachments=()) -> Ticket:
    """受理: record a citizen's request.

    With `answer` the operator answered on the call (直接答复) and the ticket closes in the
    same transaction. Otherwise it waits for dispatch, unless auto-dispatch is switched on
    and a certain routing rule matches: then it is dispatched at once, by that rule.
    """
    _require_role(actor, Role.OPERATOR, Role.DISPATCHER)
    fields = _validate_draft(draft)
    if answer is not None:
        answer = _text(answer, "answer", "答复内容")
    at = clock_now()
    ticket = Ticket(number=allocate_number(at), version=1, state=TicketState.PENDING_DISPATCH, created_at=at,
                    updated_at=at, created_by_id=actor.id, **fields)
    db.session.add(ticket)
    _record(ticket, actor, EventAction.RECORD, None, at=at)
    db.session.flush()
    _attach(ticket.id, attachments, actor, at)
    if answer is not None:
        _answer(ticket, actor, answer, kb_article_id, at)
    elif auto_dispatch:
        from hotline.routing.services import auto_dispatch_enabled, suggest

        suggestion = suggest(ticket.category_id, ticket.district_id)
        if suggestion.certain and auto_dispatch_enabled():
            _dispatch(ticket, actor, suggestion.lead, suggestion.co_units, at,
                      note=suggestion.explanation, extra={"auto": True, "rule_id": suggestion.rule.id})
    return ticket


def _attach(ticket_id: int, staged, actor: User, at: datetime, reply_id: int | None = None) -> None:
    """Rows for files staged on disk, in the same transaction as their ticket or reply."""
    if staged:
        from hotline.tickets.attachments import attachment_rows

        db.session.add_all(attachment_rows(ticket_id, list(staged), actor, at, reply_id))


def _answer(ticket: Ticket, actor: User, answer: str, kb_article_id, at: datetime) -> None:
    from hotline.intake.models import KnowledgeArticle

    article = db.session.get(KnowledgeArticle, int(kb_article_id)) if kb_article_id else None
    if kb_article_id and (article is None or not article.active):
        raise ValidationFailed("所选知识库条目不存在或已停用", field="kb_article_id")
    if article is not None:
        article.times_used += 1
    before = ticket.state
    ticket.direct_answer = answer
    ticket.kb_article_id = article.id if article else None
    _finish(ticket, Closure.ANSWERED, at)
    _record(ticket, actor, EventAction.ANSWER, before, note=answer, at=at,
            payload={"kb_article_id": ticket.kb_article_id, "kb_title": article.title if article else None})


@transition
def answer_directly(ticket_id: int, actor: User, version, answer: str, kb_article_id=None) -> Ticket:
    """直接答复: the operator answered on the call; the ticket closes at once."""
    _require_role(actor, Role.OPERATOR)
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    _require_state(ticket, EventAction.ANSWER, TicketState.PENDING_DISPATCH)
    _answer(ticket, actor, _text(answer, "answer", "答复内容"), kb_article_id, clock_now())
    return ticket


# --- dispatch, return, re-dispatch ----------------------------------------------------
@transition
def dispatch(ticket_id: int, actor: User, version, lead_unit_id, co_unit_ids=(), note: str = "") -> Ticket:
    """派单: send the ticket to a lead unit and optional co-units, each with its deadlines."""
    _require_role(actor, Role.DISPATCHER)
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    _require_state(ticket, EventAction.DISPATCH, TicketState.PENDING_DISPATCH)
    lead, cos = _units_for_dispatch(lead_unit_id, co_unit_ids)
    _dispatch(ticket, actor, lead, cos, clock_now(), note=note)
    return ticket


def _dispatch(ticket: Ticket, actor: User, lead: Unit, cos: list[Unit], at: datetime, *, note: str = "",
              extra: dict | None = None) -> None:
    created = _create_assignments(ticket, actor, lead, cos, at, round_no=1)
    ticket.state = TicketState.DISPATCHED
    db.session.flush()
    _record(ticket, actor, EventAction.DISPATCH, TicketState.PENDING_DISPATCH, note=note,
            payload={**_assignment_payload(created), **(extra or {})}, at=at)


@transition
def sign(ticket_id: int, actor: User, version, assignment_id=None) -> Ticket:
    """签收: the unit takes the ticket on."""
    _require_role(actor, Role.UNIT_STAFF)
    ticket = _lock_ticket(ticket_id)
    assignment = _actor_assignment(ticket, actor, assignment_id)
    _check_version(ticket, version)
    _require_assignment_state(assignment, EventAction.SIGN, AssignmentState.DISPATCHED)
    at = clock_now()
    before = ticket.state
    assignment.state = AssignmentState.SIGNED
    assignment.signed_at = at
    assignment.signed_by_id = actor.id
    if assignment.role is AssignmentRole.LEAD:
        _require_state(ticket, EventAction.SIGN, TicketState.DISPATCHED)
        ticket.state = TicketState.SIGNED
    _record(ticket, actor, EventAction.SIGN, before, assignment=assignment, at=at,
            payload={"unit": assignment.unit.name, "role": assignment.role.value,
                     "late": at > assignment.sign_due_at})
    return ticket


@transition
def hand_down(ticket_id: int, actor: User, version, sub_unit_id, note: str = "", assignment_id=None) -> Ticket:
    """下派: a unit hands its assignment (signed or not yet) to one of its sub-units and
    stays answerable; the sub-unit may then sign, handle and reply."""
    _require_role(actor, Role.UNIT_STAFF)
    ticket = _lock_ticket(ticket_id)
    assignment = _actor_assignment(ticket, actor, assignment_id)
    _check_version(ticket, version)
    _require_assignment_state(assignment, EventAction.HAND_DOWN, AssignmentState.DISPATCHED, AssignmentState.SIGNED)
    if assignment.role is AssignmentRole.LEAD:
        _require_state(ticket, EventAction.HAND_DOWN, TicketState.DISPATCHED, *HANDLING_STATES)
        _require_instruction_read(ticket)
    sub = db.session.get(Unit, int(sub_unit_id)) if sub_unit_id else None
    current = assignment.handler_unit or assignment.unit
    if (sub is None or not sub.active or sub.id in (assignment.unit_id, current.id)
            or not sub.is_within(assignment.unit) or not sub.is_within(actor.unit)):
        raise ValidationFailed("只能下派给本单位的下级单位", field="sub_unit_id")
    assignment.handler_unit = sub
    _record(ticket, actor, EventAction.HAND_DOWN, ticket.state, note=_text(note, "note", "下派说明", required=False),
            assignment=assignment, payload={"from_unit": current.name, "to_unit": sub.name, "to_unit_id": sub.id})
    return ticket


@transition
def return_ticket(ticket_id: int, actor: User, version, reason, reason_text: str = "",
                  assignment_id=None) -> TicketReturn:
    """退单: the unit sends a misrouted ticket back to the dispatcher with a reason."""
    _require_role(actor, Role.UNIT_STAFF)
    ticket = _lock_ticket(ticket_id)
    assignment = _actor_assignment(ticket, actor, assignment_id, allow_handler=False)
    _check_version(ticket, version)
    _require_assignment_state(assignment, EventAction.RETURN, AssignmentState.DISPATCHED, AssignmentState.SIGNED)
    if assignment.role is AssignmentRole.LEAD:
        _require_state(ticket, EventAction.RETURN, TicketState.DISPATCHED, TicketState.SIGNED)
    reason = _enum(ReturnReason, reason, "reason", "退单原因")
    reason_text = _text(reason_text, "reason_text", "退单说明", required=reason is ReturnReason.OTHER)
    if assignment.return_overruled:
        raise DomainError("RETURN_OVERRULED", "该工单的退单已被驳回，本单位须办理，不能再次退单")
    at = clock_now()
    if at > assignment.return_due_at:
        raise DomainError("RETURN_WINDOW_PASSED",
                          f"已超过退单时限（{assignment.return_due_at:%Y-%m-%d %H:%M}），不能退单")
    before = ticket.state
    assignment.state = AssignmentState.RETURNED
    if assignment.role is AssignmentRole.LEAD:
        ticket.state = TicketState.RETURNED
    ret = TicketReturn(ticket=ticket, assignment_id=assignment.id, unit_id=assignment.unit_id,
                       returned_by_id=actor.id, returned_at=at, reason=reason, reason_text=reason_text,
                       decision=ReturnDecision.PENDING)
    db.session.add(ret)
    _record(ticket, actor, EventAction.RETURN, before, note=reason_text, assignment=assignment, at=at,
            payload={"reason": reason.value, "reason_label": reason.label, "unit": assignment.unit.name,
                     "role": assignment.role.value})
    return ret


def _pending_return(ticket: Ticket, return_id) -> TicketReturn:
    ret = db.session.get(TicketReturn, int(return_id)) if return_id else None
    if ret is None or ret.ticket_id != ticket.id:
        raise ValidationFailed("退单记录不存在", field="return_id")
    if ret.decision is not ReturnDecision.PENDING:
        raise DomainError("RETURN_DECIDED", f"该退单已处理（{ret.decision.label}）")
    return ret


@transition
def redispatch(ticket_id: int, actor: User, version, return_id, lead_unit_id=None, co_unit_ids=(),
               note: str = "") -> Ticket:
    """改派: send a returned ticket to other units.

    A returned lead assignment replaces the whole dispatch (new lead, new co-units, new
    clocks); a returned co-assignment is dropped and the given co-units are added.
    """
    _require_role(actor, Role.DISPATCHER)
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    ret = _pending_return(ticket, return_id)
    returned = db.session.get(Assignment, ret.assignment_id)
    at = clock_now()
    before = ticket.state
    round_no = max(a.round for a in ticket.assignments) + 1
    if returned.role is AssignmentRole.LEAD:
        _require_state(ticket, EventAction.REDISPATCH, TicketState.RETURNED)
        lead, cos = _units_for_dispatch(lead_unit_id, co_unit_ids)
        for a in ticket.active_assignments():
            a.active = False
            if a.state is not AssignmentState.RETURNED:
                a.state = AssignmentState.CANCELLED
        created = _create_assignments(ticket, actor, lead, cos, at, round_no)
        ticket.state = TicketState.DISPATCHED
    else:
        _require_state(ticket, EventAction.REDISPATCH, *[st for st in TicketState if st.is_open])
        current_lead = ticket.lead_assignment
        _, cos = _units_for_dispatch(current_lead.unit_id, co_unit_ids)
        taken = {a.unit_id for a in ticket.active_assignments() if a.id != returned.id}
        if any(u.id in taken for u in cos):
            raise ValidationFailed("该单位已在办理此工单", field="co_unit_ids")
        returned.active = False
        clocks = _deadlines(ticket, at)
        created = []
        for unit in cos:
            a = Assignment(ticket=ticket, unit=unit, role=AssignmentRole.CO, state=AssignmentState.DISPATCHED,
                           active=True, round=round_no, dispatched_at=at, dispatched_by_id=actor.id, **clocks)
            db.session.add(a)
            created.append(a)
    ret.decision = ReturnDecision.REDISPATCHED
    ret.decided_by_id = actor.id
    ret.decided_at = at
    ret.decision_note = note
    db.session.flush()
    _record(ticket, actor, EventAction.REDISPATCH, before, note=note, at=at,
            payload={"return_id": ret.id, **_assignment_payload(created)})
    return ticket


@transition
def overrule_return(ticket_id: int, actor: User, version, return_id, note: str) -> Ticket:
    """驳回退单: the dispatcher holds that the unit is responsible; it must handle the ticket."""
    _require_role(actor, Role.DISPATCHER)
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    ret = _pending_return(ticket, return_id)
    note = _text(note, "note", "驳回理由")
    assignment = db.session.get(Assignment, ret.assignment_id)
    if assignment.role is AssignmentRole.LEAD:
        _require_state(ticket, EventAction.OVERRULE_RETURN, TicketState.RETURNED)
    else:
        _require_state(ticket, EventAction.OVERRULE_RETURN, *[st for st in TicketState if st.is_open])
    at = clock_now()
    before = ticket.state
    assignment.state = AssignmentState.SIGNED if assignment.signed_at else AssignmentState.DISPATCHED
    assignment.return_overruled = True
    if assignment.role is AssignmentRole.LEAD:
        ticket.state = TicketState.SIGNED if assignment.signed_at else TicketState.DISPATCHED
    ret.decision = ReturnDecision.OVERRULED
    ret.decided_by_id = actor.id
    ret.decided_at = at
    ret.decision_note = note
    _record(ticket, actor, EventAction.OVERRULE_RETURN, before, note=note, assignment=assignment, at=at,
            payload={"return_id": ret.id, "unit": assignment.unit.name})
    return ticket


# --- extensions -----------------------------------------------------------------------
@transition
def request_extension(ticket_id: int, actor: User, version, requested_due_at: datetime, reason: str,
                      assignment_id=None) -> ExtensionRequest:
    """延期申请: asked before the handle deadline, within the policy's maximum."""
    _require_role(actor, Role.UNIT_STAFF)
    ticket = _lock_ticket(ticket_id)
    assignment = _actor_assignment(ticket, actor, assignment_id)
    _check_version(ticket, version)
    _require_assignment_state(assignment, EventAction.REQUEST_EXTENSION, AssignmentState.SIGNED)
    if assignment.role is AssignmentRole.LEAD:
        _require_state(ticket, EventAction.REQUEST_EXTENSION, *HANDLING_STATES)
        _require_instruction_read(ticket)
    reason = _text(reason, "reason", "延期理由")
    if not isinstance(requested_due_at, datetime):
        raise ValidationFailed("请填写申请延期至的时间", field="requested_due_at")
    at = clock_now()
    if at >= assignment.handle_due_at:
        raise DomainError("EXTENSION_TOO_LATE", "已超过办理时限，不能再申请延期")
    if requested_due_at <= assignment.handle_due_at:
        raise ValidationFailed("申请的期限须晚于当前办理期限", field="requested_due_at")
    limit = limit_for(DeadlineClock.EXTENSION_MAX, ticket.request_type, ticket.urgency)
    if limit is None:
        raise DomainError("EXTENSION_NOT_ALLOWED", f"{ticket.urgency.label}工单不允许延期")
    latest = calendar().add(assignment.handle_due_original_at, *limit).at
    if requested_due_at > latest:
        raise ValidationFailed(f"延期不能超过{limit[0]}{limit[1].label}（最晚 {latest:%Y-%m-%d %H:%M}）",
                               field="requested_due_at")
    pending = db.session.scalar(sa.select(ExtensionRequest.id).where(
        ExtensionRequest.assignment_id == assignment.id, ExtensionRequest.state == ExtensionState.PENDING))
    if pending:
        raise DomainError("EXTENSION_PENDING", "已有待审批的延期申请")
    req = ExtensionRequest(ticket=ticket, assignment=assignment, requested_by_id=actor.id, requested_at=at,
                           reason=reason, old_due_at=assignment.handle_due_at, requested_due_at=requested_due_at,
                           state=ExtensionState.PENDING)
    db.session.add(req)
    _record(ticket, actor, EventAction.REQUEST_EXTENSION, ticket.state, note=reason, assignment=assignment, at=at,
            payload={"old_due_at": assignment.handle_due_at.isoformat(),
                     "requested_due_at": requested_due_at.isoformat()})
    return req


def _pending_extension(ticket: Ticket, request_id) -> ExtensionRequest:
    req = db.session.get(ExtensionRequest, int(request_id)) if request_id else None
    if req is None or req.ticket_id != ticket.id:
        raise ValidationFailed("延期申请不存在", field="request_id")
    if req.state is not ExtensionState.PENDING:
        raise DomainError("EXTENSION_DECIDED", f"该延期申请已处理（{req.state.label}）")
    return req


@transition
def approve_extension(ticket_id: int, actor: User, version, request_id, note: str = "",
                      new_due_at: datetime | None = None) -> Ticket:
    """同意延期: the assignment's handle deadline moves."""
    _require_role(actor, Role.DISPATCHER)
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    req = _pending_extension(ticket, request_id)
    assignment = req.assignment
    if not assignment.active or assignment.state is not AssignmentState.SIGNED:
        raise DomainError("INVALID_STATE", "该单位已不在办理中，延期申请无需审批")
    new_due = new_due_at or req.requested_due_at
    if not (assignment.handle_due_at < new_due <= req.requested_due_at):
        raise ValidationFailed("批准的期限须晚于当前期限且不晚于申请的期限", field="new_due_at")
    at = clock_now()
    old = assignment.handle_due_at
    assignment.handle_due_at = new_due
    assignment.handle_warn_at = warn_at(assignment.handle_started_at or assignment.dispatched_at, new_due)
    if new_due > at:  # a new deadline: not overdue, and escalation starts over from it
        assignment.handle_overdue_at = None
        assignment.escalation_level = 1
    assignment.extension_count += 1
    req.state = ExtensionState.APPROVED
    req.decided_by_id, req.decided_at, req.decision_note, req.new_due_at = actor.id, at, note, new_due
    _record(ticket, actor, EventAction.APPROVE_EXTENSION, ticket.state, note=note, assignment=assignment, at=at,
            payload={"request_id": req.id, "old_due_at": old.isoformat(), "new_due_at": new_due.isoformat()})
    return ticket


@transition
def refuse_extension(ticket_id: int, actor: User, version, request_id, note: str) -> Ticket:
    """拒绝延期: the deadline stays."""
    _require_role(actor, Role.DISPATCHER)
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    req = _pending_extension(ticket, request_id)
    note = _text(note, "note", "拒绝理由")
    at = clock_now()
    req.state = ExtensionState.REFUSED
    req.decided_by_id, req.decided_at, req.decision_note = actor.id, at, note
    _record(ticket, actor, EventAction.REFUSE_EXTENSION, ticket.state, note=note, assignment=req.assignment,
            at=at, payload={"request_id": req.id})
    return ticket


# --- reply and review -----------------------------------------------------------------
@transition
def reply(ticket_id: int, actor: User, version, result: str, actions_taken: str = "",
          contacted_citizen: bool = False, contact_note: str = "", public_text: str = "",
          assignment_id=None, attachments=()) -> Reply:
    """办结反馈: the lead unit replies to the centre; a co-unit replies to the lead unit."""
    _require_role(actor, Role.UNIT_STAFF)
    ticket = _lock_ticket(ticket_id)
    assignment = _actor_assignment(ticket, actor, assignment_id)
    _check_version(ticket, version)
    action = EventAction.REPLY if assignment.role is AssignmentRole.LEAD else EventAction.CO_REPLY
    _require_assignment_state(assignment, action, AssignmentState.SIGNED)
    if assignment.role is AssignmentRole.LEAD:
        _require_state(ticket, action, *HANDLING_STATES)
        _require_instruction_read(ticket)
        _require_co_units_heard(ticket, clock_now())
    result = _text(result, "result", "办理结果", max_len=10000)
    at = clock_now()
    row = Reply(ticket=ticket, assignment_id=assignment.id, unit_id=assignment.unit_id, author_id=actor.id,
                created_at=at, result=result,
                actions_taken=_text(actions_taken, "actions_taken", "办理过程", required=False, max_len=10000),
                contacted_citizen=bool(contacted_citizen),
                contact_note=_text(contact_note, "contact_note", "联系情况", required=False),
                public_text=_text(public_text, "public_text", "公开答复", required=False))
    db.session.add(row)
    before = ticket.state
    assignment.state = AssignmentState.REPLIED
    assignment.replied_at = at
    assignment.reply_working_days = calendar().working_days_between(assignment.dispatched_at, at)
    payload = {"unit": assignment.unit.name, "late": at > assignment.handle_due_at}
    if assignment.role is AssignmentRole.LEAD:
        ticket.state = TicketState.REPLIED
        cos = [a for a in ticket.active_assignments() if a.role is AssignmentRole.CO]
        payload["co_replied"] = [a.unit.name for a in cos if a.state is AssignmentState.REPLIED]
        payload["co_pending"] = [a.unit.name for a in cos if a.state is not AssignmentState.REPLIED]
    db.session.flush()
    _attach(ticket.id, attachments, actor, at, reply_id=row.id)
    payload["reply_id"] = row.id
    _record(ticket, actor, action, before, note=result, assignment=assignment, at=at, payload=payload)
    return row


def _latest_lead_reply(ticket: Ticket) -> Reply:
    lead = ticket.lead_assignment
    return db.session.scalars(
        sa.select(Reply).where(Reply.ticket_id == ticket.id, Reply.assignment_id == lead.id)
        .order_by(Reply.id.desc()).limit(1)).one()


@transition
def review(ticket_id: int, actor: User, version, accept: bool, note: str = "") -> Ticket:
    """审核: accept the reply (to callback) or send it back to the unit with a note."""
    _require_role(actor, Role.DISPATCHER)
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    action = EventAction.REVIEW_ACCEPT if accept else EventAction.REVIEW_REJECT
    _require_state(ticket, action, TicketState.REPLIED)
    note = _text(note, "note", "退回意见", required=not accept)
    at = clock_now()
    row = _latest_lead_reply(ticket)
    row.reviewed_at, row.review_ok, row.review_note = at, bool(accept), note
    if accept:
        ticket.state = TicketState.REVIEWED
        ticket.callback_due_at = due_for(DeadlineClock.CALLBACK, ticket.request_type, ticket.urgency, at).at
    else:
        ticket.state = TicketState.REOPENED if ticket.reopen_count else TicketState.SIGNED
        ticket.lead_assignment.state = AssignmentState.SIGNED
    _record(ticket, actor, action, TicketState.REPLIED, note=note, at=at,
            assignment=ticket.lead_assignment, payload={"reply_id": row.id})
    return ticket


# --- callback, reopen, close ----------------------------------------------------------
def failed_callback_count(ticket: Ticket) -> int:
    return db.session.scalar(sa.select(sa.func.count(Callback.id)).where(
        Callback.ticket_id == ticket.id, Callback.round == ticket.reopen_count,
        Callback.reached.is_(False)))


@transition
def record_callback(ticket_id: int, actor: User, version, reached: bool, resolution=None,
                    satisfaction=None, citizen_words: str = "", request_reasonable=None,
                    note: str = "") -> Callback:
    """回访: one call to the citizen.

    满意/基本满意 close the ticket. 不满意 reopens it to the same lead unit under a
    supervision case (重办) in the same transaction, except when the agent judged the
    request unreasonable: then it waits as 回访不满意 for a supervisor to decide whether it
    counts (reopen) or not (confirm_unreasonable), and does not count against the unit
    until then.
    """
    _require_role(actor, Role.CALLBACK_AGENT)
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    _require_state(ticket, EventAction.CALLBACK, TicketState.REVIEWED)
    at = clock_now()
    cb = Callback(ticket_id=ticket.id, agent_id=actor.id, created_at=at, round=ticket.reopen_count,
                  reached=bool(reached), note=_text(note, "note", "备注", required=False))
    before = ticket.state
    if reached:
        cb.resolution = _enum(Resolution, resolution, "resolution", "解决情况")
        cb.satisfaction = _enum(Satisfaction, satisfaction, "satisfaction", "满意度")
        cb.citizen_words = _text(citizen_words, "citizen_words", "市民意见", required=False)
        cb.request_reasonable = None if request_reasonable in (None, "") else bool(request_reasonable)
        if cb.satisfaction is Satisfaction.UNSATISFIED:
            ticket.state = TicketState.UNSATISFIED
        else:
            _finish(ticket, Closure.SATISFIED, at)
    db.session.add(cb)
    db.session.flush()
    payload = {"callback_id": cb.id, "reached": cb.reached}
    if reached:
        payload.update(resolution=cb.resolution.value, satisfaction=cb.satisfaction.value,
                       satisfaction_label=cb.satisfaction.label, request_reasonable=cb.request_reasonable)
    else:
        payload["failed_attempts"] = failed_callback_count(ticket)
    _record(ticket, actor, EventAction.CALLBACK, before, note=cb.citizen_words or cb.note, at=at, payload=payload)
    if ticket.state is TicketState.UNSATISFIED and cb.request_reasonable is not False:
        _reopen(ticket, actor, "回访不满意，重办（自动立督办单）", at)
    return cb


def _reopen(ticket: Ticket, actor: User, note: str, at: datetime) -> SupervisionCase:
    lead = ticket.lead_assignment
    handle = due_for(DeadlineClock.HANDLE, ticket.request_type, ticket.urgency, at)
    lead.state = AssignmentState.SIGNED
    lead.handle_due_at = lead.handle_due_original_at = handle.at
    lead.handle_started_at = at
    lead.handle_warn_at = warn_at(at, handle.at)
    lead.handle_overdue_at = None
    lead.escalation_level = 1
    lead.calendar_confirmed = handle.confirmed
    ticket.reopen_count += 1
    ticket.state = TicketState.REOPENED
    ticket.callback_due_at = None
    case = db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.ticket_id == ticket.id)
                              .order_by(SupervisionCase.id.desc()).limit(1)).first()
    case_due = calendar().add_working_days(at, current_app.config["SUPERVISION_DUE_WORKING_DAYS"]).at
    case_due = max(case_due, handle.at)
    if case is not None and case.state is SupervisionState.OPEN:
        if case.level < 3:
            _escalate_case_again(case, ticket, at)
        case.due_at = case_due
    else:
        case = SupervisionCase(ticket_id=ticket.id, unit_id=lead.unit_id, reason=SupervisionReason.UNSATISFIED,
                               state=SupervisionState.OPEN, level=min(case.level + 1, 3) if case else 1,
                               opened_at=at, opened_by_id=actor.id, due_at=case_due)
        db.session.add(case)
    db.session.flush()
    _record(ticket, actor, EventAction.REOPEN, TicketState.UNSATISFIED, note=note, assignment=lead, at=at,
            payload={"supervision_case_id": case.id, "level": case.level,
                     "handle_due_at": handle.at.isoformat(), "round": ticket.reopen_count})
    return case


def _escalate_case_again(case: SupervisionCase, ticket: Ticket, at: datetime) -> None:
    """A second 不满意 raises the open case one level, on record like the scheduler's steps."""
    from hotline.escalation.models import Escalation, Notification

    case.level += 1
    unit = case.unit
    target = unit.supervising_unit.id if case.level == 2 and unit.supervising_unit else \
        db.session.scalar(sa.select(Unit.id).where(Unit.kind == UnitKind.CENTRE).order_by(Unit.id).limit(1))
    db.session.add(Escalation(subject="case", subject_id=case.id, ticket_id=ticket.id, level=case.level,
                              from_unit_id=unit.id, to_unit_id=target, reason="unsatisfied_again",
                              due_at=case.due_at, created_at=at, run_token="reopen"))
    for unit_id in {unit.id, target} - {None}:
        db.session.add(Notification(unit_id=unit_id, ticket_id=ticket.id, kind="escalation", created_at=at,
                                    title=f"升级督办：工单 {ticket.number} 再次回访不满意，督办升级"))


def _flagged_callback(ticket: Ticket) -> Callback | None:
    return db.session.scalars(sa.select(Callback).where(Callback.ticket_id == ticket.id)
                              .order_by(Callback.id.desc()).limit(1)).first()


@transition
def reopen(ticket_id: int, actor: User, version, note: str) -> Ticket:
    """重办 by decision: a 不满意 the agent flagged as an unreasonable request is judged to
    count after all; the ticket goes back to the same lead unit under supervision.

    A second 不满意 on a ticket escalates its supervision case one level (at most 3).
    """
    _require_role(actor, Role.SUPERVISOR)
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    _require_state(ticket, EventAction.REOPEN, TicketState.UNSATISFIED)
    note = _text(note, "note", "重办要求")
    at = clock_now()
    cb = _flagged_callback(ticket)
    if cb is not None and cb.request_reasonable is False:
        cb.supervisor_decision, cb.decided_by_id, cb.decided_at = "counted", actor.id, at
    _reopen(ticket, actor, note, at)
    return ticket


@transition
def confirm_unreasonable(ticket_id: int, actor: User, version, note: str) -> Ticket:
    """诉求不合理办结: the supervisor confirms the agent's view that the request was
    unreasonable; the 不满意 does not count against the unit and the ticket closes."""
    _require_role(actor, Role.SUPERVISOR)
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    _require_state(ticket, EventAction.CONFIRM_UNREASONABLE, TicketState.UNSATISFIED)
    note = _text(note, "note", "裁定理由")
    cb = _flagged_callback(ticket)
    if cb is None or cb.request_reasonable is not False:
        raise DomainError("NOT_FLAGGED", "回访员未判定该诉求不合理，不能按诉求不合理办结")
    at = clock_now()
    cb.supervisor_decision, cb.decided_by_id, cb.decided_at = "excluded", actor.id, at
    _finish(ticket, Closure.UNREASONABLE, at)
    _record(ticket, actor, EventAction.CONFIRM_UNREASONABLE, TicketState.UNSATISFIED, note=note, at=at,
            payload={"callback_id": cb.id})
    return ticket


@transition
def merge(ticket_id: int, actor: User, version, into_ticket_id, note: str = "") -> Ticket:
    """并单: a duplicate waiting for dispatch is closed into the ticket it repeats."""
    _require_role(actor, Role.DISPATCHER)
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    _require_state(ticket, EventAction.MERGE, TicketState.PENDING_DISPATCH)
    master = db.session.get(Ticket, int(into_ticket_id)) if into_ticket_id else None
    if master is None or master.id == ticket.id:
        raise ValidationFailed("请选择要并入的另一张工单", field="into_ticket_id")
    if master.closure is Closure.MERGED:
        raise ValidationFailed(f"工单 {master.number} 本身已被并单，请并入主工单", field="into_ticket_id")
    at = clock_now()
    ticket.merged_into_id = master.id
    _finish(ticket, Closure.MERGED, at)
    _record(ticket, actor, EventAction.MERGE, TicketState.PENDING_DISPATCH, note=note, at=at,
            payload={"into_ticket_id": master.id, "into_number": master.number})
    return ticket


@transition
def close(ticket_id: int, actor: User, version, closure, note: str = "") -> Ticket:
    """办结归档 for the endings that are not a satisfied callback:

    - 未联系上 (unreachable): by a callback agent, after three failed callback attempts;
    - 无效工单 (invalid): by a dispatcher, for a ticket still waiting for dispatch.
    """
    closure = _enum(Closure, closure, "closure", "办结方式")
    if closure is Closure.UNREACHABLE:
        _require_role(actor, Role.CALLBACK_AGENT)
    elif closure is Closure.INVALID:
        _require_role(actor, Role.DISPATCHER)
    else:
        raise ValidationFailed("该办结方式不能直接使用", field="closure")
    ticket = _lock_ticket(ticket_id)
    _check_version(ticket, version)
    if closure is Closure.UNREACHABLE:
        _require_state(ticket, EventAction.CLOSE, TicketState.REVIEWED)
        failed = failed_callback_count(ticket)
        if failed < MAX_FAILED_CALLBACKS:
            raise DomainError("CALLBACK_ATTEMPTS",
                              f"需回访 {MAX_FAILED_CALLBACKS} 次均未联系上才能按未联系上办结（当前 {failed} 次）")
    else:
        _require_state(ticket, EventAction.CLOSE, TicketState.PENDING_DISPATCH)
        note = _text(note, "note", "无效原因")
    at = clock_now()
    before = ticket.state
    _finish(ticket, closure, at)
    _record(ticket, actor, EventAction.CLOSE, before, note=note, at=at,
            payload={"closure": closure.value, "closure_label": closure.label})
    return ticket
