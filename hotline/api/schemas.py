"""The API's response shapes (pydantic): the OpenAPI document is generated from them, and
the tests validate responses against them."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from hotline.enums import Channel, RequestType, TicketState, Urgency
from hotline.tickets.queries import QUEUES


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
    external_source: Optional[str] = Field(None, description="上级转办的来源平台")
    external_number: Optional[str] = Field(None, description="来源平台的工单编号")


class TicketOut(TicketSummary):
    content: str
    address: str
    district: Optional[UnitRef] = None
    confidential: bool
    caller: Optional[Caller] = Field(None, description="保密工单对承办单位隐藏")
    dispatched_at: Optional[datetime] = None
    callback_due_at: Optional[datetime] = None
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


# --- intake through the API (受理 by CTI and platforms) -------------------------------------
def _values(enum) -> Any:
    return Literal[tuple(v.value for v in enum)]


class TicketCreate(BaseModel):
    """A request recorded through the API: the intake's draft fields (checked by the
    intake's own validation), 直接答复, and where it came from (telephony, a platform)."""
    model_config = ConfigDict(extra="forbid")

    channel: Optional[_values(Channel)] = Field(None, description="受理渠道（默认 phone）")
    request_type: _values(RequestType) = Field(description="诉求类型")
    category_id: int = Field(description="诉求分类 id（GET /api/v1/categories）")
    urgency: Optional[_values(Urgency)] = Field(None, description="紧急程度（默认 normal）")
    anonymous: bool = Field(False, description="匿名诉求（不留姓名；信件、网站、微信、APP 可不留电话）")
    caller_name: Optional[str] = Field(None, description="诉求人姓名")
    caller_phone: Optional[str] = Field(None, description="联系电话；省略时取 caller_number 规范化后的号码")
    confidential: bool = Field(False, description="保密：对承办单位隐藏诉求人")
    address: Optional[str] = Field(None, description="事发地址")
    district_id: Optional[int] = Field(None, description="所属区县 id")
    title: str = Field(description="工单标题")
    content: str = Field(description="诉求内容")
    answer: Optional[str] = Field(None, description="直接答复：在通话中已答复，工单随即办结")
    call_id: Optional[str] = Field(None, description="交换机的通话编号（CTI）")
    caller_number: Optional[str] = Field(None, description="交换机给出的来电号码（原样保存，规范化后作联系电话）")
    agent: Optional[str] = Field(None, description="坐席工号（CTI）")
    recording_ref: Optional[str] = Field(None, description="录音编号（CTI）")
    external_source: Optional[str] = Field(None, description="上级转办：来源平台（与 external_number 同时提供）")
    external_number: Optional[str] = Field(None, description="上级转办：平台工单编号；同一平台同一编号只建一张工单")
    external_due_at: Optional[datetime] = Field(
        None, description="上级转办：平台办理时限；派单时办理期限取它与本系统时限中较早者")


class TicketListQuery(BaseModel):
    """The search page's filters; the list is ordered by id, newest first."""
    model_config = ConfigDict(extra="forbid")

    number: Optional[str] = Field(None, max_length=24, description="工单编号（前缀）")
    phone: Optional[str] = Field(None, max_length=32, description="联系电话")
    text: Optional[str] = Field(None, max_length=100, description="关键词（标题、内容、地址）")
    category_id: Optional[int] = Field(None, description="分类（含下级分类）")
    unit_id: Optional[int] = Field(None, description="承办单位（含下级单位）")
    state: Optional[_values(TicketState)] = None
    date_from: Optional[date] = Field(None, description="受理日期从")
    date_to: Optional[date] = Field(None, description="受理日期至（含）")
    queue: Optional[Literal[tuple(QUEUES)]] = Field(None, description="工作队列")
    request_type: Optional[_values(RequestType)] = None
    channel: Optional[_values(Channel)] = None
    district_id: Optional[int] = Field(None, description="所属区县（0 = 未填写）")
    address: Optional[str] = Field(None, max_length=300)
    category_root: Optional[str] = Field(None, max_length=100, description="一级分类名称")
    category_exact: bool = Field(False, description="只要该分类本身（不含下级）")
    overdue_on: Optional[date] = Field(None, description="主办单位办理期限在该日且超期")
    limit: int = Field(20, ge=1, le=100, description="每页条数（最多 100）")
    cursor: Optional[str] = Field(None, max_length=40, description="上一页返回的 next_cursor")


