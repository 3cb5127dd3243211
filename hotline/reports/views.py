"""Report pages: the weekly overdue report (page, print, CSV, XLSX), the unit ranking,
and the drill-down from any figure to its tickets."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError
from sqlalchemy.orm import joinedload, selectinload

from hotline.units.models import Unit
from hotline.clock import now as clock_now
from hotline.enums import Role
from hotline.errors import DomainError
from hotline.extensions import db
from hotline.lifecycle.uow import unit_of_work
from hotline.reports.aggregate import drill_condition
from hotline.reports.metrics import METRICS, Period
from hotline.reports.models import WeeklyReport
from hotline.reports.rates import unit_ranking
from hotline.reports.weekly import build_weekly_report, generate_weekly_report, parse_week, previous_week, week_of
from hotline.tickets.models import Ticket
from hotline.tickets.queries import visible_tickets

bp = Blueprint("reports", __name__, url_prefix="/reports")
READERS = (Role.MANAGER, Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN)


@bp.before_request
@login_required
def _readers_only():
    if not current_user.has_role(*READERS):
        abort(403)


# --- weekly -----------------------------------------------------------------------------
@bp.route("/weekly", methods=["GET", "POST"])
def weekly_index():
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            abort(400)
        week = request.form.get("week", "").strip()
        try:
            with unit_of_work():
                row = generate_weekly_report(week, force=bool(request.form.get("force")))
        except DomainError as err:
            flash(err.message, "error")
            return redirect(url_for("reports.weekly_index", week=week))
        return redirect(url_for("reports.weekly", week=row.week))
    reports = db.session.scalars(sa.select(WeeklyReport).order_by(WeeklyReport.start.desc()).limit(104)).all()
    return render_template("reports/weekly_index.html", reports=reports,
                           suggested=request.args.get("week") or previous_week(clock_now()))


class _Live:
    """A week still running: shown live, never stored (its snapshot comes after it ends)."""

    def __init__(self, data):
        self.data, self.week = data, data["week"]
        self.start, self.end = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
        self.as_of = self.generated_at = datetime.fromisoformat(data["as_of"])
        self.live = True


def _stored(week: str):
    try:
        start, end = parse_week(week)
    except DomainError:
        abort(404)
    row = db.session.scalars(sa.select(WeeklyReport).where(WeeklyReport.week == week_of(start))).first()
    if row is not None:
        return row
    if clock_now() < end:
        return _Live(build_weekly_report(week))
    with unit_of_work():
        return generate_weekly_report(week)  # a finished week: stored like the Monday job's


@bp.route("/weekly/<week>")
def weekly(week: str):
    row = _stored(week)
    return render_template("reports/weekly.html", report=row, data=row.data)


def _weekly_table(data: dict) -> tuple[list[str], list[list]]:
    header = ["单位"] + [c["label"] for c in data["columns"]]
    keys = [c["key"] for c in data["columns"]]
    rows = [["全市合计"] + [data["city"][k] for k in keys]]
    rows += [["　" * r["depth"] + r["unit"]] + [r[k] for k in keys] for r in data["rows"]]
    return header, rows


def _overdue_table(data: dict) -> tuple[list[str], list[list]]:
    return (["工单编号", "标题", "承办单位", "办理期限", "超期工作日", "督办级别"],
            [[o["number"], o["title"], o["unit"], o["due_at"].replace("T", " ")[:16], o["days_overdue"],
              o["level_name"]] for o in data["overdue"]])


class _SafeWriter:
    """CSV cells that a spreadsheet would run as formulas are quoted with a leading '."""

    def __init__(self, writer):
        self.w = writer

    @staticmethod
    def _cell(v):
        return "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v

    def writerow(self, row):
        self.w.writerow([self._cell(v) for v in row])

    def writerows(self, rows):
        for r in rows:
            self.writerow(r)


@bp.route("/weekly/<week>.csv")
def weekly_csv(week: str):
    row = _stored(week)
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf)
    w = _SafeWriter(w)
    w.writerow([f"12345热线超期工单周报 {row.week}（{row.start:%Y-%m-%d} 至 {row.end - timedelta(days=1):%Y-%m-%d}）"])
    for header, rows in (_weekly_table(row.data), _overdue_table(row.data)):
        w.writerow([])
        w.writerow(header)
        w.writerows(rows)
    return Response(buf.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=weekly-{row.week}.csv"})


@bp.route("/weekly/<week>.xlsx")
def weekly_xlsx(week: str):
    import xlsxwriter

    row = _stored(week)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    for title, (header, rows) in (("周报", _weekly_table(row.data)), ("超期工单", _overdue_table(row.data))):
        sheet = book.add_worksheet(title)
        sheet.write_row(0, 0, header, bold)
        for i, r in enumerate(rows, 1):
            sheet.write_row(i, 0, r)
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, len(header), 12)
        sheet.freeze_panes(1, 1)
    book.close()
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=weekly-{row.week}.xlsx"})


# --- ranking ----------------------------------------------------------------------------
def _date(value, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


@bp.route("/rates")
def rates():
    today = clock_now().date()
    date_from = _date(request.args.get("date_from"), today.replace(day=1))
    date_to = _date(request.args.get("date_to"), today)
    error = None
    if date_to < date_from:
        error, date_to = "结束日期不能早于开始日期", date_from
    level = request.args.get("level", type=int) or 2
    data = unit_ranking(date_from, date_to, level=level)
    return render_template("reports/rates.html", data=data, date_from=date_from, date_to=date_to, level=level,
                           error=error)


# --- drill-down -------------------------------------------------------------------------
@bp.route("/drill")
def drill():
    key = request.args.get("metric")
    if key not in METRICS:
        abort(404)
    try:
        period = Period(datetime.fromisoformat(request.args["start"]), datetime.fromisoformat(request.args["end"]),
                        datetime.fromisoformat(request.args["as_of"]))
    except (KeyError, ValueError):
        abort(400)
    unit_id = request.args.get("unit_id", type=int)
    unit = db.session.get(Unit, unit_id) if unit_id else None
    stmt = (visible_tickets(current_user).where(Ticket.id.in_(drill_condition(key, period, unit_id)))
            .options(joinedload(Ticket.lead_unit), selectinload(Ticket.assignments))
            .order_by(Ticket.id.desc()))
    pagination = db.paginate(stmt, per_page=current_app.config["TICKETS_PER_PAGE"], error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("reports/drill.html", metric=METRICS[key], unit=unit, period=period,
                           pagination=pagination, args=args)
