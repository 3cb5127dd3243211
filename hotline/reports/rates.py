"""The rates of the reports (三率 and the others), kept exact and ranked.

A rate is a fraction of figures from hotline.reports.metrics: numerator and denominator
are kept as exact numbers (fractions.Fraction), and rounded once, for display only. The
formulas shown beside them are rendered from the definitions in use.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import sqlalchemy as sa

from hotline.clock import now as clock_now
from hotline.extensions import db
from hotline.reports.aggregate import Figures, average_hours, figure_ids, unit_nodes
from hotline.reports.definitions import Definitions, current, formulas
from hotline.reports.metrics import Period
from hotline.reports.models import ReportSnapshot


@dataclass(frozen=True)
class Rate:
    key: str
    label: str
    num: tuple[str, ...]  # the figures summed in the numerator (基本满意 weighted)
    den: str
    section: str = "lead"

    def numerator(self, counts: dict, d: Definitions) -> Fraction:
        return sum((Fraction(counts.get(k, 0)) * (d.basic if k == "basically" else 1) for k in self.num),
                   Fraction(0))


RATES = [
    Rate("sign_rate", "按时签收率", ("signed_on_time",), "should_sign"),
    Rate("contact_rate", "联系率", ("contacted",), "replies"),
    Rate("close_rate", "按时办结率", ("closed_on_time",), "closed"),
    Rate("resolution_rate", "解决率", ("resolved",), "callbacks_reached"),
    Rate("satisfaction_rate", "满意率", ("satisfied", "basically"), "callbacks_reached"),
    Rate("return_rate", "退单率", ("returned",), "received"),
    Rate("redispatch_rate", "改派率", ("redispatched",), "received"),
    Rate("reopen_rate", "重办率", ("reopened",), "callbacks_reached"),
    Rate("co_sign_rate", "协办按时签收率", ("co_signed_on_time",), "co_should_sign", "co"),
    Rate("co_reply_rate", "协办按时反馈率", ("co_replied_on_time",), "co_should_reply", "co"),
    Rate("direct_rate", "直办率", ("direct",), "calls", "centre"),
    Rate("repeat_rate", "重复来电率", ("repeat_calls",), "calls", "centre"),
]
BY_KEY = {r.key: r for r in RATES}
THREE = ("response_rate", "resolution_rate", "satisfaction_rate")
RATE_LABELS = {**{r.key: r.label for r in RATES}, "response_rate": "响应率", "score": "综合得分"}
#: Every figure a rate needs (what the ranking counts).
NEEDED = sorted({k for r in RATES if r.section != "centre" for k in (*r.num, r.den)}
                | {"signed", "answered", "unsatisfied", "pending_decision", "closed_late", "overdue_now"})


def rate_values(counts: dict, d: Definitions) -> dict[str, list | None]:
    """{rate key: [numerator, denominator] as exact fractions' parts, or None (no basis)}.

    Numerators may be fractional (the weight of 基本满意), so each value is stored as
    [n, m] with the rate = n / m exactly."""
    out: dict[str, Fraction | None] = {}
    for r in RATES:
        den = counts.get(r.den, 0)
        out[r.key] = r.numerator(counts, d) / den if den else None
    weights = {k: w for k, w in d.weights.items() if out.get(k) is not None}
    out["response_rate"] = (sum(out[k] * w for k, w in weights.items()) / sum(weights.values())) if weights else None
    three = [out[k] for k in THREE if out[k] is not None]
    out["score"] = sum(three) / len(three) if three else None
    return {k: ([v.numerator, v.denominator] if v is not None else None) for k, v in out.items()}


def parts(counts: dict, d: Definitions) -> dict[str, str]:
    """'numerator / denominator' in figures, for the hover text beside each rate."""
    out = {}
    for r in RATES:
        num = r.numerator(counts, d)
        num_s = str(num.numerator) if num.denominator == 1 else f"{float(num):g}"
        out[r.key] = f"{num_s} / {counts.get(r.den, 0)}"
    return out


def as_fraction(value) -> Fraction | None:
    return Fraction(value[0], value[1]) if value else None


def percent(value, places: int = 1) -> str:
    """An exact rate shown as a percentage, rounded once (half up): 13/14 -> '92.9%'."""
    f = as_fraction(value) if isinstance(value, list) else value
    if f is None:
        return "—"
    q = Decimal(1).scaleb(-places)
    return f"{(Decimal(f.numerator) * 100 / Decimal(f.denominator)).quantize(q, rounding=ROUND_HALF_UP)}%"


def change(now, before) -> str:
    """环比 of two rates in percentage points, rounded once: '+1.2 个百分点'."""
    a, b = as_fraction(now), as_fraction(before)
    if a is None or b is None:
        return "—"
    q = (Decimal((a - b).numerator) * 100 / Decimal((a - b).denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{'+' if q > 0 else ''}{q} 个百分点"


def hours(value) -> str:
    f = as_fraction(value) if isinstance(value, list) else value
    if f is None:
        return "—"
    return str((Decimal(f.numerator) / Decimal(f.denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def last_full_week(today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def ranking_rows(figs: Figures, d: Definitions, level: int | None) -> list[dict]:
    rows = []
    totals = {k: figs.rolled(k) for k in figs.counts}
    minutes = {k: figs.rolled_minutes(k) for k in figs.minutes}
    for n in figs.nodes:
        if level is not None and n.level != level:
            continue
        counts = {k: totals[k].get(n.id, 0) for k in totals}
        if not any(counts.values()):
            continue
        rates = rate_values(counts, d)
        rows.append({"unit_id": n.id, "unit": n.name, "level": n.level, "counts": counts, "rates": rates,
                     "parts": parts(counts, d), "score": rates["score"],
                     "avg_sign_hours": _avg(minutes, "sign_minutes", n.id, counts.get("signed", 0)),
                     "avg_handle_hours": _avg(minutes, "handle_minutes", n.id, counts.get("answered", 0))})
    ranked = sorted([r for r in rows if r["score"] is not None],
                    key=lambda r: (-as_fraction(r["score"]), r["unit"]))
    for i, r in enumerate(ranked, 1):
        r["rank"] = i
    red = {r["unit_id"] for r in ranked[:5]}
    black = {r["unit_id"] for r in ranked[-5:]} - red if len(ranked) > 5 else set()
    for r in rows:
        r["mark"] = "red" if r["unit_id"] in red else "black" if r["unit_id"] in black else ""
    rows.sort(key=lambda r: (r.get("rank") or 10**6, r["unit"]))
    return rows


def _avg(minutes, key, unit_id, n):
    h = average_hours(minutes.get(key, {}).get(unit_id, 0), n)
    return [h.numerator, h.denominator] if h is not None else None


def unit_ranking(date_from: date, date_to: date, level: int | None = 2, as_of: datetime | None = None,
                 defs: Definitions | None = None) -> dict:
    """Rates per unit of `level` (each over its subtree) for [date_from, date_to], as of
    `as_of` (default: now, or the period's end when it is over)."""
    d = defs or current()
    start = datetime.combine(date_from, datetime.min.time())
    end = datetime.combine(date_to + timedelta(days=1), datetime.min.time())
    period = Period(start, end, min(as_of, end)) if as_of else Period.of(start, end, clock_now())
    as_of = period.as_of
    nodes = unit_nodes()
    figs = stored_figures(period, d, nodes) if level is not None and level >= 2 else None
    snapshot = figs.snapshot if figs is not None else None
    if figs is None:
        figs = figure_ids(NEEDED, period, d, nodes, ids=False)
    return {"start": start.isoformat(), "end": end.isoformat(), "as_of": as_of.isoformat(), "level": level,
            "rows": ranking_rows(figs, d, level), "rates": RATES, "formulas": formulas(d),
            "definitions": d.as_dict(), "period": period, "snapshot": snapshot}


class StoredFigures:
    """The figures of a stored report, per unit over its subtree (as its rows hold them),
    in the shape ranking_rows reads."""

    def __init__(self, rows: list[dict], nodes, snapshot: tuple):
        self.nodes, self.snapshot = nodes, snapshot
        self.counts = {k: {} for k in NEEDED}
        self._rolled = {k: {r["unit_id"]: r["values"].get(k, 0) for r in rows} for k in NEEDED}
        self.minutes = {name: {r["unit_id"]: (r[avg][0] if r[avg] else 0) for r in rows}
                        for name, avg in (("sign_minutes", "avg_sign_hours"), ("handle_minutes", "avg_handle_hours"))}

    def rolled(self, key: str) -> dict[int, int]:
        return self._rolled[key]

    def rolled_minutes(self, key: str) -> dict[int, int]:
        return self.minutes[key]


def stored_figures(period: Period, d: Definitions, nodes) -> StoredFigures | None:
    """A ranking over exactly a stored report's period (the last full week or month), taken
    at the same moment by the same definitions, reads that report's figures: they are the
    same counts (a finished period's figures do not change; the latest revision is the one
    in force). Any other range, moment or definitions is counted afresh."""
    row = db.session.execute(
        sa.select(ReportSnapshot.kind, ReportSnapshot.period, ReportSnapshot.revision,
                  ReportSnapshot.data["definitions"], ReportSnapshot.data["rows"])
        .where(ReportSnapshot.start == period.start, ReportSnapshot.end == period.end,
               ReportSnapshot.as_of == period.as_of)
        .order_by(ReportSnapshot.revision.desc()).limit(1)).first()
    if row is None or row[4] is None or row[3] != d.as_dict():
        return None
    return StoredFigures(row[4], nodes, (row[0], row[1], row[2]))
