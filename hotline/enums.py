"""Every state, type and level of the domain, with its Chinese label, in one place."""
from __future__ import annotations

import enum

import sqlalchemy as sa


class LabeledEnum(str, enum.Enum):
    """A string enum whose members carry a Chinese label: `Member = ("value", "标签")`."""

    def __new__(cls, value: str, label: str):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.value

    @classmethod
    def choices(cls):
        return [(m.value, m.label) for m in cls]

    @classmethod
    def coerce(cls, value):
        if isinstance(value, cls):
            return value
        return cls(value)


def enum_column(enum_cls, *, length: int = 16):
    """Enums are stored as short strings (not native PG enums) so migrations stay simple.

    On PostgreSQL each such column also has a CHECK constraint `ck_<table>_<column>`
    listing the allowed values (see the migrations); a new member needs a migration that
    replaces that constraint."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=max(max(len(m.value) for m in enum_cls), length),
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Role(LabeledEnum):
    OPERATOR = ("operator", "话务员")
    DISPATCHER = ("dispatcher", "派单员")
    CALLBACK_AGENT = ("callback_agent", "回访员")
    UNIT_STAFF = ("unit_staff", "承办单位工作人员")
    SUPERVISOR = ("supervisor", "督办人员")
    MANAGER = ("manager", "管理人员")
    LEADER = ("leader", "领导")
    ADMIN = ("admin", "系统管理员")


class UnitKind(LabeledEnum):
    CENTRE = ("centre", "热线中心")
    DISTRICT = ("district", "区县政府")
    DEPARTMENT = ("department", "市直部门")
    ENTERPRISE = ("enterprise", "公共服务企业")
    STREET = ("street", "街道乡镇")
    COMMUNITY = ("community", "社区村")


class Channel(LabeledEnum):
    PHONE = ("phone", "电话")
    WEBSITE = ("website", "网站")
    WECHAT = ("wechat", "微信")
    APP = ("app", "APP")
    LETTER = ("letter", "信件")
    LEADER = ("leader", "领导批示")
    OTHER = ("other", "其他")


class RequestType(LabeledEnum):
    CONSULTATION = ("consultation", "咨询")
    HELP = ("help", "求助")
    COMPLAINT = ("complaint", "投诉")
    REPORT = ("report", "举报")
    SUGGESTION = ("suggestion", "建议")
    PRAISE = ("praise", "表扬")
    OTHER = ("other", "其他")


class Urgency(LabeledEnum):
    NORMAL = ("normal", "一般")
    URGENT = ("urgent", "紧急")
    CRITICAL = ("critical", "特急")


class TicketState(LabeledEnum):
    PENDING_DISPATCH = ("pending_dispatch", "待派单")
    DISPATCHED = ("dispatched", "待签收")
    SIGNED = ("signed", "办理中")
    RETURNED = ("returned", "已退单")
    REPLIED = ("replied", "待审核")
    REVIEWED = ("reviewed", "待回访")
    UNSATISFIED = ("unsatisfied", "回访不满意")
    REOPENED = ("reopened", "重办中")
    #: 回退: the dispatcher sent a badly recorded ticket back to the operator to correct.
    SENT_BACK = ("sent_back", "退回受理")
    #: 上级协调: returned too often; the supervising level decides who handles it.
    COORDINATING = ("coordinating", "上级协调")
    #: 待签批: a supervised ticket's re-handled result waits for a leader's sign-off.
    PENDING_SIGNOFF = ("pending_signoff", "待签批")
    #: 纳入计划: reasonable but not solvable now; kept open and followed up on a date.
    PLANNED = ("planned", "纳入计划")
    #: 挂起: the clocks stand still (citizen abroad, a court case pending ...).
    SUSPENDED = ("suspended", "挂起")
    CLOSED = ("closed", "已办结")

    @property
    def is_open(self) -> bool:
        return self is not TicketState.CLOSED


#: States in which the lead unit is handling the ticket (may reply, ask for time).
HANDLING_STATES = (TicketState.SIGNED, TicketState.REOPENED)


class Closure(LabeledEnum):
    ANSWERED = ("answered", "直接答复")
    SATISFIED = ("satisfied", "回访满意")
    UNREACHABLE = ("unreachable", "未联系上")
    MERGED = ("merged", "并单")
    INVALID = ("invalid", "无效工单")
    UNREASONABLE = ("unreasonable", "诉求不合理办结")
    REFUSED = ("refused", "不予受理")
    TRANSFERRED = ("transferred", "转应急处置")
    WITHDRAWN = ("withdrawn", "市民撤单")
    TERMINATED = ("terminated", "终止办理")
    ANONYMOUS = ("anonymous", "匿名办结（不回访）")


class AssignmentRole(LabeledEnum):
    LEAD = ("lead", "主办")
    CO = ("co", "协办")


class AssignmentState(LabeledEnum):
    DISPATCHED = ("dispatched", "待签收")
    SIGNED = ("signed", "办理中")
    RETURNED = ("returned", "已退单")
    REPLIED = ("replied", "已反馈")
    CANCELLED = ("cancelled", "已撤销")
    DONE = ("done", "已办结")


OPEN_ASSIGNMENT_STATES = (AssignmentState.DISPATCHED, AssignmentState.SIGNED)


class ReturnReason(LabeledEnum):
    NOT_OUR_DUTY = ("not_our_duty", "不属本单位职责")
    WRONG_AREA = ("wrong_area", "属地不符")
    UNCLEAR_OWNERSHIP = ("unclear_ownership", "权属不清")
    OTHER = ("other", "其他")


class ReturnDecision(LabeledEnum):
    PENDING = ("pending", "待处理")
    REDISPATCHED = ("redispatched", "已改派")
    OVERRULED = ("overruled", "退单驳回")


class ExtensionState(LabeledEnum):
    PENDING = ("pending", "待审批")
    APPROVED = ("approved", "已同意")
    REFUSED = ("refused", "已拒绝")


class Resolution(LabeledEnum):
    RESOLVED = ("resolved", "已解决")
    PARTLY = ("partly", "部分解决")
    UNRESOLVED = ("unresolved", "未解决")


class Satisfaction(LabeledEnum):
    SATISFIED = ("satisfied", "满意")
    BASICALLY = ("basically", "基本满意")
    UNSATISFIED = ("unsatisfied", "不满意")


class SupervisionState(LabeledEnum):
    OPEN = ("open", "督办中")
    CLOSED = ("closed", "已验收销号")


class SupervisionReason(LabeledEnum):
    UNSATISFIED = ("unsatisfied", "回访不满意")
    OVERDUE = ("overdue", "超期未办结")
    LEADER_ASSIGNED = ("leader_assigned", "领导交办")
    MEDIA = ("media", "媒体关注")
    REPEATED = ("repeated", "重复投诉")


class EmergencyLine(LabeledEnum):
    """Emergency services a call is transferred to (转应急处置)."""

    POLICE = ("110", "110 公安报警")
    FIRE = ("119", "119 消防")
    AMBULANCE = ("120", "120 急救")
    TRAFFIC = ("122", "122 交通事故")


class CallbackOutcome(LabeledEnum):
    """分类处置: how the callback (or the supervisor) classifies the result."""

    RESOLVED = ("resolved", "已解决")
    PLANNED = ("planned", "合理但暂不能解决")
    UNREASONABLE = ("unreasonable", "诉求不合理")
    UNREACHABLE = ("unreachable", "无法联系")


class RequestState(LabeledEnum):
    """The state of an application someone decides on (suspension, termination, 甄别)."""

    PENDING = ("pending", "待审批")
    APPROVED = ("approved", "已同意")
    REFUSED = ("refused", "已驳回")
    ENDED = ("ended", "已结束")


class SignoffDecision(LabeledEnum):
    APPROVED = ("approved", "签批同意")
    RETURNED = ("returned", "签批退回")


class SupervisionLevel(enum.IntEnum):
    """How high a supervision case (or an overdue assignment) has been raised.

    The Chinese names are a setting (hotline.supervision.levels): a city says
    一级/二级/三级督办, a 卫健委 says 单位主责/处室督导/委级统筹 (the default)."""

    UNIT = 1
    SUPERVISING_UNIT = 2
    CENTRE = 3

    @classmethod
    def top(cls) -> "SupervisionLevel":
        return cls.CENTRE


class SupervisorDecision(LabeledEnum):
    """A supervisor's ruling on a 不满意 the callback agent judged unreasonable."""

    COUNTED = ("counted", "计入单位")
    EXCLUDED = ("excluded", "不计入单位")


