"""Unit ranking by the three rates (三率) and the other rates, for any period and level.

Each rate is numerator / denominator of two figures from hotline.reports.metrics, so the
page can state its formula and every number drills down to its tickets.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from hotline.clock import now as clock_now
from hotline.reports.aggregate import figures, unit_nodes
from hotline.reports.metrics import Period
from hotline.tickets.models import Assignment


@dataclass(frozen=True)
class Rate:
    key: str
    label: str
    numerator: str
    denominator: str
    formula: str


RATES = [
    Rate("sign_rate", "按时签收率", "signed_on_time", "should_sign", "按时签收 ÷ 应签收"),
    Rate("contact_rate", "联系率", "contacted", "replies", "已联系市民的答复 ÷ 答复数"),
    Rate("resolution_rate", "解决率", "resolved", "callbacks_reached", "回访“已解决” ÷ 回访联系上"),
    Rate("satisfaction_rate", "满意率", "satisfied", "callbacks_reached", "（满意 + 基本满意）÷ 回访联系上"),
    Rate("close_rate", "按时办结率", "closed_on_time", "closed", "按时办结 ÷ 办结数"),
    Rate("return_rate", "退单率", "returned", "received", "退单 ÷ 派件数"),
    Rate("reopen_rate", "重办率", "reopened", "callbacks_reached", "重办次数 ÷ 回访联系上"),
]
THREE = ("response_rate", "resolution_rate", "satisfaction_rate")
FORMULAS = {
    "response_rate": "响应率 = 50% × 按时签收率 + 50% × 联系率",
    "resolution_rate": "解决率 = 回访“已解决”件数 ÷ 回访联系上件数",
    "satisfaction_rate": "满意率 = （满意 + 基本满意）÷ 回访联系上件数",
    "score": "综合得分 = （响应率 + 解决率 + 满意率）÷ 3",
    "note": "回访联系上件数不含回访员判定诉求不合理、经督办人员裁定不计入或尚待裁定的回访。",
}
NEEDED = sorted({r.numerator for r in RATES} | {r.denominator for r in RATES})


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def unit_ranking(date_from: date, date_to: date, level: int | None = 2, as_of: datetime | None = None) -> dict:
    """Rates per unit of `level` (each over its subtree) for [date_from, date_to]."""
    start = datetime.combine(date_from, datetime.min.time())
    end = datetime.combine(date_to + timedelta(days=1), datetime.min.time())
    as_of = min(as_of or clock_now(), end)
    period = Period(start, end, as_of)
    nodes = unit_nodes()
    # average working days to close: the days fixed on each assignment when the unit
    # replied, summed in the same scan as the closed tickets
    days = {"closed": {"_days": sa.func.sum(Assignment.reply_working_days),
                       "_days_n": sa.func.count(Assignment.reply_working_days)}}
    own, total = figures(NEEDED, period, nodes, aggregates=days)
    rows = []
    for n in nodes:
        if level is not None and n.level != level:
            continue
        counts = {k: total[k].get(n.id, 0) for k in NEEDED}
        if not any(counts.values()):
            continue
        rates = {r.key: _ratio(counts[r.numerator], counts[r.denominator]) for r in RATES}
        parts = [rates["sign_rate"], rates["contact_rate"]]
        rates["response_rate"] = round(sum(p for p in parts if p is not None) / len([p for p in parts if p is not None]),
                                       4) if any(p is not None for p in parts) else None
        three = [rates[k] for k in THREE if rates[k] is not None]
        score = round(sum(three) / len(three), 4) if three else None
        s, c = total["_days"].get(n.id, 0), total["_days_n"].get(n.id, 0)
        rows.append({"unit_id": n.id, "unit": n.name, "level": n.level, "counts": counts, "rates": rates,
                     "score": score, "avg_days_to_close": round(s / c, 2) if c else None})
    ranked = sorted([r for r in rows if r["score"] is not None], key=lambda r: (-r["score"], r["unit"]))
    for i, r in enumerate(ranked, 1):
        r["rank"] = i
    red = {r["unit_id"] for r in ranked[:5]}
    black = {r["unit_id"] for r in ranked[-5:]} - red if len(ranked) > 5 else set()
    for r in rows:
        r["mark"] = "red" if r["unit_id"] in red else "black" if r["unit_id"] in black else ""
    rows.sort(key=lambda r: (r.get("rank") or 10**6, r["unit"]))
    return {"start": start.isoformat(), "end": end.isoformat(), "as_of": as_of.isoformat(), "level": level,
            "rows": rows, "rates": RATES, "formulas": FORMULAS}
