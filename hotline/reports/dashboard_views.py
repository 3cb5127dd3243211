"""Dashboard page (统计) and the streamed CSV export of a ticket search."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from hotline.clock import now as clock_now
from hotline.database import reading_reports, replica_for_request
from hotline.enums import Role
from hotline.extensions import db
from hotline.forms import Form
from hotline.reports import charts
from hotline.reports.dashboard import MAX_DAYS, Window, build_dashboard
from hotline.reports.export import csv_chunks
from hotline.tickets.queries import sees_all
from hotline.tickets.views import searched
from hotline.units.queries import unit_choices

bp = Blueprint("dashboard", __name__)

DASHBOARD_ROLES = (Role.MANAGER, Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN)


class DashboardForm(Form):
    class Meta:
        csrf = False

    date_from = DateField("起始日期", validators=[Optional()])
    date_to = DateField("截止日期", validators=[Optional()])
    unit_id = SelectField("承办单位", coerce=lambda v: int(v) if v else None, validators=[Optional()])


def _window(form: DashboardForm) -> tuple[Window, str | None]:
    """The period asked for, or the last 30 days; and what was wrong with the request."""
    today = clock_now().date()
    default = Window.last_days(today)
    if not form.validate():
        return default, "日期或单位格式不正确，已显示最近 30 天"
    date_to = form.date_to.data or (form.date_from.data + timedelta(days=29) if form.date_from.data else today)
    date_from = form.date_from.data or date_to - timedelta(days=29)
    if date_from > date_to:
        return Window.last_days(today, unit_id=form.unit_id.data), "起始日期晚于截止日期，已显示最近 30 天"
    if (date_to - date_from).days >= MAX_DAYS:
        date_from = date_to - timedelta(days=MAX_DAYS - 1)
        return Window(date_from, date_to, form.unit_id.data), f"统计区间最长 {MAX_DAYS} 天，已自动截取"
    return Window(date_from, date_to, form.unit_id.data), None


def _marks(figures, short=False):
    return [charts.Mark(f.label[5:] if short else f.label, f.value, url_for("tickets.search", **f.params))
            for f in figures]


@bp.route("/dashboard")
@login_required
def index():
    if not current_user.has_role(*DASHBOARD_ROLES):
        abort(403)
    form = DashboardForm(request.args)
    form.unit_id.choices = [("", "全部单位")] + unit_choices()
    window, problem = _window(form)
    form.date_from.data, form.date_to.data, form.unit_id.data = window.date_from, window.date_to, window.unit_id
    with reading_reports():
        data = build_dashboard(current_user, window)
    charts_svg = {
        "by_day": charts.line_chart(_marks(data.by_day, short=True), title="每日受理量"),
        "by_type": charts.bar_chart(_marks(data.by_type), title="按诉求类型"),
        "by_channel": charts.bar_chart(_marks(data.by_channel), title="按受理渠道"),
        "by_top_category": charts.hbar_chart(_marks(data.by_top_category), title="按一级分类"),
        "top_categories": charts.hbar_chart(_marks(data.top_categories), title="分类前十", label_w=260),
        "by_district": charts.hbar_chart(_marks(data.by_district), title="按区县"),
        "overdue": charts.line_chart(_marks(data.overdue_by_day, short=True), title="超期趋势"),
        "hot_categories": charts.hbar_chart(_marks(data.hot_categories), title="本周热点分类", label_w=260),
        "hot_addresses": charts.hbar_chart(_marks(data.hot_addresses), title="本周热点地址", label_w=260),
    }
    quick = [(f"近 {days} 天", url_for("dashboard.index", date_from=window.date_to - timedelta(days=days - 1),
                                      date_to=window.date_to, unit_id=window.unit_id or None))
             for days in (7, 30, 90, 365)]
    return render_template("reports/dashboard.html", form=form, data=data, charts=charts_svg, problem=problem,
                           quick=quick)


@bp.route("/tickets/export.csv")
@login_required
def export_csv():
    """The tickets of the current search (same filters, same visibility) as CSV."""
    user = current_user._get_current_object()
    _, _, filters, stmt = searched(user)
    show_confidential = sees_all(user)
    where = stmt.whereclause
    stamp = clock_now().strftime("%Y%m%d-%H%M")
    # the rows stream after the view returns, on connections of their own (the replica's when set)
    chunks = csv_chunks(replica_for_request() or db.engine, where, show_confidential=show_confidential,
                        ascending=filters.get("sort") == "created_asc")
    return Response(chunks, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="tickets-{stamp}.csv"',
        "X-Accel-Buffering": "no", "Cache-Control": "no-store"})