class AlertSubject(LabeledEnum):
    ASSIGNMENT = ("assignment", "派单")
    TICKET = ("ticket", "工单")
    CASE = ("case", "督办单")


class AlertClock(LabeledEnum):
    SIGN = ("sign", "签收")
    HANDLE = ("handle", "办理")
    CALLBACK = ("callback", "回访")
    PROGRESS = ("progress", "督办进展")
    FOLLOW_UP = ("follow_up", "计划跟踪")


class AlertKind(LabeledEnum):
    WARNING = ("warning", "预警")
    URGE = ("urge", "催办")
    OVERDUE = ("overdue", "超期")


class EscalationReason(LabeledEnum):
    OVERDUE = ("overdue", "派单超期")
    SUPERVISION_OVERDUE = ("supervision_overdue", "督办超期")
    UNSATISFIED_AGAIN = ("unsatisfied_again", "再次回访不满意")


class NotificationKind(LabeledEnum):
    SIGN_WARNING = ("sign_warning", "签收预警")
    HANDLE_WARNING = ("handle_warning", "办理预警")
    SIGN_URGE = ("sign_urge", "签收催办")
    HANDLE_URGE = ("handle_urge", "办理催办")
    SIGN_OVERDUE = ("sign_overdue", "签收超期")
    HANDLE_OVERDUE = ("handle_overdue", "办理超期")
    ESCALATION = ("escalation", "升级督办")
    INSTRUCTION = ("instruction", "领导批示")
    PROGRESS_URGE = ("progress_urge", "督办进展催报")
    CALLBACK_OVERDUE = ("callback_overdue", "回访超期")
    MANUAL_URGE = ("manual_urge", "督办催办")
    SIGNOFF = ("signoff", "待领导签批")
    FOLLOW_UP_URGE = ("follow_up_urge", "计划跟踪催办")
    SENT_BACK = ("sent_back", "工单退回受理")
    COORDINATION = ("coordination", "上级协调")
    DISPUTE = ("dispute", "甄别申请")
    SUSPENSION = ("suspension", "挂起")
    TERMINATION = ("termination", "申请终止")
    DEADLINE = ("deadline", "时限调整")
    WITHDRAWN = ("withdrawn", "市民撤单")


