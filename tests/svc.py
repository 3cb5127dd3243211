"""The lifecycle as tests drive it in Python: one call per action, with the arguments
spelled out, each performed through the registry (hotline.lifecycle.perform) and
committed in its own unit of work, as a page request would."""
from __future__ import annotations

from hotline import stages  # noqa: F401  (registers every lifecycle action)
from hotline.enums import Closure
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.intake.operations import record_ticket as _record_ticket
from hotline.lifecycle import perform, unit_of_work
from hotline.supervision.models import SupervisionCase


def act(key, ticket_id, actor, version=None, *, target=None, **data):
    with unit_of_work():
        return perform(key, ticket_id, actor, version, target=target, **data)


def record_ticket(actor, draft, **kw):
    with unit_of_work():
        return _record_ticket(actor, draft, **kw)


def answer_directly(tid, actor, version, answer, kb_article_id=None):
    return act("answer", tid, actor, version, answer=answer, kb_article_id=kb_article_id)


def dispatch(tid, actor, version, lead_unit_id, co_unit_ids=(), note=""):
    return act("dispatch", tid, actor, version, lead_unit_id=lead_unit_id, co_unit_ids=co_unit_ids, note=note)


def sign(tid, actor, version, assignment_id=None):
    return act("sign", tid, actor, version, target=assignment_id)


def hand_down(tid, actor, version, sub_unit_id, note="", assignment_id=None):
    return act("hand_down", tid, actor, version, target=assignment_id, sub_unit_id=sub_unit_id, note=note)


def return_ticket(tid, actor, version, reason, reason_text="", assignment_id=None):
    return act("return", tid, actor, version, target=assignment_id, reason=reason, reason_text=reason_text)


def redispatch(tid, actor, version, return_id, lead_unit_id=None, co_unit_ids=(), note=""):
    return act("redispatch", tid, actor, version, target=return_id, lead_unit_id=lead_unit_id,
               co_unit_ids=co_unit_ids, note=note)


def overrule_return(tid, actor, version, return_id, note):
    return act("overrule", tid, actor, version, target=return_id, note=note)


def request_extension(tid, actor, version, requested_due_at, reason, assignment_id=None):
    return act("extension", tid, actor, version, target=assignment_id, requested_due_at=requested_due_at,
               reason=reason)


def approve_extension(tid, actor, version, request_id, note="", new_due_at=None):
    return act("decide_extension", tid, actor, version, target=request_id, decision="approve", note=note,
               new_due_at=new_due_at).ticket


def refuse_extension(tid, actor, version, request_id, note):
    return act("decide_extension", tid, actor, version, target=request_id, decision="refuse", note=note).ticket


def reply(tid, actor, version, result, actions_taken="", contacted_citizen=False, contact_note="", public_text="",
          assignment_id=None, attachments=()):
    return act("reply", tid, actor, version, target=assignment_id, result=result, actions_taken=actions_taken,
               contacted_citizen=contacted_citizen, contact_note=contact_note, public_text=public_text,
               attachments=attachments)


def review(tid, actor, version, accept, note=""):
    return act("review", tid, actor, version, decision="accept" if accept else "reject", note=note)


def record_callback(tid, actor, version, reached, resolution=None, satisfaction=None, citizen_words="",
                    request_reasonable=None, note=""):
    return act("callback", tid, actor, version, reached=reached, resolution=resolution, satisfaction=satisfaction,
               citizen_words=citizen_words, request_reasonable=request_reasonable, note=note)


def reopen(tid, actor, version, note):
    return act("reopen", tid, actor, version, note=note)


def confirm_unreasonable(tid, actor, version, note):
    return act("confirm_unreasonable", tid, actor, version, note=note)


def merge(tid, actor, version, into_ticket_id, note=""):
    return act("merge", tid, actor, version, into_ticket_id=into_ticket_id, note=note)


def close(tid, actor, version, closure, note=""):
    """The two endings that are not a callback: 无效工单 and 未联系上."""
    try:
        closure = Closure.coerce(closure)
    except ValueError:
        closure = None
    if closure is Closure.INVALID:
        return act("close", tid, actor, version, note=note)
    if closure is Closure.UNREACHABLE:
        return act("close_unreachable", tid, actor, version, note=note)
    raise ValidationFailed("该办结方式不能直接使用", field="closure")


# --- supervision case actions (they act on the case, not on a ticket version) ----------
def _case(case_id) -> SupervisionCase:
    case = db.session.get(SupervisionCase, int(case_id))
    if case is None:
        raise ValidationFailed("督办单不存在", field="case_id")
    return case


def _case_act(key, case_id, actor, **data):
    case = _case(case_id)
    return act(key, case.ticket_id, actor, target=case.id, **data)


def report_progress(case_id, actor, text):
    return _case_act("progress", case_id, actor, text=text)


def give_instruction(case_id, actor, text):
    """领导批示 on the case's ticket."""
    return act("instruction", _case(case_id).ticket_id, actor, text=text)


def acknowledge_instruction(case_id, actor):
    """批示已阅 of the oldest unread instruction on the case's ticket."""
    return act("ack_instruction", _case(case_id).ticket_id, actor)


def accept_case(case_id, actor, note):
    return _case_act("accept_case", case_id, actor, note=note)
