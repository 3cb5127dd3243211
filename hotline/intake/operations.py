"""受理 (intake): record a citizen's request, answer it on the call (直接答复)."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite

from hotline.auth.models import User
from hotline.categories.models import Category
from hotline.clock import now as clock_now
from hotline.dispatch.operations import dispatch_to
from hotline.enums import Channel, Closure, EventAction, RequestType, Role, TicketState, UnitKind, Urgency
from hotline.errors import DomainError, ValidationFailed
from hotline.extensions import db
from hotline.intake.cases import new_query_code
from hotline.intake.models import KnowledgeArticle
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import coerce, in_state, require_role, text
from hotline.lifecycle.registry import perform, register
from hotline.routing.services import auto_dispatch_enabled, suggest
from hotline.tickets.attachments import attach
from hotline.tickets.closing import finish
from hotline.tickets.models import Ticket, TicketSequence
from hotline.units.models import Unit

#: The other endings of a call the intake page offers (besides saving and 直接答复).
INTAKE_ENDINGS = ("refuse_intake", "transfer")
PHONE_RE = re.compile(r"^[0-9+\-]{5,20}$")
TICKET_FIELDS = ("channel", "request_type", "category_id", "urgency", "anonymous", "caller_name", "caller_phone",
                 "confidential", "address", "district_id", "title", "content")
#: Channels where an anonymous citizen need not leave a phone (letters, web messages).
NO_PHONE_CHANNELS = (Channel.LETTER, Channel.WEBSITE, Channel.WECHAT, Channel.APP)


def allocate_number(moment: datetime) -> str:
    """Next ticket number of the day, `12345-YYYYMMDD-NNNNNN`, by one atomic upsert.

    The upsert takes the day's row lock until the transaction ends, so two intakes at the
    same moment get different numbers, on PostgreSQL as on SQLite, and a rolled-back
    intake hands its number back instead of leaving a gap that was never used.
    """
    day = moment.date()
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(TicketSequence).values(day=day, last=1).on_conflict_do_update(
        index_elements=[TicketSequence.day], set_={"last": TicketSequence.last + 1}).returning(TicketSequence.last)
    seq = db.session.execute(stmt).scalar_one()
    if seq > 999_999:
        raise DomainError("NUMBER_EXHAUSTED", "当日工单编号已用完")
    return f"12345-{day:%Y%m%d}-{seq:06d}"


def _int_or_none(value, field: str, message: str):
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(message, field=field) from None


def validate_draft(draft: dict) -> dict:
    """The recorded fields of a request, checked (intake and 修改 alike). An anonymous
    (匿名) request leaves no name, and by letter or web message no phone either."""
    channel = coerce(Channel, draft.get("channel") or Channel.PHONE, "channel", "来源渠道")
    anonymous = bool(draft.get("anonymous"))
    phone = re.sub(r"\s+", "", draft.get("caller_phone") or "")
    if not phone and not (anonymous and channel in NO_PHONE_CHANNELS):
        raise ValidationFailed("请填写联系电话" + ("（仅信件、网站、微信、APP 匿名诉求可不留电话）" if anonymous else ""),
                               field="caller_phone")
    if phone and not PHONE_RE.match(phone):
        raise ValidationFailed("联系电话格式不正确（5-20位数字，可含 + 和 -）", field="caller_phone")
    category_id = _int_or_none(draft.get("category_id"), "category_id", "请选择有效的诉求分类")
    category = db.session.get(Category, category_id) if category_id else None
    if category is None or not category.active:
        raise ValidationFailed("请选择有效的诉求分类", field="category_id")
    district_id = _int_or_none(draft.get("district_id"), "district_id", "所选区县无效")
    if district_id is not None:
        district = db.session.get(Unit, district_id)
        if district is None or district.kind is not UnitKind.DISTRICT:
            raise ValidationFailed("所选区县无效", field="district_id")
    return {
        "channel": channel,
        "request_type": coerce(RequestType, draft.get("request_type"), "request_type", "诉求类型"),
        "urgency": coerce(Urgency, draft.get("urgency") or Urgency.NORMAL, "urgency", "紧急程度"),
        "category_id": category.id,
        "anonymous": anonymous,
        "caller_name": "" if anonymous else text(draft.get("caller_name"), "caller_name", "诉求人姓名",
                                                 required=False, max_len=100),
        "caller_phone": phone,
        "confidential": bool(draft.get("confidential")),
        "address": text(draft.get("address"), "address", "事发地址", required=False, max_len=300),
        "district_id": district_id,
        "title": text(draft.get("title"), "title", "工单标题", max_len=200),
        "content": text(draft.get("content"), "content", "诉求内容", max_len=10000),
    }


def record_ticket(actor: User, draft: dict, *, answer: str | None = None, kb_article_id=None,
                  auto_dispatch: bool = True, attachments=(), ending: tuple[str, dict] | None = None) -> Ticket:
    """受理: record a citizen's request (flushes; the caller commits).

    With `answer` the operator answered on the call (直接答复) and the ticket closes in the
    same transaction. With `ending` = (action key, input) the call ends another way in the
    same transaction: 不予受理 ("refuse_intake") or 转应急处置 ("transfer"), performed through
    the registry. Otherwise it waits for dispatch, unless auto-dispatch is switched on
    and a certain routing rule matches: then it is dispatched at once, by that rule.
    An anonymous request gets its query code (查询码) here.
    """
    require_role(actor, Role.OPERATOR, Role.DISPATCHER)
    fields = validate_draft(draft)
    if answer is not None:
        answer = text(answer, "answer", "答复内容")
    at = clock_now()
    if ending is not None and ending[0] not in INTAKE_ENDINGS:
        raise DomainError("UNKNOWN_ACTION", f"未知操作：{ending[0]}")
    ticket = Ticket(number=allocate_number(at), version=1, state=TicketState.PENDING_DISPATCH, created_at=at,
                    updated_at=at, created_by_id=actor.id, **fields)
    if ticket.anonymous:
        ticket.query_code = new_query_code()
    db.session.add(ticket)
    record(ticket, actor, EventAction.RECORD, None, at=at)
    db.session.flush()
    attach(ticket.id, attachments, actor, at)
    if answer is not None:
        answer_on_call(ticket, actor, answer, kb_article_id, at)
    elif ending is not None:
        perform(ending[0], ticket.id, actor, ticket.version, **ending[1])
    elif auto_dispatch:
        suggestion = suggest(ticket.category_id, ticket.district_id)
        if suggestion.certain and auto_dispatch_enabled():
            dispatch_to(ticket, actor, suggestion.lead, suggestion.co_units, at, note=suggestion.explanation,
                        extra={"auto": True, "rule_id": suggestion.rule.id})
    db.session.flush()
    return ticket


def answer_on_call(ticket: Ticket, actor: User, answer: str, kb_article_id, at: datetime) -> None:
    article_id = _int_or_none(kb_article_id, "kb_article_id", "所选知识库条目不存在或已停用")
    article = db.session.get(KnowledgeArticle, article_id) if article_id else None
    if article_id and (article is None or not article.active):
        raise ValidationFailed("所选知识库条目不存在或已停用", field="kb_article_id")
    if article is not None:
        article.times_used += 1
    before = ticket.state
    ticket.direct_answer = answer
    ticket.kb_article_id = article.id if article else None
    finish(ticket, Closure.ANSWERED, at)
    record(ticket, actor, EventAction.ANSWER, before, note=answer, at=at,
           payload={"kb_article_id": ticket.kb_article_id, "kb_title": article.title if article else None})


@register("answer", "直接答复", (Role.OPERATOR,), stage="intake", check=in_state(EventAction.ANSWER.label, TicketState.PENDING_DISPATCH),
          message="已直接答复办结")
def answer_directly(ticket: Ticket, actor: User, target, at: datetime, data: dict) -> Ticket:
    """直接答复: the operator answers a waiting ticket; it closes at once."""
    answer_on_call(ticket, actor, text(data.get("answer"), "answer", "答复内容"), data.get("kb_article_id"), at)
    return ticket
