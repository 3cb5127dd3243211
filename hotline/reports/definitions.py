"""The centre's counting rules (统计口径), an admin setting with today's behaviour as default.

Every report reads the definitions through `current()` once, stores them with its
snapshot, and renders its formulas from them (`formulas()`), so a stored report always
states the rules it was counted by, even after the admin changes them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction

from hotline import settings

KEY = "report_definitions"

#: The rates 响应率 may be composed of, with their labels.
RESPONSE_PARTS = {"sign_rate": "按时签收率", "contact_rate": "联系率", "close_rate": "按时办结率"}

SIGN_RETURNS = {"exclude": "按时退单不计入应签收（默认）", "include": "按时退单计入应签收"}
CLOSE_BASIS = {"first": "首次办理时限 + 批准的延期与挂起（默认）", "round": "答复时有效的时限（重办后按重办时限）"}
CALLBACK_PICK = {"final": "每张工单按本期最后一次回访（默认）", "first": "每张工单按本期第一次回访"}
OVERDUE_DAYS = {"whole": "满一个工作日计一天（默认）", "started": "不满一个工作日也计一天"}


@dataclass(frozen=True)
class Definitions:
    sign_returns: str = "exclude"
    close_basis: str = "first"
    callback_pick: str = "final"
    basic_weight: str = "1"  # weight of 基本满意 in 满意率, a decimal string such as "0.8"
    response_weights: dict = field(default_factory=lambda: {"sign_rate": "0.5", "contact_rate": "0.5"})
    overdue_days: str = "whole"
    repeat_days: int = 30  # a call is 重复来电 when the same number called within this many days

    @property
    def basic(self) -> Fraction:
        return Fraction(self.basic_weight)

    @property
    def weights(self) -> dict[str, Fraction]:
        return {k: Fraction(v) for k, v in self.response_weights.items() if k in RESPONSE_PARTS and Fraction(v) > 0}

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT = Definitions()


def validate(data: dict) -> Definitions:
    """A Definitions from stored or submitted data; raises ValueError with a Chinese message."""
    d = {**DEFAULT.as_dict(), **(data or {})}
    if d["sign_returns"] not in SIGN_RETURNS:
        raise ValueError("按时签收率口径无效")
    if d["close_basis"] not in CLOSE_BASIS:
        raise ValueError("按时办结率口径无效")
    if d["callback_pick"] not in CALLBACK_PICK:
        raise ValueError("回访口径无效")
    if d["overdue_days"] not in OVERDUE_DAYS:
        raise ValueError("超期天数口径无效")
    try:
        basic = Fraction(str(d["basic_weight"]))
    except (ValueError, ZeroDivisionError):
        raise ValueError("基本满意权重应为 0 到 1 之间的数") from None
    if not 0 <= basic <= 1:
        raise ValueError("基本满意权重应为 0 到 1 之间的数")
    weights = {}
    for k, v in (d["response_weights"] or {}).items():
        if k not in RESPONSE_PARTS:
            raise ValueError(f"响应率不能包含 {k}")
        try:
            w = Fraction(str(v))
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{RESPONSE_PARTS[k]}的权重应为数字") from None
        if w < 0:
            raise ValueError(f"{RESPONSE_PARTS[k]}的权重不能为负数")
        if w > 0:
            weights[k] = str(v)
    if not weights:
        raise ValueError("响应率至少要由一项比率组成（权重大于 0）")
    try:
        repeat = int(d["repeat_days"])
    except (TypeError, ValueError):
        raise ValueError("重复来电的天数应为整数") from None
    if not 1 <= repeat <= 365:
        raise ValueError("重复来电的天数应在 1 到 365 之间")
    return Definitions(sign_returns=d["sign_returns"], close_basis=d["close_basis"],
                       callback_pick=d["callback_pick"], basic_weight=str(d["basic_weight"]),
                       response_weights=weights, overdue_days=d["overdue_days"], repeat_days=repeat)


def current() -> Definitions:
    """The definitions in force (the stored setting over the defaults)."""
    stored = settings.value(KEY, None)
    try:
        return validate(stored or {})
    except ValueError:
        return DEFAULT


def save(defs: Definitions) -> None:
    settings.store(KEY, defs.as_dict())


def _pct(w: Fraction) -> str:
    p = w * 100
    return f"{p.numerator}%" if p.denominator == 1 else f"{float(p):g}%"


def _weight(w: Fraction) -> str:
    return str(w.numerator) if w.denominator == 1 else f"{float(w):g}"


def formulas(defs: Definitions) -> dict[str, str]:
    """The formulas in words, rendered from the definitions in use."""
    weights = defs.weights
    total = sum(weights.values())
    response = " + ".join(f"{_pct(w / total)} × {RESPONSE_PARTS[k]}" for k, w in weights.items())
    basic = defs.basic
    sat = ("（满意 + 基本满意）" if basic == 1 else "满意" if basic == 0 else f"（满意 + {_weight(basic)} × 基本满意）")
    pick = "最后一次" if defs.callback_pick == "final" else "第一次"
    return {
        "sign_rate": "按时签收率 = 按时签收件数 ÷ 应签收件数"
                     + ("（在退单期限内退回且未被驳回的派件不计入）" if defs.sign_returns == "exclude" else "（按时退单也计入应签收）"),
        "close_rate": "按时办结率 = 按时办结件数 ÷ 办结件数；按时指最后一次答复不晚于"
                      + ("首次办理时限（加批准的延期和挂起时间，重办不重新起算）" if defs.close_basis == "first"
                         else "答复时有效的办理时限（重办后按重办时限）"),
        "contact_rate": "联系率 = 已联系市民的答复次数 ÷ 答复次数",
        "response_rate": f"响应率 = {response}（缺项时按其余各项的权重折算）",
        "resolution_rate": f"解决率 = 回访“已解决”的工单 ÷ 回访联系上的工单（每张工单按本期{pick}回访）",
        "satisfaction_rate": f"满意率 = {sat} ÷ 回访联系上的工单（每张工单按本期{pick}回访）",
        "score": "综合得分 = （响应率 + 解决率 + 满意率）÷ 3",
        "overdue_days": "超期天数：" + ("满一个工作日计一天" if defs.overdue_days == "whole" else "不满一个工作日也计一天"),
        "note": "回访联系上的工单不含回访员判定诉求不合理、经督办人员裁定不计入或尚待裁定的回访；"
                "尚待裁定的单列为“不合理待裁定”。所有比率按分子、分母精确计算，只在显示时四舍五入一次。",
    }
