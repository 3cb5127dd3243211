"""Weekly reports (周报) and monthly bulletins (月度通报): built as of a moment, stored as
snapshots that are never overwritten.

`build_report` computes every figure of a period as of min(now, end) from the history,
with the ids behind each figure, the rates exactly, the definitions and formulas in use,
the overdue list, and the change against the previous period (环比). `generate_report`
stores it once; regenerating (with a reason) adds a revision beside the earlier ones,
and `diff` shows what changed between two revisions.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hotline.clock import now as clock_now
from hotline.deadlines.services import calendar
from hotline.enums import AlertSubject
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.reports import periods
from hotline.reports.aggregate import Figures, Planned, centre_id, plan_figures, run_planned, unit_nodes
from hotline.reports.definitions import Definitions, current, formulas
from hotline.reports.metrics import METRICS, Period
from hotline.reports.queries import rows_of
from hotline.reports.models import KINDS, ReportSnapshot
from hotline.reports.rates import NEEDED, parts, rate_values
from hotline.scheduler.models import Escalation
from hotline.supervision.levels import level_names
from hotline.tickets.models import Ticket
from hotline.units.models import Unit

KEYS = list(METRICS)
#: The columns of the report table, by section (every figure is stored and drillable).
SECTIONS = [
    ("lead", "主办工作", ["received", "should_sign", "signed_on_time", "closed", "closed_on_time", "closed_late",
                       "overdue_now", "returned", "returns_overruled", "redispatched", "extensions",
                       "extensions_approved", "reopened", "replies", "contacted", "unreachable"]),
    ("callbacks", "回访", ["callbacks_reached", "resolved", "satisfied", "basically", "unsatisfied",
                         "pending_decision"]),
    ("co", "协办工作（按协办期限）", ["co_received", "co_should_sign", "co_signed_on_time", "co_should_reply",
                               "co_replied_on_time", "co_overdue_now"]),
    ("supervision", "督办", ["cases_opened", "cases_closed", "cases_open"]),
]
CENTRE_KEYS = ["calls", "direct", "repeat_calls"]
OVERDUE_LIST_LIMIT = 2000


def _columns(keys):
    return [{"key": k, "label": METRICS[k].label, "explain": METRICS[k].explain, "counts": METRICS[k].unit_label}
            for k in keys]


def _average(minutes: int, n: int):
    return [minutes, 60 * n] if n else None


def build_report(kind: str, key: str, now: datetime | None = None, defs: Definitions | None = None,
                 *, with_previous: bool = True, ids: bool = False) -> dict:
    """The report's data for a period, as of min(now, end). With `ids` (a snapshot) every
    figure's item ids are listed under "ids" and each count is its list's length; without
    (a page shown live, whose drill-down lists them afresh) the figures are counted in the
    database by the same predicates over the same rows, and "ids" is absent."""
    name, start, end = periods.parse(kind, key)
    now = now or clock_now()
    d = defs or current()
    period = Period.of(start, end, now)
    nodes = unit_nodes()
    # the previous period for 环比 from its snapshot, or counted together with this one
    previous, prev_key = (stored_previous(kind, start) if with_previous else None), None
    plans = [plan_figures(KEYS, period, d, nodes, ids=ids)]
    if with_previous and previous is None:
        prev_key, previous_plan = previous_planned(kind, start, now, d)
        plans.append(previous_plan)
    figs, *prev_figs = run_planned(*plans)
    centre = centre_id(nodes)
    totals = {k: figs.rolled(k) for k in figs.counts}
    minutes = {k: figs.rolled_minutes(k) for k in figs.minutes}
    rows = []
    for n in nodes:
        if n.id == centre:
            continue
        values = {k: totals[k].get(n.id, 0) for k in KEYS}
        if not any(values.values()) and n.level > 2:
            continue  # streets and communities with nothing to report are left out
        rows.append({"unit_id": n.id, "unit": n.name, "level": n.level, "depth": max(n.level - 2, 0),
                     "values": values, "rates": rate_values(values, d), "parts": parts(values, d),
                     "avg_sign_hours": _average(minutes["sign_minutes"].get(n.id, 0), values["signed"]),
                     "avg_handle_hours": _average(minutes["handle_minutes"].get(n.id, 0), values["answered"])})
    city_values = {k: figs.city(k) for k in KEYS}
    city = {"values": city_values, "rates": rate_values(city_values, d), "parts": parts(city_values, d),
            "avg_sign_hours": _average(figs.city_minutes("sign_minutes"), city_values["signed"]),
            "avg_handle_hours": _average(figs.city_minutes("handle_minutes"), city_values["answered"])}
    data = {
        "kind": kind, "period": name, "week": name, "start": start.isoformat(), "end": end.isoformat(),
        "as_of": period.as_of.isoformat(), "definitions": d.as_dict(), "formulas": formulas(d),
        "sections": [{"key": s, "label": label, "columns": _columns(keys)} for s, label, keys in SECTIONS],
        "centre_columns": _columns(CENTRE_KEYS),
        "rows": rows, "city": city,
        "overdue": overdue_list(period, d),
    }
    if figs.ids is not None:
        data["ids"] = {k: {str(u): v for u, v in figs.ids[k].items()} for k in KEYS}
    if with_previous:
        data["previous"] = previous if previous is not None else previous_from(prev_key, prev_figs[0], d)
    return data


def stored_previous(kind: str, start: datetime) -> dict | None:
    """The previous period's city figures for 环比 from its stored snapshot (None: not stored)."""
    prev = periods.PREVIOUS[kind](start)
    stored = db.session.execute(
        sa.select(ReportSnapshot.data["legacy"], ReportSnapshot.data["city"])  # not its ids
        .where(ReportSnapshot.kind == kind, ReportSnapshot.period == prev)
        .order_by(ReportSnapshot.revision.desc()).limit(1)).first()
    if stored is not None and not stored[0]:
        city = stored[1]
        return {"period": prev, "values": city["values"], "rates": city["rates"], "stored": True}
    return None


