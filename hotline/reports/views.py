"""Report pages: the weekly report and the monthly bulletin (page, revisions and their
difference, CSV, XLSX), the unit ranking, and the drill-down from any figure to exactly
the things it counted."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from hotline.clock import now as clock_now
from hotline.database import reading_reports
from hotline.enums import Role
from hotline.errors import DomainError
from hotline.extensions import db
from hotline.lifecycle.uow import unit_of_work
from hotline.reports import periods
from hotline.reports.aggregate import subtree, unit_nodes
from hotline.reports.definitions import Definitions, current, validate
from hotline.reports.metrics import METRICS, THINGS, Period
from hotline.reports.queries import item_ids
from hotline.reports.models import KINDS, ReportSnapshot
from hotline.reports.rates import RATE_LABELS, RATES, change, hours, last_full_week, percent, unit_ranking
from hotline.reports.snapshots import build_report, diff, generate_report, revisions
from hotline.tickets.models import Ticket
from hotline.units.models import Unit
from hotline.security import page_arg

bp = Blueprint("reports", __name__, url_prefix="/reports")
READERS = (Role.MANAGER, Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN)


@bp.before_request
@login_required
def _readers_only():
    if not current_user.has_role(*READERS):
        abort(403)


@bp.app_context_processor
def _helpers():
    return {"pct": percent, "hrs": hours, "rate_labels": RATE_LABELS, "report_kinds": KINDS}


def _kind(kind: str) -> str:
    if kind not in KINDS:
        abort(404)
    return kind


class _Live:
    """A period still running: shown live, never stored (its snapshot comes after it ends)."""

    live = True
    revision = 0
    reason = ""
    generated_by = None
    id = None

    def __init__(self, kind, data):
        self.kind, self.data, self.period = kind, data, data["period"]
        self.start, self.end = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
        self.as_of = self.generated_at = datetime.fromisoformat(data["as_of"])

    @property
    def week(self):
        return self.period

    @property
    def kind_label(self):
        return KINDS[self.kind]


def _report(kind: str, key: str, revision: int | None = None):
    """The stored snapshot (latest or the given revision); a finished period with none is
    generated and stored like the scheduled job's; a running one is shown live.

    Stored snapshots are read, counted and written on the primary (a snapshot just
    generated is there at once); only the live count of a running period reads the
    reports replica when one is set."""
    try:
        name, start, end = periods.parse(kind, key)
    except DomainError:
        abort(404)
    rows = revisions(kind, name)
    if revision is not None:
        row = next((r for r in rows if r.revision == revision), None)
        if row is None:
            abort(404)
        return row, rows
    if rows:
        return rows[0], rows
    if clock_now() < end:
        with reading_reports():
            return _Live(kind, build_report(kind, name)), rows
    with unit_of_work():
        row = generate_report(kind, name)
    return row, [row]


# --- weekly / monthly ---------------------------------------------------------------------
@bp.route("/<kind>", methods=["GET", "POST"])
def index(kind: str):
    """GET: the last finished period's report, no click needed. POST: generate or
    regenerate (with a reason) a period's snapshot."""
    kind = _kind(kind)
    if request.method == "POST":
        return _generate(kind)
    key = request.args.get("period") or request.args.get("week") or periods.LAST_FINISHED[kind](clock_now())
    try:
        name = periods.parse(kind, key)[0]
    except DomainError as err:
        flash(err.message, "error")
        name = periods.LAST_FINISHED[kind](clock_now())
    return _render(kind, name)


def _generate(kind: str):
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        abort(400)
    key = request.form.get("period", "").strip()
    reason = request.form.get("reason", "")
    try:
        with unit_of_work():
            row = generate_report(kind, key, force=bool(request.form.get("force")), by=current_user, reason=reason)
    except DomainError as err:
        flash(err.message, "error")
        return _render(kind, key if _parses(kind, key) else periods.LAST_FINISHED[kind](clock_now()),
                       form={"period": key, "reason": reason, "force": bool(request.form.get("force"))}, status=422)
    flash(f"已生成{row.kind_label} {row.period} 第 {row.revision} 版", "success")
    return redirect(url_for("reports.report", kind=kind, key=row.period))