class LimitUnit(LabeledEnum):
    WORKING_DAYS = ("working_days", "工作日")
    HOURS = ("hours", "小时")
    MINUTES = ("minutes", "分钟")


class DeadlineClock(LabeledEnum):
    """The deadline clocks of the time-limit policy."""

    SIGN = ("sign", "签收时限")
    HANDLE = ("handle", "办理时限")
    RETURN = ("return", "退单时限")
    CALLBACK = ("callback", "回访时限")
    EXTENSION_MAX = ("extension_max", "延期上限")


class EventAction(LabeledEnum):
    RECORD = ("record", "受理登记")
    ANSWER = ("answer", "直接答复")
    DISPATCH = ("dispatch", "派单")
    SIGN = ("sign", "签收")
    HAND_DOWN = ("hand_down", "下派")
    RETURN = ("return", "退单")
    REDISPATCH = ("redispatch", "改派")
    OVERRULE_RETURN = ("overrule_return", "驳回退单")
    REQUEST_EXTENSION = ("request_extension", "延期申请")
    APPROVE_EXTENSION = ("approve_extension", "同意延期")
    REFUSE_EXTENSION = ("refuse_extension", "拒绝延期")
    REPLY = ("reply", "办结反馈")
    CO_REPLY = ("co_reply", "协办反馈")
    REVIEW_ACCEPT = ("review_accept", "审核通过")
    REVIEW_REJECT = ("review_reject", "审核退回")
    CALLBACK = ("callback", "回访")
    REOPEN = ("reopen", "重办")
    MERGE = ("merge", "并单")
    CLOSE = ("close", "办结归档")
    CONFIRM_UNREASONABLE = ("confirm_unreasonable", "诉求不合理办结")
    PROGRESS = ("progress", "督办进展")
    INSTRUCTION = ("instruction", "领导批示")
    ACK_INSTRUCTION = ("ack_instruction", "批示已阅")
    ACCEPT_CASE = ("accept_case", "验收销号")
    # Recorded by the scheduler (system notices; they do not change the ticket's state).
    WARNING = ("warning", "预警")
    URGE = ("urge", "催办")
    OVERDUE = ("overdue", "超期")
    ESCALATE = ("escalate", "升级督办")
    PROGRESS_URGE = ("progress_urge", "督办进展催报")
    CALLBACK_OVERDUE = ("callback_overdue", "回访超期")
    FOLLOW_UP_URGE = ("follow_up_urge", "计划跟踪催办")
    DEADLINE_RECOMPUTED = ("deadline_recomputed", "时限重算")
    # Intake cases
    EDIT = ("edit", "修改工单")
    SEND_BACK = ("send_back", "退回话务员")
    REFUSE_INTAKE = ("refuse_intake", "不予受理")
    TRANSFER = ("transfer", "转应急处置")
    WITHDRAW = ("withdraw", "市民撤单")
    # Handling cases
    REQUEST_SUSPENSION = ("request_suspension", "挂起申请")
    APPROVE_SUSPENSION = ("approve_suspension", "同意挂起")
    REFUSE_SUSPENSION = ("refuse_suspension", "驳回挂起")
    RESUME = ("resume", "恢复办理")
    REQUEST_TERMINATION = ("request_termination", "申请终止")
    APPROVE_TERMINATION = ("approve_termination", "同意终止")
    REFUSE_TERMINATION = ("refuse_termination", "驳回终止")
    TO_COORDINATION = ("to_coordination", "提请上级协调")
    COORDINATE = ("coordinate", "上级协调裁定")
    SPLIT = ("split", "拆单")
    # Leaders and supervision
    SIGNOFF_APPROVE = ("signoff_approve", "领导签批同意")
    SIGNOFF_RETURN = ("signoff_return", "领导签批退回")
    OPEN_CASE = ("open_case", "立督办单")
    MANUAL_URGE = ("manual_urge", "督办催办")
    DISPUTE = ("dispute", "申请甄别")
    DISPUTE_UPHELD = ("dispute_upheld", "甄别成立")
    DISPUTE_REJECTED = ("dispute_rejected", "甄别不成立")