def previous_planned(kind: str, start: datetime, now: datetime, d: Definitions) -> tuple[str, Planned]:
    """Not stored: only the city's figures the rates need, as of its end."""
    prev = periods.PREVIOUS[kind](start)
    _, p_start, p_end = periods.parse(kind, prev)
    return prev, plan_figures(NEEDED + CENTRE_KEYS, Period.of(p_start, p_end, now), d, averages=False, ids=False)


def previous_from(prev: str, figs: Figures, d: Definitions) -> dict:
    values = {k: figs.city(k) for k in figs.counts}
    return {"period": prev, "values": values, "rates": rate_values(values, d), "stored": False}


def overdue_list(period: Period, d: Definitions) -> list[dict]:
    """The lead assignments counted in 超期未办结 (every row of its family with a unit),
    the longest overdue first, with the days overdue (as the definitions count them) and
    the supervision level they had reached, all as of as_of."""
    rows = [r for r in rows_of("overdue", period, d, order=lambda c: (c.at, c.item_id), limit=OVERDUE_LIST_LIMIT)
            if r.unit_id is not None]
    if not rows:
        return []
    tids = [r.ticket_id for r in rows]
    tickets = {t.id: t for t in db.session.execute(sa.select(Ticket.id, Ticket.number, Ticket.title)
                                                   .where(Ticket.id.in_(tids)))}
    units = dict(db.session.execute(sa.select(Unit.id, Unit.name)).all())
    levels = _levels(rows, period)
    cal, names = calendar(), level_names()
    per_day = cal.minutes_per_day
    out = []
    for r in rows:
        minutes = cal.working_minutes_between(r.at, period.as_of)
        days = minutes // per_day if d.overdue_days == "whole" else -(-minutes // per_day)
        level = levels.get(r.item_id, 1)
        t = tickets.get(r.ticket_id)
        out.append({"ticket_id": r.ticket_id, "assignment_id": r.item_id, "number": t.number if t else "",
                    "title": t.title if t else "", "unit": units.get(r.unit_id, ""), "unit_id": r.unit_id,
                    "due_at": r.at.isoformat(), "overdue_minutes": minutes, "days_overdue": days,
                    "level": level, "level_name": names.get(level, "")})
    return out