def _parses(kind, key) -> bool:
    try:
        periods.parse(kind, key)
        return True
    except DomainError:
        return False


def _render(kind: str, key: str, revision: int | None = None, form: dict | None = None, status: int = 200):
    row, rows = _report(kind, key, revision)
    data = row.data
    changes = None
    if not getattr(row, "live", False) and row.revision > 1 and not data.get("legacy"):
        older = next((r for r in rows if r.revision == row.revision - 1), None)
        if older is not None and not older.data.get("legacy"):
            changes = diff(older.data, data)
    stored = db.session.scalars(sa.select(ReportSnapshot).where(ReportSnapshot.kind == kind)
                                .order_by(ReportSnapshot.start.desc(), ReportSnapshot.revision.desc()).limit(60)).all()
    template = "reports/legacy_weekly.html" if data.get("legacy") else "reports/report.html"

    def drill_url(key, unit_id=None):
        if getattr(row, "live", False):
            return url_for("reports.drill", metric=key, unit_id=unit_id, start=data["start"], end=data["end"],
                           as_of=data["as_of"])
        return url_for("reports.drill", metric=key, unit_id=unit_id, snapshot=row.id)

    return render_template(template, kind=kind, report=row, data=data, revisions=rows, changes=changes,
                           drill_url=drill_url, change=change,
                           stored=stored, form=form or {"period": row.period}, rates=RATES,
                           suggested=periods.LAST_FINISHED[kind](clock_now())), status


@bp.route("/<kind>/<key>")
def report(kind: str, key: str):
    return _render(_kind(kind), key, request.args.get("revision", type=int))


def _table(data: dict) -> tuple[list[str], list[list]]:
    keys = [c["key"] for s in data["sections"] for c in s["columns"]]
    labels = [c["label"] for s in data["sections"] for c in s["columns"]]
    rate_keys = ["sign_rate", "close_rate", "response_rate", "resolution_rate", "satisfaction_rate", "score"]
    header = ["单位"] + labels + [RATE_LABELS[k] for k in rate_keys] + ["平均签收用时(工作小时)", "平均办理用时(工作小时)"]

    def line(name, r):
        return ([name] + [r["values"][k] for k in keys] + [percent(r["rates"][k]) for k in rate_keys]
                + [hours(r["avg_sign_hours"]), hours(r["avg_handle_hours"])])

    rows = [line("全市合计", data["city"])] + [line("　" * r["depth"] + r["unit"], r) for r in data["rows"]]
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


def _export_tables(row):
    if row.data.get("legacy"):
        abort(404)
    return (("报表", _table(row.data)), ("超期工单", _overdue_table(row.data)))


@bp.route("/<kind>/<key>.csv")
def report_csv(kind: str, key: str):
    row, _ = _report(_kind(kind), key, request.args.get("revision", type=int))
    buf = io.StringIO()
    buf.write("\ufeff")
    w = _SafeWriter(csv.writer(buf))
    w.writerow([f"12345热线{KINDS[kind]} {row.period}（{row.start:%Y-%m-%d} 至 {row.end - timedelta(days=1):%Y-%m-%d}）"
                f" 第 {row.revision or '实时'} 版"])
    for _, (header, rows) in _export_tables(row):
        w.writerow([])
        w.writerow(header)
        w.writerows(rows)
    return Response(buf.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={kind}-{row.period}.csv"})


@bp.route("/<kind>/<key>.xlsx")
def report_xlsx(kind: str, key: str):
    import xlsxwriter

    row, _ = _report(_kind(kind), key, request.args.get("revision", type=int))
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    for title, (header, rows) in _export_tables(row):
        sheet = book.add_worksheet(title)
        sheet.write_row(0, 0, header, bold)
        for i, r in enumerate(rows, 1):
            sheet.write_row(i, 0, r)
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, len(header), 12)
        sheet.freeze_panes(1, 1)
    book.close()
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={kind}-{row.period}.xlsx"})


