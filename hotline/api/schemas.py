"""The API's response shapes (pydantic): the OpenAPI document is generated from them, and
the tests validate responses against them."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import BaseModel, Field


class Labeled(BaseModel):
    value: str
    label: str


class UnitRef(BaseModel):
    id: int
    code: str
    name: str


class CategoryRef(BaseModel):
    id: int
    code: str
    name: str


class AssignmentOut(BaseModel):
    id: int
    unit: UnitRef
    handler_unit: Optional[UnitRef] = None
    role: Labeled
    state: Labeled
    active: bool
    dispatched_at: datetime
    sign_due_at: datetime
    handle_due_at: datetime
    signed_at: Optional[datetime] = None
    replied_at: Optional[datetime] = None
    escalation_level: int


class EventOut(BaseModel):
    id: int
    at: datetime
    action: Labeled
    from_state: Optional[Labeled] = None
    to_state: Labeled
    actor: Optional[str] = None
    note: str
    assignment_id: Optional[int] = None


class ActionOffer(BaseModel):
    key: str
    label: str
    target: Optional[int] = Field(None, description="所作用对象的 id（签收的派件、待决定的退单 …）")
    path: str


class Caller(BaseModel):
    name: str
    phone: str
    anonymous: bool


class TicketSummary(BaseModel):
    number: str
    version: int
    state: Labeled
    closure: Optional[Labeled] = None
    channel: Labeled
    request_type: Labeled
    urgency: Labeled
    category: CategoryRef
    title: str
    lead_unit: Optional[UnitRef] = None
    created_at: datetime
    closed_at: Optional[datetime] = None


class TicketOut(TicketSummary):
    content: str
    address: str
    district: Optional[UnitRef] = None
    confidential: bool
    caller: Optional[Caller] = Field(None, description="保密工单对承办单位隐藏")
    dispatched_at: Optional[datetime] = None
    callback_due_at: Optional[datetime] = None
    external_source: Optional[str] = None
    external_number: Optional[str] = None
    external_due_at: Optional[datetime] = None
    call_id: Optional[str] = None
    recording_ref: Optional[str] = None
    assignments: list[AssignmentOut]
    events: list[EventOut]
    available_actions: list[ActionOffer]
    waiting: dict[str, str] = Field(default_factory=dict, description="暂不能做的操作及原因（等待协办等）")


class ActionResult(BaseModel):
    message: str
    ticket: TicketOut
