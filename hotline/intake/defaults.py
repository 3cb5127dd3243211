"""The intake form's defaults, offered as the operator types (never overwriting a choice):
the request type the chosen category's recent tickets mostly have, and the district the
address names (a district's name, without 人民政府, written in the address)."""
from __future__ import annotations

import sqlalchemy as sa

from hotline.enums import RequestType, UnitKind
from hotline.extensions import db
from hotline.tickets.models import Ticket
from hotline.units.models import Unit

#: How many of a category's latest tickets its default request type is read from.
RECENT = 200


def request_type_for_category(category_id: int | None) -> RequestType | None:
    """The most frequent request type among the category's latest tickets (ties: the
    enum's order), or None for a category without tickets."""
    if not category_id:
        return None
    recent = (sa.select(Ticket.request_type).where(Ticket.category_id == category_id)
              .order_by(Ticket.id.desc()).limit(RECENT).subquery())
    rows = db.session.execute(sa.select(recent.c.request_type, sa.func.count())
                              .group_by(recent.c.request_type)).all()
    if not rows:
        return None
    order = list(RequestType)
    return max(rows, key=lambda r: (r[1], -order.index(r[0])))[0]


def short_name(unit: Unit) -> str:
    """东城区人民政府 -> 东城区."""
    return unit.name.removesuffix("人民政府")


def district_for_address(address: str) -> Unit | None:
    """The one active district whose short name the address contains (the longest, when
    one contains another); None when none or two unrelated ones match."""
    address = (address or "").strip()
    if not address:
        return None
    districts = db.session.scalars(sa.select(Unit).where(Unit.kind == UnitKind.DISTRICT, Unit.active.is_(True)))
    hits = sorted((u for u in districts if len(short_name(u)) >= 2 and short_name(u) in address),
                  key=lambda u: -len(short_name(u)))
    if not hits or (len(hits) > 1 and short_name(hits[1]) not in short_name(hits[0])):
        return None
    return hits[0]