# --- ranking ----------------------------------------------------------------------------
def _date(value, default: date) -> tuple[date, str | None]:
    try:
        return (date.fromisoformat(value) if value else default), None
    except ValueError:
        return default, f"日期“{value}”格式不正确，应为 YYYY-MM-DD"


@bp.route("/rates")
def rates():
    """The ranking opens on the last full week."""
    week_from, week_to = last_full_week(clock_now().date())
    date_from, err1 = _date(request.args.get("date_from"), week_from)
    date_to, err2 = _date(request.args.get("date_to"), week_to)
    error = err1 or err2
    if date_to < date_from:
        error, date_to = "结束日期不能早于开始日期", date_from
    if (date_to - date_from).days > 366:
        error, date_to = "统计区间最长一年", date_from + timedelta(days=366)
    level = request.args.get("level", type=int) or 2
    with reading_reports():
        data = unit_ranking(date_from, date_to, level=level)
    return render_template("reports/rates.html", data=data, date_from=date_from, date_to=date_to, level=level,
                           error=error)


# --- drill-down -------------------------------------------------------------------------
def _stored_items(snapshot: ReportSnapshot, key: str, units: set[int] | None) -> list[tuple[int, int]]:
    ids = (snapshot.data.get("ids") or {}).get(key)
    if ids is None:
        abort(404)
    return sorted(((int(u), i) for u, items in ids.items() for i in items if units is None or int(u) in units),
                  key=lambda p: p[1])


def _live_items(key: str, period: Period, d: Definitions, units: set[int] | None) -> list[tuple[int, int]]:
    per = item_ids([key], period, d)[key]
    return sorted(((u, i) for u, items in per.items() if units is None or u in units for i in items),
                  key=lambda p: p[1])


def _describe(key: str, page: list[tuple[int, int]]) -> list[dict]:
    """The page's items with their ticket and time, in the order given."""
    thing = METRICS[key].counts
    label, model, ticket_col, at_col = THINGS[thing]
    ids = [i for _, i in page]
    found = {r.id: r for r in db.session.execute(
        sa.select(model.id, ticket_col.label("ticket_id"), at_col.label("at")).where(model.id.in_(ids)))}
    tickets = {t.id: t for t in db.session.scalars(sa.select(Ticket).where(
        Ticket.id.in_({r.ticket_id for r in found.values()})))}
    units = dict(db.session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_({u for u, _ in page}))).all())
    out = []
    for unit_id, item_id in page:
        r = found.get(item_id)
        t = tickets.get(r.ticket_id) if r else None
        out.append({"item_id": item_id, "unit": units.get(unit_id, ""), "at": r.at if r else None, "ticket": t})
    return out


@bp.route("/drill")
def drill():
    key = request.args.get("metric")
    if key not in METRICS:
        abort(404)
    unit_id = request.args.get("unit_id", type=int)
    units = subtree(unit_id, unit_nodes()) if unit_id else None
    unit = db.session.get(Unit, unit_id) if unit_id else None
    snapshot = None
    if request.args.get("snapshot"):
        snapshot = db.session.get(ReportSnapshot, request.args.get("snapshot", type=int) or 0)
        if snapshot is None:
            abort(404)
        items = _stored_items(snapshot, key, units)
        period = Period(snapshot.start, snapshot.end, snapshot.as_of)
        d = validate(snapshot.data.get("definitions") or {})
    else:
        try:
            period = Period(datetime.fromisoformat(request.args["start"]), datetime.fromisoformat(request.args["end"]),
                            datetime.fromisoformat(request.args["as_of"]))
        except (KeyError, ValueError):
            abort(400)
        with reading_reports():
            d = current()
            items = _live_items(key, period, d, units)
    per_page = current_app.config["TICKETS_PER_PAGE"]
    page = page_arg()
    pages = max((len(items) + per_page - 1) // per_page, 1)
    if page > pages:
        abort(404)
    rows = _describe(key, items[(page - 1) * per_page:page * per_page])
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("reports/drill.html", metric=METRICS[key], unit=unit, period=period, rows=rows,
                           total=len(items), page=page, pages=pages, args=args, snapshot=snapshot,
                           thing=THINGS[METRICS[key].counts][0])


