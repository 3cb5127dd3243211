"""The supervisors' side of the demo (hotline.demo.loader plays it last)."""
from __future__ import annotations

import sqlalchemy as sa

from hotline.demo.player import act
from hotline.enums import Role, SupervisionState, TicketState
from hotline.extensions import db
from hotline.supervision.models import SupervisionCase
from hotline.tickets.models import Ticket


def supervision_stories(users) -> None:
    """The supervisors' side, played at the real now after the ticket stories: decide some
    flagged 不满意, accept some cases (验收销号), progress reports and a leader's instruction."""
    supervisor = next(u for u in users.values() if u.has_role(Role.SUPERVISOR))
    dispatcher = next(u for u in users.values() if u.has_role(Role.DISPATCHER) and not u.has_role(Role.OPERATOR))

    def staff_of(unit_id):
        return next((u for u in users.values() if u.unit_id == unit_id and u.has_role(Role.UNIT_STAFF)), None)

    flagged = db.session.scalars(sa.select(Ticket).where(Ticket.state == TicketState.UNSATISFIED)
                                 .order_by(Ticket.id)).all()
    for t in flagged[: max(len(flagged) - 3, 0)][:2]:
        act("confirm_unreasonable", t.id, supervisor, note="经核实，诉求超出政策规定，已向市民充分解释")
    cases = db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.state == SupervisionState.OPEN)
                               .order_by(SupervisionCase.id)).all()
    tickets = {t.id: t for t in db.session.scalars(sa.select(Ticket).where(
        Ticket.id.in_([c.ticket_id for c in cases])))}
    closed = [c for c in cases if tickets[c.ticket_id].state is TicketState.CLOSED]
    for c in closed[: (len(closed) + 1) // 2]:
        act("accept_case", c.ticket_id, supervisor, target=c.id, note="经回访核实市民诉求已解决，同意销号")
    reopened = [c for c in cases if tickets[c.ticket_id].state is TicketState.REOPENED]
    for i, c in enumerate(reopened):
        staff = staff_of(c.unit_id)
        if staff is None:
            continue
        if i == 0:  # re-handled, reviewed, called back satisfied, then accepted (验收销号)
            t = tickets[c.ticket_id]
            act("reply", t.id, staff, result="已组织专班彻底整改，经现场复查问题已解决。", contacted_citizen=True,
                      public_text="经整改，问题已解决。感谢您的监督。")
            act("review", t.id, dispatcher, decision="accept")
            if db.session.get(Ticket, t.id).state is TicketState.PENDING_SIGNOFF:  # 领导签批 first
                leader = next(u for u in users.values() if u.has_role(Role.LEADER))
                act("signoff_approve", t.id, leader, words="整改到位，同意回访核实")
            callback = next(u for u in users.values() if u.has_role(Role.CALLBACK_AGENT))
            act("callback", t.id, callback, reached=True, resolution="resolved",
                                satisfaction="satisfied", citizen_words="这次彻底修好了")
            act("accept_case", c.ticket_id, supervisor, target=c.id, note="经回访核实整改到位，验收销号")
        elif i == 1:
            act("instruction", c.ticket_id, supervisor, target=c.id, text="请单位主要负责同志亲自研究，本周内拿出解决方案")
        else:
            act("progress", c.ticket_id, staff, target=c.id, text="本周已约谈相关责任方，制定整改方案，预计下周完成整改。")
