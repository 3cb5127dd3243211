"""The rest of the centre's process in the demo, played at the real now after the ticket
and supervision stories, on tickets already in the right place: 回退 and 修改, 不予受理,
转应急处置, 撤单, 挂起, 申请终止, 上级协调, 领导签批 and 批示, 立督办单 and 催办,
阶段性答复 kept open as 纳入计划, 甄别, 拆单 and an anonymous letter closed without a
callback. Each step goes through the lifecycle (perform) and commits on its own."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from hotline.clock import now as clock_now
from hotline.demo.player import act
from hotline.enums import AssignmentRole, Role, TicketState
from hotline.extensions import db
from hotline.lifecycle import available_actions
from hotline.supervision.queries import unread_instructions
from hotline.tickets.models import Ticket


def _one(state: TicketState, used: set, *, need=None) -> Ticket | None:
    """A ticket in `state` not used by another story yet (and passing `need`)."""
    for t in db.session.scalars(sa.select(Ticket).where(Ticket.state == state).order_by(Ticket.id.desc())):
        if t.id not in used and (need is None or need(t)):
            used.add(t.id)
            return t
    return None


def _lead_staff(users, t: Ticket):
    unit_id = t.lead_unit_id
    return next((u for u in users.values() if u.unit_id == unit_id and u.has_role(Role.UNIT_STAFF)), None)


def _offered(key: str, t: Ticket, user) -> bool:
    return user is not None and key in available_actions(db.session.get(Ticket, t.id), user)


def process_stories(users) -> dict:
    """Play each path once; returns how many tickets each path took (for the summary)."""
    role = {r: next(u for u in users.values() if u.has_role(r) and len(u.roles) == 1)
            for r in (Role.OPERATOR, Role.DISPATCHER, Role.CALLBACK_AGENT, Role.SUPERVISOR, Role.LEADER)}
    operator, dispatcher, agent, supervisor, leader = (role[r] for r in (
        Role.OPERATOR, Role.DISPATCHER, Role.CALLBACK_AGENT, Role.SUPERVISOR, Role.LEADER))
    used: set[int] = set()
    played: dict[str, int] = {}

    def play(name, ticket, steps):
        if ticket is None:
            return
        for key, user, data in steps:
            if not _offered(key, ticket, user):
                break
            act(key, ticket.id, user, **data)
        played[name] = played.get(name, 0) + 1

    soon = (clock_now() + timedelta(days=14)).date()
    # intake: sent back and corrected; sent back and left with the operator; refused; transferred
    t = _one(TicketState.PENDING_DISPATCH, used)
    play("回退后修改", t, [("send_back", dispatcher, {"note": "事发地址不完整，请与诉求人核实门牌号"})])
    if t is not None:
        fresh = db.session.get(Ticket, t.id)
        draft = dict(channel=fresh.channel.value, request_type=fresh.request_type.value,
                     category_id=fresh.category_id, urgency=fresh.urgency.value, anonymous=False,
                     caller_name=fresh.caller_name, caller_phone=fresh.caller_phone,
                     confidential=fresh.confidential, address=(fresh.address or "幸福路") + "（已核实门牌）",
                     district_id=fresh.district_id, title=fresh.title, content=fresh.content)
        play("回退后修改", t, [("edit", operator, draft)])
    play("回退待修改", _one(TicketState.PENDING_DISPATCH, used),
         [("send_back", dispatcher, {"note": "诉求内容记录不清，请回拨诉求人补充"})])
    play("不予受理", _one(TicketState.PENDING_DISPATCH, used),
         [("refuse_intake", operator, {"reason": "litigation"})])
    play("转应急处置", _one(TicketState.PENDING_DISPATCH, used),
         [("transfer", operator, {"line": "119"})])
    # the citizen withdraws a ticket a unit is handling
    play("撤单", _one(TicketState.SIGNED, used),
         [("withdraw", operator, {"note": "诉求人来电表示问题已自行解决，申请撤回"})])
    # 挂起: approved (still suspended); 申请终止: approved
    t = _one(TicketState.SIGNED, used, need=lambda t: t.lead_assignment is not None)
    staff = _lead_staff(users, t) if t else None
    play("挂起", t, [("request_suspension", staff, {"reason": "诉求人出国，需待其回国后现场核实",
                                                    "expected_resume_on": soon}),
                     ("decide_suspension", dispatcher, {"decision": "approve", "note": "同意挂起，请按期恢复办理"})])
    t = _one(TicketState.SIGNED, used, need=lambda t: t.lead_assignment is not None)
    staff = _lead_staff(users, t) if t else None
    play("终止", t, [("request_termination", staff, {"reason": "被投诉商户已注销，诉求对象不存在，无法办理"}),
                     ("decide_termination", supervisor, {"decision": "approve", "note": "经核实属实，同意终止"})])
    # 上级协调: a ticket returned again by its lead unit
    # (one its lead unit may still return now: the return window is counted from dispatch to
    # the real now, so which tickets qualify depends on the hour the demo is loaded)
    t = _one(TicketState.DISPATCHED, used, need=lambda t: t.lead_assignment is not None
             and t.lead_assignment.role is AssignmentRole.LEAD and not t.lead_assignment.return_overruled
             and _offered("return", t, _lead_staff(users, t)))
    if t is not None:
        staff = _lead_staff(users, t)
        play("上级协调", t, [("return", staff, {"reason": "unclear_ownership", "reason_text": "权属不清，非本单位职责"})])
        fresh = db.session.get(Ticket, t.id)
        if fresh.state is TicketState.RETURNED:  # first return: re-dispatched, then returned again
            units = [u for u in users.values() if u.has_role(Role.UNIT_STAFF) and u.unit_id != fresh.lead_unit_id
                     and u.unit.level == 2]
            other = units[0] if units else None
            if other is not None:
                play("上级协调", t, [("redispatch", dispatcher, {"lead_unit_id": other.unit_id, "co_unit_ids": [],
                                                              "note": "改派"}),
                                     ("return", other, {"reason": "unclear_ownership",
                                                        "reason_text": "权属不清，建议由上级协调"})])
    # 领导批示 on a ticket being handled, acknowledged by the unit
    t = _one(TicketState.SIGNED, used, need=lambda t: t.lead_assignment is not None)
    play("领导批示", t, [("instruction", leader, {"text": "群众反映强烈，请主要负责同志亲自过问，本周内解决"})])
    # 立督办单 by hand on an overdue ticket, urged twice (the second raises it a level)
    t = _one(TicketState.SIGNED, used, need=lambda t: t.lead_assignment is not None)
    play("立督办单", t, [("open_case", supervisor, {"reason": "overdue", "level": "1",
                                                   "note": "超期未办结，立督办单限期办理"}),
                        ("urge_case", supervisor, {"note": "请于三个工作日内反馈办理进展"}),
                        ("urge_case", supervisor, {"note": "再次催办：仍未反馈，督办升级"})])
    # 阶段性答复 → 纳入计划
    t = _one(TicketState.SIGNED, used, need=lambda t: t.lead_assignment is not None and not any(
        a.role is AssignmentRole.CO and a.is_open for a in t.active_assignments()))
    staff = _lead_staff(users, t) if t else None
    play("纳入计划", t, [("reply", staff, {"result": "诉求合理，需纳入明年道路改造计划统筹解决", "interim": True,
                                          "plan": "已列入明年一季度改造计划，届时同步实施", "follow_up_on": soon}),
                        ("review", dispatcher, {"decision": "accept"}),
                        ("callback", agent, {"reached": True, "outcome": "planned", "resolution": "partly",
                                             "satisfaction": "basically", "follow_up_on": soon,
                                             "citizen_words": "理解，希望按计划落实"})])
    # 领导签批: a re-handled supervised ticket waits for the leader (one left waiting)
    t = _one(TicketState.REOPENED, used, need=lambda t: not unread_instructions(t.id))
    staff = _lead_staff(users, t) if t else None
    play("待签批", t, [("reply", staff, {"result": "已组织专班重新办理，问题已整改到位"}),
                      ("review", dispatcher, {"decision": "accept"})])
    # 甄别 of a counted 不满意 on a reopened ticket
    t = _one(TicketState.REOPENED, used)
    staff = _lead_staff(users, t) if t else None
    play("甄别", t, [("dispute", staff, {"reason": "诉求人要求超出政策规定，已依规解释",
                                          "evidence": "相关政策文件及通话记录"}),
                    ("decide_dispute", supervisor, {"decision": "uphold", "note": "经核实，甄别理由成立"})])
    # an anonymous letter (匿名): corrected to anonymous at intake, handled, closed without a callback
    t = _one(TicketState.PENDING_DISPATCH, used)
    if t is not None:
        fresh = db.session.get(Ticket, t.id)
        draft = dict(channel="letter", request_type=fresh.request_type.value, category_id=fresh.category_id,
                     urgency=fresh.urgency.value, anonymous=True, caller_name="", caller_phone="",
                     confidential=fresh.confidential, address=fresh.address, district_id=fresh.district_id,
                     title=fresh.title, content=fresh.content)
        unit = next(u for u in users.values() if u.has_role(Role.UNIT_STAFF) and u.unit.level == 2)
        play("匿名来信", t, [("edit", operator, draft),
                            ("dispatch", dispatcher, {"lead_unit_id": unit.unit_id, "co_unit_ids": []}),
                            ("sign", unit, {}),
                            ("reply", unit, {"result": "已核实并处理，结果已在政府网站公开答复",
                                             "public_text": "您反映的问题已处理完毕。"}),
                            ("review", dispatcher, {"decision": "accept"})])
    # 拆单 of a request that needs two unrelated units
    t = _one(TicketState.PENDING_DISPATCH, used)
    if t is not None:
        play("拆单", t, [("split", dispatcher, {"title": "同一来电的另一诉求：路灯不亮",
                                                 "content": "诉求人同时反映小区门口路灯不亮", "category_id": t.category_id})])
    return played