class TicketPage(BaseModel):
    items: list[TicketSummary]
    next_cursor: Optional[str] = Field(None, description="下一页的游标；没有更多时为 null")
    total: int = Field(description="符合条件的工单总数")


class CallerTicket(TicketSummary):
    caller: Optional[Caller] = Field(None, description="保密工单对承办单位隐藏")


class CallerHistory(BaseModel):
    phone: str = Field(description="规范化后的号码")
    items: list[CallerTicket]


class ScreenPop(BaseModel):
    number: str = Field(description="交换机给出的号码")
    phone: str = Field(description="规范化后的号码（受理时的联系电话）")
    history: list[CallerTicket] = Field(description="该号码的历史工单（新→旧，最多 20 张）")
    duplicates: list[CallerTicket] = Field(description="30 天内该号码未办结的工单：可能是重复来电")
    repeat_caller: bool = Field(description="该号码已有两张及以上工单")


# --- the organisation and the taxonomy -------------------------------------------------------
class UnitOut(UnitRef):
    kind: Labeled
    level: int
    parent_id: Optional[int] = None
    active: bool


class CategoryOut(CategoryRef):
    short_name: str
    parent_id: Optional[int] = None
    active: bool
    public: bool


class RoutingSuggestion(BaseModel):
    certain: bool = Field(description="确定规则（开启自动派单时受理即派）")
    rule_id: Optional[int] = None
    lead: Optional[UnitRef] = None
    co_units: list[UnitRef]
    explanation: str


# --- reports ----------------------------------------------------------------------------------
class RateOut(BaseModel):
    value: tuple[int, int] = Field(description="精确比率 [分子, 分母]")
    percent: str = Field(description="百分比（四舍五入一次）")


class ReportLine(BaseModel):
    unit_id: Optional[int] = None
    unit: str
    level: Optional[int] = None
    values: dict[str, int]
    rates: dict[str, Optional[RateOut]]
    avg_sign_hours: Optional[str] = Field(None, description="平均签收用时（工作小时）")
    avg_handle_hours: Optional[str] = Field(None, description="平均办理用时（工作小时）")


class ReportColumn(BaseModel):
    key: str
    label: str
    section: str


class OverdueItem(BaseModel):
    number: str
    title: str
    unit: str
    unit_id: Optional[int] = None
    due_at: datetime
    days_overdue: int
    level: int
    level_name: str


class ReportOut(BaseModel):
    kind: str
    period: str
    start: datetime
    end: datetime
    as_of: datetime
    revision: int = Field(description="快照版次；0 = 未结束的周期，实时计算")
    live: bool
    columns: list[ReportColumn]
    city: ReportLine
    rows: list[ReportLine]
    overdue: list[OverdueItem]
    previous: Optional[dict[str, Any]] = Field(None, description="上一周期的全市数据（环比）")
    formulas: dict[str, str]


class RankingRow(ReportLine):
    rank: Optional[int] = None
    mark: str = Field(description="red 红榜 / black 黑榜 / 空")
    score: Optional[RateOut] = None


class RankingOut(BaseModel):
    start: datetime
    end: datetime
    as_of: datetime
    level: Optional[int] = None
    rows: list[RankingRow]
    formulas: dict[str, str]


class FigureOut(BaseModel):
    label: str
    value: int


class DashboardOut(BaseModel):
    date_from: date
    date_to: date
    unit_id: Optional[int] = None
    total: int
    by_day: list[FigureOut]
    by_type: list[FigureOut]
    by_channel: list[FigureOut]
    by_top_category: list[FigureOut]
    top_categories: list[FigureOut]
    by_district: list[FigureOut]
    overdue_by_day: list[FigureOut]
    overdue_total: int
    hot_categories: list[FigureOut]
    hot_addresses: list[FigureOut]
    overdue_definition: str
