"""Admin pages of time limits and the calendar: the time-limit policy table and the
holiday calendar."""
from __future__ import annotations

from datetime import date


from flask import abort, render_template, request, url_for
from flask_login import current_user

from hotline.admin import forms
from hotline.admin.services import time_limits as svc
from hotline.admin.views.base import bp, form_page, get_or_404, post_action, post_form
from hotline.clock import now
from hotline.deadlines.models import HolidayOverride
from hotline.enums import DeadlineClock, RequestType, Urgency

WEEKDAYS = "一二三四五六日"


# --- time-limit policy ------------------------------------------------------------
@bp.route("/time-limits", methods=["GET", "POST"])
def time_limits():
    grid = svc.policy_grid()
    form = forms.time_limit_form(grid)

    def save():
        values = {}
        for row in grid:
            for urgency in Urgency:
                key = svc.cell_key(row["clock"], row["request_type"], urgency)
                values[(row["clock"], row["request_type"], urgency)] = (
                    form[f"amount_{key}"].data, form[f"unit_{key}"].data)
        changed = svc.update_time_limits(values)
        return f"已保存时限策略（修改 {changed} 项）", url_for(".time_limits")

    return form_page(form, "admin/time_limits.html", save, grid=grid, urgencies=list(Urgency),
                     cell_key=svc.cell_key, add_form=forms.TimeLimitRowForm())


@bp.route("/time-limits/rows", methods=["POST"])
def add_time_limit_row():
    form = forms.TimeLimitRowForm()

    def save():
        svc.add_time_limit_row(form.clock.data, form.request_type.data)
        return (f"已添加 {DeadlineClock(form.clock.data).label} · {RequestType(form.request_type.data).label} "
                "的单独时限，请修改其数值")

    return post_form(form, save, url_for(".time_limits"), invalid=lambda form: "请选择时限和诉求类型")


@bp.route("/time-limits/rows/<clock>/<request_type>/delete", methods=["POST"])
def remove_time_limit_row(clock: str, request_type: str):
    def remove():
        svc.remove_time_limit_row(clock, request_type)
        return "已删除该行，改按通用时限执行"

    return post_action(remove, url_for(".time_limits"))


# --- holiday calendar -------------------------------------------------------------
def _year_arg() -> int:
    year = request.args.get("year", type=int)
    return year if year and 2000 <= year <= 2100 else now().year


@bp.route("/holidays")
def holidays():
    year = _year_arg()
    return render_template("admin/holidays.html", year=year, days=svc.holidays_of(year),
                           years=svc.calendar_years(now().year), weekdays=WEEKDAYS,
                           form=forms.HolidayForm())


def _holiday_data(form) -> dict:
    return dict(day=form.day.data, is_workday=form.is_workday.data == "1", name=form.name.data)


@bp.route("/holidays/new", methods=["GET", "POST"])
def new_holiday():
    form = forms.HolidayForm()

    def save():
        day = svc.save_holiday(None, _holiday_data(form), current_user._get_current_object())
        return f"已添加 {day.day:%Y-%m-%d}", url_for(".holidays", year=day.day.year)

    return form_page(form, "admin/form.html", save, title="添加节假日 / 调休日",
                     back=url_for(".holidays", year=_year_arg()))


@bp.route("/holidays/<day>/edit", methods=["GET", "POST"])
def edit_holiday(day: str):
    override = _get_holiday(day)
    form = forms.HolidayForm(data=dict(day=override.day, is_workday="1" if override.is_workday else "0",
                                       name=override.name))
    form.day.render_kw = {"readonly": True}

    def save():
        svc.save_holiday(override, _holiday_data(form), current_user._get_current_object())
        return f"已保存 {override.day:%Y-%m-%d}", url_for(".holidays", year=override.day.year)

    return form_page(form, "admin/form.html", save, title=f"编辑 {override.day:%Y-%m-%d}",
                     back=url_for(".holidays", year=override.day.year))


def _get_holiday(day: str) -> HolidayOverride:
    try:
        return get_or_404(HolidayOverride, date.fromisoformat(day))
    except ValueError:
        abort(404)


@bp.route("/holidays/<day>/delete", methods=["POST"])
def delete_holiday(day: str):
    override = _get_holiday(day)
    year = override.day.year

    def delete():
        svc.delete_holiday(override, current_user._get_current_object())
        return f"已删除 {day}"

    return post_action(delete, url_for(".holidays", year=year))


@bp.route("/holidays/years/<int:year>", methods=["POST"])
def confirm_year(year: int):
    form = forms.CalendarYearForm()
    confirmed = request.form.get("confirmed") == "1"

    def save():
        svc.set_year_confirmed(year, confirmed, form.note.data, current_user._get_current_object())
        return f"{year} 年节假日安排已确认" if confirmed else f"已撤销 {year} 年的确认"

    return post_form(form, save, url_for(".holidays", year=year),
                     invalid=lambda form: "；".join(e for errs in form.errors.values() for e in errs))
