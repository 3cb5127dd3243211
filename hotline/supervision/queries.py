"""Reading supervision cases and leaders' instructions, and the instruction gate other
stages ask."""
from __future__ import annotations

import sqlalchemy as sa

from hotline.enums import SupervisionState
from hotline.errors import Waiting
from hotline.extensions import db
from hotline.supervision.models import Instruction, SupervisionCase
from hotline.tickets.models import Ticket


def open_case_for(ticket_id: int) -> SupervisionCase | None:
    return db.session.scalars(sa.select(SupervisionCase).where(
        SupervisionCase.ticket_id == ticket_id, SupervisionCase.state == SupervisionState.OPEN)
        .order_by(SupervisionCase.id.desc()).limit(1)).first()


def latest_case_for(ticket_id: int) -> SupervisionCase | None:
    return db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.ticket_id == ticket_id)
                              .order_by(SupervisionCase.id.desc()).limit(1)).first()


def instructions_for(ticket_id: int) -> list[Instruction]:
    return list(db.session.scalars(sa.select(Instruction).where(Instruction.ticket_id == ticket_id)
                                   .order_by(Instruction.id)))


def unread_instructions(ticket_id: int) -> list[Instruction]:
    return list(db.session.scalars(sa.select(Instruction).where(
        Instruction.ticket_id == ticket_id, Instruction.acknowledged_at.is_(None)).order_by(Instruction.id)))


def cases_with_unread_instructions(case_ids) -> set[int]:
    ids = list(case_ids)
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(Instruction.case_id).where(
        Instruction.case_id.in_(ids), Instruction.acknowledged_at.is_(None))))


def require_instruction_read(ticket: Ticket, message: str = "该工单有领导批示，请先阅读并确认后再办理") -> None:
    """A leader's instruction on the ticket is acknowledged before the unit goes on."""
    if unread_instructions(ticket.id):
        raise Waiting("INSTRUCTION_UNREAD", message)
