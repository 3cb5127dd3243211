"""Reading supervision cases, and the leader-instruction gate other stages ask."""
from __future__ import annotations

import sqlalchemy as sa

from hotline.enums import SupervisionState
from hotline.errors import Waiting
from hotline.extensions import db
from hotline.supervision.models import SupervisionCase
from hotline.tickets.models import Ticket


def open_case_for(ticket_id: int) -> SupervisionCase | None:
    return db.session.scalars(sa.select(SupervisionCase).where(
        SupervisionCase.ticket_id == ticket_id, SupervisionCase.state == SupervisionState.OPEN)
        .order_by(SupervisionCase.id.desc()).limit(1)).first()


def latest_case_for(ticket_id: int) -> SupervisionCase | None:
    return db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.ticket_id == ticket_id)
                              .order_by(SupervisionCase.id.desc()).limit(1)).first()


def unread_instruction(ticket_id: int) -> SupervisionCase | None:
    case = open_case_for(ticket_id)
    if case is not None and case.instruction and case.instruction_seen_at is None:
        return case
    return None


def require_instruction_read(ticket: Ticket) -> None:
    """A leader's instruction on the ticket's open supervision case is read first."""
    if unread_instruction(ticket.id) is not None:
        raise Waiting("INSTRUCTION_UNREAD", "该工单有领导批示，请先阅读并确认后再办理")