def _levels(rows, period: Period) -> dict[int, int]:
    """The escalation level each assignment had reached by as_of on the deadline it missed
    (a moved deadline starts over at level 1)."""
    due = {r.item_id: r.at for r in rows}
    out: dict[int, int] = {}
    for chunk in range(0, len(rows), 500):
        part = [r.item_id for r in rows[chunk:chunk + 500]]
        for sid, level, due_at in db.session.execute(
                sa.select(Escalation.subject_id, Escalation.level, Escalation.due_at)
                .where(Escalation.subject == AlertSubject.ASSIGNMENT, Escalation.subject_id.in_(part),
                       Escalation.created_at < period.as_of)):
            if due_at == due.get(sid):
                out[sid] = max(out.get(sid, 1), level)
    return out


# --- stored snapshots -----------------------------------------------------------------------
def revisions(kind: str, key: str) -> list[ReportSnapshot]:
    return db.session.scalars(sa.select(ReportSnapshot).where(ReportSnapshot.kind == kind, ReportSnapshot.period == key)
                              .order_by(ReportSnapshot.revision.desc())).all()


def latest(kind: str, key: str) -> ReportSnapshot | None:
    rows = revisions(kind, key)
    return rows[0] if rows else None


def generate_report(kind: str, key: str, now: datetime | None = None, *, force: bool = False, by=None,
                    reason: str = "") -> ReportSnapshot:
    """Store the snapshot of a finished period once. `force` adds a new revision (the
    earlier ones stay) and needs a reason. Flushes; the caller commits."""
    if kind not in KINDS:
        raise ValidationFailed("报表类型无效", field="kind")
    now = now or clock_now()
    name, start, end = periods.parse(kind, key)
    if now < end:
        raise ValidationFailed(f"{name} 尚未结束，快照须在该期结束后生成", field="period")
    existing = latest(kind, name)
    if existing is not None and not force:
        return existing
    reason = (reason or "").strip()
    if existing is not None and not reason:
        raise ValidationFailed("重新生成须写明原因（原有版本会保留）", field="reason")
    if len(reason) > 500:
        raise ValidationFailed("原因不能超过 500 字", field="reason")
    data = build_report(kind, name, now, ids=True)
    row = ReportSnapshot(kind=kind, period=name, revision=(existing.revision + 1) if existing else 1,
                         start=start, end=end, as_of=datetime.fromisoformat(data["as_of"]), generated_at=now,
                         generated_by_id=getattr(by, "id", None), reason=reason or ("定时生成" if by is None else "首次生成"),
                         data=data)
    db.session.add(row)
    db.session.flush()
    return row


def diff(old: dict, new: dict) -> list[dict]:
    """Figures that differ between two snapshots of one period: per unit (own ids) and
    figure, the counts and the ids that came and went."""
    out = []
    units = {r["unit_id"]: r["unit"] for r in old.get("rows", []) + new.get("rows", [])}
    for k in METRICS:
        a, b = old.get("ids", {}).get(k, {}), new.get("ids", {}).get(k, {})
        for uid in sorted(set(a) | set(b), key=lambda u: int(u)):
            before, after = set(a.get(uid, ())), set(b.get(uid, ()))
            if before != after:
                out.append({"key": k, "label": METRICS[k].label, "counts": METRICS[k].unit_label,
                            "unit_id": int(uid), "unit": units.get(int(uid), "全市/中心"),
                            "old": len(before), "new": len(after),
                            "added": sorted(after - before), "removed": sorted(before - after)})
    if old.get("definitions") != new.get("definitions"):
        out.append({"key": "definitions", "label": "统计口径", "counts": "", "unit_id": None, "unit": "",
                    "old": None, "new": None, "added": [], "removed": []})
    return out


def report_job(kind: str, now: datetime | None = None) -> dict:
    """Monday 08:00 (weekly) / the 1st 08:00 (monthly): the past period, stored."""
    now = now or clock_now()
    row = generate_report(kind, periods.LAST_FINISHED[kind](now), now)
    return {"period": row.period, "revision": row.revision, "units": len(row.data["rows"]),
            "overdue": len(row.data["overdue"])}

