"""A caller's tickets: the history by phone, and the CTI screen pop (屏幕弹出) that shows an
operator, as the call rings, the caller's earlier tickets and the open ones that the new
call may repeat — in one request and a handful of queries."""
from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import joinedload

from hotline.api.errors import ApiError
from hotline.api.schemas import CallerHistory, ScreenPop
from hotline.api.serialize import caller, summary
from hotline.api.spec import api_route
from hotline.api.views import bp
from hotline.extensions import db
from hotline.intake.origin import NUMBER, normalise_phone
from hotline.intake.queries import likely_duplicates
from hotline.tickets.models import Ticket
from hotline.tickets.queries import search_tickets

HISTORY_LIMIT = 20


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(HISTORY_LIMIT, ge=1, le=100, description="最多返回几张（新→旧）")


class ScreenPopQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=64, description="交换机给出的来电号码（+86、0086、空格均可）")


def _phone(raw: str, field: str) -> str:
    phone = normalise_phone(raw)
    if not NUMBER.fullmatch(phone):
        raise ApiError(422, "VALIDATION", "号码无法识别", {field: "格式不正确"})
    return phone


def callers_tickets(user, phone: str):
    """The tickets of this phone the user may see: the search page's phone filter (a unit
    never finds a confidential ticket by its caller's phone), without its eager loads."""
    return sa.select(Ticket).where(search_tickets(user, phone=phone).whereclause).options(
        joinedload(Ticket.lead_unit))


def _item(t, user) -> dict:
    return {**summary(t), "caller": caller(t, user)}


@api_route(bp, "/callers/<phone>/tickets", "GET", summary="诉求人历史工单", query=HistoryQuery,
           response=CallerHistory, tag="callers")
def caller_history(phone: str, query: HistoryQuery):
    """The tickets of a phone number (normalised as the intake stores it) that the token's
    user may see, newest first; the caller is hidden where the pages hide it."""
    user = current_user._get_current_object()
    phone = _phone(phone, "phone")
    rows = db.session.scalars(callers_tickets(user, phone).order_by(Ticket.id.desc()).limit(query.limit)).all()
    return {"phone": phone, "items": [_item(t, user) for t in rows]}


@api_route(bp, "/screen-pop", "GET", summary="来电弹屏", query=ScreenPopQuery, response=ScreenPop, tag="callers")
def screen_pop(query: ScreenPopQuery):
    """For the CTI switch as a call rings: the caller's earlier tickets (newest first, at
    most 20) and the open ones of the last 30 days that the call may repeat (the intake
    page's likely duplicates), among the tickets the token's user may see."""
    user = current_user._get_current_object()
    phone = _phone(query.number, "number")
    base = callers_tickets(user, phone)
    history = db.session.scalars(base.order_by(Ticket.id.desc()).limit(HISTORY_LIMIT)).all()
    duplicates = likely_duplicates(phone, "", None, within=base, open_only=True)
    return {"number": query.number, "phone": phone, "history": [_item(t, user) for t in history],
            "duplicates": [_item(t, user) for t in duplicates], "repeat_caller": len(history) >= 2}
