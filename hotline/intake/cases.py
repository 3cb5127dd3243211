"""受理 cases: 不予受理, 转应急处置, 回退 and correction, anonymous requests, 撤单.

Lifecycle actions of this step (registered with hotline.lifecycle.register):

- `refuse_intake` 不予受理: a reason from the `refusal_reasons` setting, with the words the
  operator reads to the citizen; closes with Closure.REFUSED.
- `transfer` 转应急处置: an emergency handed to 110/119/120/122; closes with
  Closure.TRANSFERRED, the line and the moment of the transfer kept on the ticket.
- `send_back` 回退: the dispatcher sends a badly recorded ticket back to the operator
  (TicketState.SENT_BACK), who is notified.
- `edit` 修改: the operator corrects the recorded fields (the intake's validation); the
  event keeps the changed fields' old and new values; back to PENDING_DISPATCH.
- `withdraw` 撤单: the citizen withdraws; closes with Closure.WITHDRAWN.

Anonymous requests (匿名) are recorded by hotline.intake.operations (query_code here) and
closed at review without a callback (hotline.review.operations).
"""
from __future__ import annotations

import secrets
from datetime import date, datetime

import sqlalchemy as sa

from hotline import settings
from hotline.auth.models import User
from hotline.categories.models import Category
from hotline.enums import Channel, Closure, EmergencyLine, EventAction, NotificationKind, RequestType, Role, \
    TicketState, Urgency
from hotline.errors import DomainError, ValidationFailed
from hotline.extensions import db
from hotline.intake.drafts import validate_draft
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import coerce, in_state, text
from hotline.lifecycle.registry import register
from hotline.notifications.services import notify
from hotline.tickets.closing import finish
from hotline.tickets.models import Ticket
from hotline.units.models import Unit

#: States in which a ticket is still at intake (recorded, not yet dispatched).
INTAKE_STATES = (TicketState.PENDING_DISPATCH, TicketState.SENT_BACK)
OPEN_STATES = tuple(st for st in TicketState if st.is_open)

# --- settings ---------------------------------------------------------------------------
#: 不予受理 reasons: key, label and the words the operator reads to the citizen.
REFUSAL_REASONS = "refusal_reasons"
DEFAULT_REFUSAL_REASONS = [
    {"key": "litigation", "label": "涉法涉诉",
     "script": "您反映的事项已进入诉讼、仲裁程序，按规定不属于12345热线受理范围，"
               "请您通过人民法院、仲裁机构等法定途径依法解决。感谢您的来电。"},
    {"key": "petition", "label": "信访事项",
     "script": "您反映的事项属于信访事项，按规定由信访部门依法处理，"
               "请您向有权处理的信访工作机构提出，我们无法按热线工单受理。感谢您的来电。"},
    {"key": "out_of_area", "label": "非本行政区域",
     "script": "您反映的事项不在本市行政区域内，请您联系事发地的12345热线或相关部门反映。感谢您的来电。"},
    {"key": "no_substance", "label": "无实质内容",
     "script": "您好，由于您未能说明具体诉求事项，我们暂时无法受理。如有具体诉求，欢迎您再次来电。"},
    {"key": "other", "label": "其他",
     "script": "您反映的事项不属于12345热线受理范围，我们已向您说明原因。感谢您的来电。"},
]


def refusal_reasons() -> list[dict]:
    """The configured reasons (the setting, else the default list), each with key/label/script."""
    reasons = settings.value(REFUSAL_REASONS, DEFAULT_REFUSAL_REASONS)
    if not isinstance(reasons, list):
        return list(DEFAULT_REFUSAL_REASONS)
    good = [r for r in reasons if isinstance(r, dict) and r.get("key") and r.get("label")]
    return [{"key": str(r["key"]), "label": str(r["label"]), "script": str(r.get("script") or "")}
            for r in good] or list(DEFAULT_REFUSAL_REASONS)


