"""Intake helpers: the caller's earlier tickets, likely duplicates, the knowledge base."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from hotline.clock import now as clock_now
from hotline.enums import TicketState
from hotline.extensions import db
from hotline.intake.models import KnowledgeArticle
from hotline.tickets.models import Ticket

DUPLICATE_WINDOW_DAYS = 30


def caller_history(phone: str, limit: int = 20) -> list[Ticket]:
    phone = (phone or "").strip()
    if not phone:
        return []
    return list(db.session.scalars(
        sa.select(Ticket).where(Ticket.caller_phone == phone).order_by(Ticket.created_at.desc()).limit(limit)))


def likely_duplicates(phone: str, address: str, category_id, exclude_id=None, limit: int = 10, *,
                      within=None, open_only: bool = False) -> list[Ticket]:
    """Tickets of the last 30 days with the same phone, or the same address and category;
    among the tickets of the statement `within` when given (what a user may see), and
    only the open ones with `open_only` (a CTI screen pop)."""
    since = clock_now() - timedelta(days=DUPLICATE_WINDOW_DAYS)
    conds = []
    if phone:
        conds.append(Ticket.caller_phone == phone.strip())
    if address and category_id:
        conds.append(sa.and_(Ticket.address == address.strip(), Ticket.category_id == int(category_id)))
    if not conds:
        return []
    stmt = (within.order_by(None) if within is not None else sa.select(Ticket)).where(
        Ticket.created_at >= since, sa.or_(*conds))
    if open_only:
        stmt = stmt.where(Ticket.state.in_([s for s in TicketState if s.is_open]))
    if exclude_id:
        stmt = stmt.where(Ticket.id != exclude_id)
    return list(db.session.scalars(stmt.order_by(Ticket.created_at.desc()).limit(limit)))


def search_articles(query: str, limit: int = 20) -> list[KnowledgeArticle]:
    stmt = sa.select(KnowledgeArticle).where(KnowledgeArticle.active.is_(True))
    for word in (query or "").split()[:5]:
        stmt = stmt.where(sa.or_(KnowledgeArticle.title.icontains(word, autoescape=True),
                                 KnowledgeArticle.body.icontains(word, autoescape=True),
                                 KnowledgeArticle.keywords.icontains(word, autoescape=True)))
    return list(db.session.scalars(stmt.order_by(KnowledgeArticle.times_used.desc(), KnowledgeArticle.id).limit(limit)))
