"""The reports as JSON: weekly report, monthly bulletin, unit ranking, dashboard — the same
functions as the report pages, for the same readers (管理人员, 督办人员, 派单员, 系统管理员).
Rates are exact: [numerator, denominator] with the percentage rounded once beside them."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from hotline.api.errors import ApiError
from hotline.api.schemas import DashboardOut, RankingOut, ReportOut
from hotline.api.spec import api_route
from hotline.api.views import bp
from hotline.clock import now as clock_now
from hotline.database import reading_reports
from hotline.lifecycle.guards import require_role
from hotline.lifecycle.uow import unit_of_work
from hotline.reports import periods
from hotline.reports.dashboard import MAX_DAYS, Window, build_dashboard
from hotline.reports.dashboard_views import DASHBOARD_ROLES
from hotline.reports.rates import hours, last_full_week, percent, unit_ranking
from hotline.reports.snapshots import build_report, generate_report
from hotline.reports.views import READERS

#: the longest ranking period, as on the ranking page
RANKING_MAX_DAYS = 366


def rate(value) -> dict | None:
    return {"value": value, "percent": percent(value)} if value else None


def line(r: dict, values_key: str = "values") -> dict:
    return {"unit_id": r.get("unit_id"), "unit": r.get("unit", "全市合计"), "level": r.get("level"),
            "values": r[values_key], "rates": {k: rate(v) for k, v in r["rates"].items()},
            "avg_sign_hours": hours(r["avg_sign_hours"]) if r.get("avg_sign_hours") else None,
            "avg_handle_hours": hours(r["avg_handle_hours"]) if r.get("avg_handle_hours") else None}


def moment(value: str) -> datetime:
    """A stored moment (naive local ISO text) back as a datetime, which the API writes with
    the city's offset (hotline.api.jsonfmt)."""
    return datetime.fromisoformat(value)


def report_json(data: dict, revision: int, live: bool) -> dict:
    if data.get("legacy"):
        raise ApiError(409, "LEGACY_REPORT", "该期是旧版周报，接口不提供，请在报表页面查看")
    previous = data.get("previous")
    if previous:
        previous = {**previous, "rates": {k: rate(v) for k, v in previous["rates"].items()}}
    return {"kind": data["kind"], "period": data["period"], "start": moment(data["start"]),
            "end": moment(data["end"]), "as_of": moment(data["as_of"]), "revision": revision, "live": live,
            "columns": [{"key": c["key"], "label": c["label"], "section": s["key"]}
                        for s in data["sections"] for c in s["columns"]],
            "city": line(data["city"]), "rows": [line(r) for r in data["rows"]],
            "overdue": [{**o, "due_at": moment(o["due_at"])} for o in data["overdue"]],
            "previous": previous, "formulas": data["formulas"]}


def _report(kind: str, key: str):
    """The stored snapshot of a finished period (generated and stored on first request, as
    the report page and the weekly job do: on the primary); a period still running,
    computed live (on the reports replica when one is set)."""
    require_role(current_user, *READERS)
    name, _, end = periods.parse(kind, key)
    if clock_now() < end:
        with reading_reports():
            return report_json(build_report(kind, name), 0, True)
    with unit_of_work():
        row = generate_report(kind, name)
        return report_json(row.data, row.revision, False)


@api_route(bp, "/reports/weekly/<week>", "GET", summary="周报", response=ReportOut, errors=(403, 409, 422),
           tag="reports")
def weekly_report(week: str):
    """The weekly report of an ISO week (2026-W48). 422 for a malformed week."""
    return _report("weekly", week)


@api_route(bp, "/reports/monthly/<month>", "GET", summary="月度通报", response=ReportOut, errors=(403, 409, 422),
           tag="reports")
def monthly_report(month: str):
    """The monthly bulletin of a month (2026-11). 422 for a malformed month."""
    return _report("monthly", month)


class RankingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date_from: Optional[date] = Field(None, description="起始日期（默认上一个完整周的周一）")
    date_to: Optional[date] = Field(None, description="截止日期（含；默认上一个完整周的周日）")
    level: int = Field(2, ge=1, le=4, description="单位层级（2 = 区县和市直部门）")


@api_route(bp, "/reports/ranking", "GET", summary="单位三率排名", query=RankingQuery, response=RankingOut,
           errors=(403,), tag="reports")
def ranking(query: RankingQuery):
    """Each unit of the level over its subtree, ranked by 综合得分 (red list: the first five;
    black list: the last five)."""
    require_role(current_user, *READERS)
    week_from, week_to = last_full_week(clock_now().date())
    date_from, date_to = query.date_from or week_from, query.date_to or week_to
    if date_to < date_from:
        raise ApiError(422, "VALIDATION", "结束日期不能早于开始日期", {"date_to": "早于开始日期"})
    if (date_to - date_from).days > RANKING_MAX_DAYS:
        raise ApiError(422, "VALIDATION", "统计区间最长一年", {"date_to": "区间过长"})
    with reading_reports():
        data = unit_ranking(date_from, date_to, level=query.level)
    return {"start": moment(data["start"]), "end": moment(data["end"]), "as_of": moment(data["as_of"]),
            "level": data["level"],
            "formulas": data["formulas"],
            "rows": [{**line(r, "counts"), "rank": r.get("rank"), "mark": r["mark"], "score": rate(r["score"])}
                     for r in data["rows"]]}


class DashboardQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date_from: Optional[date] = Field(None, description="起始日期（默认截止日期前 29 天）")
    date_to: Optional[date] = Field(None, description="截止日期（含；默认今天）")
    unit_id: Optional[int] = Field(None, description="承办单位（含下级）")


def _figures(figures) -> list[dict]:
    return [{"label": f.label, "value": f.value} for f in figures]


@api_route(bp, "/reports/dashboard", "GET", summary="统计看板", query=DashboardQuery, response=DashboardOut,
           errors=(403,), tag="reports")
def dashboard(query: DashboardQuery):
    """The dashboard's figures for a period of whole days (at most 366; the last 30 days
    by default), over the tickets the token's user may see."""
    user = current_user._get_current_object()
    require_role(user, *DASHBOARD_ROLES)
    date_to = query.date_to or (query.date_from + timedelta(days=29) if query.date_from else clock_now().date())
    date_from = query.date_from or date_to - timedelta(days=29)
    if date_from > date_to:
        raise ApiError(422, "VALIDATION", "起始日期晚于截止日期", {"date_from": "晚于截止日期"})
    if (date_to - date_from).days >= MAX_DAYS:
        raise ApiError(422, "VALIDATION", f"统计区间最长 {MAX_DAYS} 天", {"date_from": "区间过长"})
    with reading_reports():
        d = build_dashboard(user, Window(date_from, date_to, query.unit_id))
    return {"date_from": date_from, "date_to": date_to, "unit_id": query.unit_id, "total": d.total,
            "by_day": _figures(d.by_day), "by_type": _figures(d.by_type), "by_channel": _figures(d.by_channel),
            "by_top_category": _figures(d.by_top_category), "top_categories": _figures(d.top_categories),
            "by_district": _figures(d.by_district), "overdue_by_day": _figures(d.overdue_by_day),
            "overdue_total": d.overdue_total, "hot_categories": _figures(d.hot_categories),
            "hot_addresses": _figures(d.hot_addresses), "overdue_definition": d.overdue_definition}
