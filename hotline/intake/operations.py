"""受理 (intake): record a citizen's request, answer it on the call (直接答复)."""
from __future__ import annotations

from datetime import datetime


from hotline.auth.models import User
from hotline.clock import now as clock_now
from hotline.dispatch.operations import dispatch_to
from hotline.enums import Closure, EventAction, Role, TicketState
from hotline.errors import DomainError, ValidationFailed
from hotline.extensions import db
from hotline.intake.cases import new_query_code
from hotline.intake.drafts import int_or_none, validate_draft
from hotline.intake.models import KnowledgeArticle
from hotline.lifecycle.events import record
from hotline.lifecycle.guards import in_state, require_role, text
from hotline.lifecycle.registry import perform, register
from hotline.routing.services import auto_dispatch_enabled, certain_match, suggest
from hotline.tickets.attachments import attach
from hotline.tickets.closing import finish
from hotline.tickets.models import Ticket
from hotline.tickets.numbering import number_of_day

#: The other endings of a call the intake page offers (besides saving and 直接答复).
INTAKE_ENDINGS = ("refuse_intake", "transfer")
#: Who records requests (a CTI switch's or a platform's account has one of these roles).
INTAKE_ROLES = (Role.OPERATOR, Role.DISPATCHER)


def record_ticket(actor: User, draft: dict, *, answer: str | None = None, kb_article_id=None,
                  auto_dispatch: bool = True, attachments=(), ending: tuple[str, dict] | None = None,
                  origin: dict | None = None, with_rows=()) -> Ticket:
    """受理: record a citizen's request (flushes; the caller commits).

    With `answer` the operator answered on the call (直接答复) and the ticket closes in the
    same transaction. With `ending` = (action key, input) the call ends another way in the
    same transaction: 不予受理 ("refuse_intake") or 转应急处置 ("transfer"), performed through
    the registry. Otherwise it waits for dispatch, unless auto-dispatch is switched on
    and a certain routing rule matches: then it is dispatched at once, by that rule.
    An anonymous request gets its query code (查询码) here. `origin` holds the checked
    telephony, platform and Open311 columns of a ticket recorded through an interface
    (hotline.intake.origin), set before any dispatch so a platform's time limit binds it.
    `with_rows`: new rows that belong with the ticket, as (row, its column that refers to
    the ticket) pairs, written with the ticket and its event (the API's idempotency key:
    one statement on PostgreSQL, so the day's number is held locked for one round trip
    less); a row refused by a unique constraint fails the intake (IntegrityError).
    """
    require_role(actor, *INTAKE_ROLES)
    fields = validate_draft(draft)
    if answer is not None:
        answer = text(answer, "answer", "答复内容")
    at = clock_now()
    if ending is not None and ending[0] not in INTAKE_ENDINGS:
        raise DomainError("UNKNOWN_ACTION", f"未知操作：{ending[0]}")
    query_code = new_query_code() if fields["anonymous"] else None
    rule = None
    if answer is None and ending is None and auto_dispatch and auto_dispatch_enabled():
        rule = certain_match(fields["category_id"], fields["district_id"])  # in memory
    ticket = Ticket(version=1, state=TicketState.PENDING_DISPATCH, created_at=at, updated_at=at,
                    created_by_id=actor.id, query_code=query_code, **fields, **(origin or {}))
    ticket.assignments = []  # new: nothing to load (no SELECT when read back)
    # Everything read and built, now the writes: the day's number, the ticket and its
    # event at once (write_now: one statement on PostgreSQL, no unit of work, nothing
    # read back). The number's upsert locks the day's row until the commit and every
    # other intake waits for it meanwhile, so on PostgreSQL it runs inside that one
    # statement (number_of_day), elsewhere just before it. The objects are then in the
    # session as if loaded, so what follows (直接答复, an ending, auto-dispatch) changes
    # them as any action does.
    ticket.number = number_of_day(at)
    record(ticket, actor, EventAction.RECORD, None, at=at, write_now=True, with_rows=with_rows)
    attach(ticket.id, attachments, actor, at)
    if answer is not None:
        answer_on_call(ticket, actor, answer, kb_article_id, at)
    elif ending is not None:
        perform(ending[0], ticket.id, actor, ticket.version, **ending[1])
    elif rule is not None:
        suggestion = suggest(ticket.category_id, ticket.district_id)
        if suggestion.certain:
            dispatch_to(ticket, actor, suggestion.lead, suggestion.co_units, at, note=suggestion.explanation,
                        extra={"auto": True, "rule_id": suggestion.rule.id})
    db.session.flush()
    return ticket


def answer_on_call(ticket: Ticket, actor: User, answer: str, kb_article_id, at: datetime) -> None:
    article_id = int_or_none(kb_article_id, "kb_article_id", "所选知识库条目不存在或已停用")
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