def refusal_reason(key) -> dict | None:
    return next((r for r in refusal_reasons() if r["key"] == key), None)


# --- anonymous requests -----------------------------------------------------------------
#: Uppercase letters and digits without the look-alikes 0/O, 1/I/L.
QUERY_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
QUERY_CODE_LENGTH = 8


def new_query_code() -> str:
    """A fresh 8-character code no other ticket has (the citizen checks /status with it)."""
    for _ in range(20):
        code = "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))
        if db.session.scalar(sa.select(Ticket.id).where(Ticket.query_code == code).limit(1)) is None:
            return code
    raise DomainError("QUERY_CODE_EXHAUSTED", "无法生成查询码，请重试")


# --- 不予受理 ------------------------------------------------------------------------------
@register("refuse_intake", "不予受理", (Role.OPERATOR, Role.DISPATCHER), stage="intake",
          check=in_state(EventAction.REFUSE_INTAKE.label, *INTAKE_STATES), message="已不予受理并办结")
def refuse_intake(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """不予受理: a reason from the configured list; the ticket closes (Closure.REFUSED)."""
    reason = refusal_reason((data.get("reason") or "").strip())
    if reason is None:
        raise ValidationFailed("请选择不予受理的理由", field="reason")
    note = text(data.get("note"), "note", "说明", required=reason["key"] == "other", max_len=2000)
    before = ticket.state
    ticket.refusal_reason = reason["key"]
    finish(ticket, Closure.REFUSED, at)
    record(ticket, actor, EventAction.REFUSE_INTAKE, before, note=note, at=at,
           payload={"reason": reason["key"], "reason_label": reason["label"], "script": reason["script"]})
    return ticket


# --- 转应急处置 ----------------------------------------------------------------------------
@register("transfer", "转应急处置", (Role.OPERATOR, Role.DISPATCHER), stage="intake",
          check=in_state(EventAction.TRANSFER.label, *INTAKE_STATES),
          message=lambda t: f"已转{t.transferred_to}应急处置")
def transfer(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """转应急处置: the call went to an emergency line; the ticket closes (Closure.TRANSFERRED)."""
    if data.get("line") in (None, ""):
        raise ValidationFailed("请选择转接的应急热线", field="line")
    line = coerce(EmergencyLine, data.get("line"), "line", "应急热线")
    moment = data.get("transferred_at") or at
    if isinstance(moment, date) and not isinstance(moment, datetime):
        raise ValidationFailed("请填写转接时间（日期和时刻）", field="transferred_at")
    if not isinstance(moment, datetime):
        raise ValidationFailed("转接时间格式不正确", field="transferred_at")
    if moment > at:
        raise ValidationFailed("转接时间不能晚于当前时间", field="transferred_at")
    note = text(data.get("note"), "note", "转接说明", required=False, max_len=2000)
    before = ticket.state
    ticket.transferred_to, ticket.transferred_at = line.value, moment
    finish(ticket, Closure.TRANSFERRED, at)
    record(ticket, actor, EventAction.TRANSFER, before, note=note, at=at,
           payload={"line": line.value, "line_label": line.label, "transferred_at": moment.isoformat()})
    return ticket


# --- 回退 ----------------------------------------------------------------------------------
@register("send_back", "回退话务员", (Role.DISPATCHER,), stage="intake",
          check=in_state(EventAction.SEND_BACK.label, TicketState.PENDING_DISPATCH), message="已退回话务员修改")
def send_back(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """回退: a badly recorded ticket goes back to the operator who recorded it, with a note."""
    note = text(data.get("note"), "note", "退回说明", max_len=2000)
    before = ticket.state
    ticket.state = TicketState.SENT_BACK
    who = {"user_id": ticket.created_by_id} if ticket.created_by_id else {"role": Role.OPERATOR.value}
    notify(NotificationKind.SENT_BACK, at, title=f"工单 {ticket.number} 被退回受理，请修改后重新提交",
           body=note, ticket_id=ticket.id, **who)
    record(ticket, actor, EventAction.SEND_BACK, before, note=note, at=at,
           payload={"operator_id": ticket.created_by_id})
    return ticket


# --- 修改 ----------------------------------------------------------------------------------
#: The fields an edit may change, with their Chinese names (the history shows them).
EDIT_LABELS = {
    "channel": "来源渠道", "request_type": "诉求类型", "category_id": "诉求分类", "urgency": "紧急程度",
    "anonymous": "匿名", "caller_name": "诉求人姓名", "caller_phone": "联系电话", "confidential": "保密",
    "address": "事发地址", "district_id": "所属区县", "title": "工单标题", "content": "诉求内容",
}
#: Fields that identify the citizen (hidden from units on confidential tickets).
CALLER_FIELDS = ("caller_name", "caller_phone")


def _plain(value):
    """A field's value as JSON keeps it (enums by value)."""
    return getattr(value, "value", value)


def _shown(name: str, value) -> str:
    """A field's value in words, for the history."""
    if value is None or value == "":
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if name == "category_id":
        category = db.session.get(Category, value)
        return category.full_name if category else str(value)
    if name == "district_id":
        unit = db.session.get(Unit, value)
        return unit.name if unit else str(value)
    enum = {"channel": Channel, "request_type": RequestType, "urgency": Urgency}.get(name)
    if enum is not None:
        return enum.coerce(value).label
    return str(value)


@register("edit", "修改工单", (Role.OPERATOR, Role.DISPATCHER), stage="intake",
          check=in_state(EventAction.EDIT.label, *INTAKE_STATES), message="工单已修改")
def edit(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """修改: the recorded fields corrected with the intake's validation; the event keeps
    {"changes": {field: [old, new]}} of the fields that changed; back to waiting for dispatch."""

    fields = validate_draft(data)
    changes = {}
    for name in EDIT_LABELS:
        old, new = _plain(getattr(ticket, name)), _plain(fields[name])
        if old != new:
            changes[name] = [old, new]
    if not changes:
        raise DomainError("NOTHING_CHANGED", "没有修改任何内容，工单未变更")
    before = ticket.state
    for name in changes:
        setattr(ticket, name, fields[name])
    if ticket.anonymous and not ticket.query_code:
        ticket.query_code = new_query_code()
    ticket.state = TicketState.PENDING_DISPATCH
    note = text(data.get("note"), "note", "修改说明", required=False, max_len=2000)
    readable = [[name, EDIT_LABELS[name], _shown(name, old), _shown(name, new)] for name, (old, new) in changes.items()]
    record(ticket, actor, EventAction.EDIT, before, note=note, at=at,
           payload={"changes": changes, "readable": readable})
    return ticket


# --- 撤单 ----------------------------------------------------------------------------------
@register("withdraw", "市民撤单", (Role.OPERATOR, Role.DISPATCHER, Role.CALLBACK_AGENT), stage="intake",
          check=in_state(EventAction.WITHDRAW.label, *OPEN_STATES), message="诉求人已撤单，工单办结")
def withdraw(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """撤单: the citizen withdraws the request; open work ends (Closure.WITHDRAWN) and the
    lead unit, if any, is told."""
    note = text(data.get("note"), "note", "诉求人撤单的说法", max_len=2000)
    before = ticket.state
    lead_unit_id = ticket.lead_unit_id if ticket.active_assignments() else None
    finish(ticket, Closure.WITHDRAWN, at)
    if lead_unit_id:
        notify(NotificationKind.WITHDRAWN, at, title=f"工单 {ticket.number} 诉求人已撤单，无需继续办理",
               body=note, unit_id=lead_unit_id, ticket_id=ticket.id)
    record(ticket, actor, EventAction.WITHDRAW, before, note=note, at=at,
           payload={"lead_unit_id": lead_unit_id})
    return ticket
