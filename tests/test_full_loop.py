"""The whole closed loop in one story; the event list tells it in order."""
from datetime import datetime

import sqlalchemy as sa

from hotline.enums import AssignmentState, Closure, EventAction as A, SupervisionState, TicketState as S
from hotline.supervision.models import SupervisionCase
from hotline.extensions import db
from tests import svc
from hotline.tickets.models import Ticket, TicketEvent, TicketReturn
from tests.factories import at, later


def fresh(ticket_id) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def test_full_loop_tells_the_story_in_order(world):
    w = world
    at(datetime(2026, 11, 23, 9, 30))
    t = svc.record_ticket(w.operator, w.draft(request_type="complaint"))
    tid = t.id
    t = svc.dispatch(tid, w.dispatcher, t.version, w.housing.id, [w.water.id], note="请住建局主办，自来水公司协办")
    later(minutes=20)
    t = svc.sign(tid, w.housing_staff, t.version)
    later(minutes=30)
    ret = svc.return_ticket(tid, w.housing_staff, fresh(tid).version, "wrong_area", "该小区属东城区属地管理")
    later(minutes=15)
    t = fresh(tid)
    assert t.state is S.RETURNED
    t = svc.redispatch(tid, w.dispatcher, t.version, ret.id, w.district.id, [w.water.id], note="改派东城区")
    later(hours=1)
    t = svc.sign(tid, w.district_staff, t.version)
    lead = t.lead_assignment
    first_due = lead.handle_due_at
    ext = svc.request_extension(tid, w.district_staff, t.version, datetime(2026, 12, 18, 17, 0), "需协调电梯维保单位更换主板")
    t = svc.approve_extension(tid, w.dispatcher, fresh(tid).version, ext.id, note="同意")
    assert fresh(tid).lead_assignment.handle_due_at == datetime(2026, 12, 18, 17, 0) > first_due
    later(days=1)
    t = svc.sign(tid, w.water_staff, fresh(tid).version)
    svc.reply(tid, w.water_staff, t.version, "小区供水正常，电梯停运与供水无关。")  # the co-unit first
    later(days=1)
    svc.reply(tid, w.district_staff, fresh(tid).version, "已督促物业报修，维保单位承诺本周内修复。")
    t = svc.review(tid, w.dispatcher, fresh(tid).version, accept=False, note="请写明具体修复时间并联系市民")
    assert t.state is S.SIGNED
    later(days=1)
    svc.reply(tid, w.district_staff, t.version, "电梯主板已更换，11月26日恢复运行，已电话告知张先生。",
              contacted_citizen=True)
    t = svc.review(tid, w.dispatcher, fresh(tid).version, accept=True)
    assert t.state is S.REVIEWED and t.callback_due_at is not None
    later(hours=3)
    svc.record_callback(tid, w.callback_agent, t.version, reached=True, resolution="unresolved",
                        satisfaction="unsatisfied", citizen_words="电梯修好一天又坏了")
    t = fresh(tid)  # a reasonable 不满意 reopens at once, under a supervision case
    assert t.state is S.REOPENED and t.reopen_count == 1
    case = db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.ticket_id == tid)).one()
    assert case.state is SupervisionState.OPEN and case.level == 1
    later(days=2)
    svc.reply(tid, w.district_staff, t.version, "维保单位已更换整套控制系统，连续运行48小时无故障。")
    t = svc.review(tid, w.dispatcher, fresh(tid).version, accept=True)
    assert t.state is S.PENDING_SIGNOFF  # 领导签批 of the supervised ticket's re-handled result
    svc.act("signoff_approve", tid, w.leader, fresh(tid).version, words="同意，请回访")
    t = fresh(tid)
    later(hours=2)
    svc.record_callback(tid, w.callback_agent, t.version, reached=True, resolution="resolved",
                        satisfaction="satisfied", citizen_words="修好了，谢谢")
    t = fresh(tid)
    assert t.state is S.CLOSED and t.closure is Closure.SATISFIED
    assert all(a.state in (AssignmentState.DONE, AssignmentState.RETURNED, AssignmentState.CANCELLED)
               or not a.active for a in t.assignments)
    assert db.session.get(TicketReturn, ret.id).decision.value == "redispatched"

    story = [(e.action, e.from_state, e.to_state) for e in db.session.scalars(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id))]
    assert story == [
        (A.RECORD, None, S.PENDING_DISPATCH),
        (A.DISPATCH, S.PENDING_DISPATCH, S.DISPATCHED),
        (A.SIGN, S.DISPATCHED, S.SIGNED),
        (A.RETURN, S.SIGNED, S.RETURNED),
        (A.REDISPATCH, S.RETURNED, S.DISPATCHED),
        (A.SIGN, S.DISPATCHED, S.SIGNED),
        (A.REQUEST_EXTENSION, S.SIGNED, S.SIGNED),
        (A.APPROVE_EXTENSION, S.SIGNED, S.SIGNED),
        (A.SIGN, S.SIGNED, S.SIGNED),  # the co-unit signs ...
        (A.CO_REPLY, S.SIGNED, S.SIGNED),  # ... and replies to the lead
        (A.REPLY, S.SIGNED, S.REPLIED),
        (A.REVIEW_REJECT, S.REPLIED, S.SIGNED),
        (A.REPLY, S.SIGNED, S.REPLIED),
        (A.REVIEW_ACCEPT, S.REPLIED, S.REVIEWED),
        (A.CALLBACK, S.REVIEWED, S.UNSATISFIED),
        (A.REOPEN, S.UNSATISFIED, S.REOPENED),
        (A.REPLY, S.REOPENED, S.REPLIED),
        (A.REVIEW_ACCEPT, S.REPLIED, S.PENDING_SIGNOFF),
        (A.SIGNOFF_APPROVE, S.PENDING_SIGNOFF, S.REVIEWED),
        (A.CALLBACK, S.REVIEWED, S.CLOSED),
    ]
    # one version per action: the reasonable 不满意 is one action with two events
    assert t.version == len(story) - 1
    times = [e.at for e in t.events]
    assert times == sorted(times)
