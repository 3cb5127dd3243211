"""Admin pages (users, units, categories, routing rules, policy, calendar, knowledge base).

Thin views: build the form, hand the validated data to a service, then redirect; when the
service refuses, show its message at the field it names and keep what the admin typed.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hotline.admin import forms
from hotline.admin import services as svc
from hotline.categories.models import Category
from hotline.units.models import Unit
from hotline.auth.models import User
from hotline.auth.services import create_user, update_user
from hotline.clock import now
from hotline.deadlines.models import HolidayOverride
from hotline.enums import DeadlineClock, RequestType, Role, UnitKind, Urgency
from hotline.errors import DomainError
from hotline.extensions import db
from hotline.intake.models import KnowledgeArticle
from hotline.routing.models import RoutingRule

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50
WEEKDAYS = "一二三四五六日"


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.has_role(Role.ADMIN):
        abort(403)
    return None


def _show_error(form, err: DomainError) -> None:
    field = getattr(form, err.details.get("field") or "", None)  # ValidationFailed names its field
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, err.message]
    else:
        flash(err.message, "error")


def _form_page(form, template: str, save, **context):
    """GET shows the form; a valid POST runs save() -> (message, url) and redirects;
    anything refused is shown again with the input kept (status 400)."""
    if form.validate_on_submit():
        try:
            message, target = save()
        except DomainError as err:
            _show_error(form, err)
        else:
            flash(message, "success")
            return redirect(target)
    return render_template(template, form=form, **context), 400 if form.is_submitted() else 200


def _post_action(action, target: str):
    """A button that changes something (delete, deactivate): CSRF-checked, then redirect."""
    if forms.ConfirmForm().validate_on_submit():
        try:
            flash(action(), "success")
        except DomainError as err:
            flash(err.message, "error")
    return redirect(target)


def _get_or_404(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


@bp.route("/")
def index():
    return render_template("admin/index.html", auto_dispatch=svc.get_setting(svc.AUTO_DISPATCH) == "1")


# --- users ------------------------------------------------------------------------
@bp.route("/users")
def users():
    q = (request.args.get("q") or "").strip()
    stmt = sa.select(User).order_by(User.username)
    if q:
        stmt = stmt.where(sa.or_(User.username.icontains(q, autoescape=True),
                                 User.display_name.icontains(q, autoescape=True)))
    page = db.paginate(stmt, page=max(request.args.get("page", 1, type=int), 1), per_page=PER_PAGE,
                       error_out=False)
    return render_template("admin/users.html", pagination=page, q=q)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = forms.UserCreateForm()
    form.unit_id.choices = forms.unit_choices(svc.unit_tree(), blank="（请选择）")

    def save():
        user = create_user(form.username.data, form.password.data, form.roles.data,
                           db.session.get(Unit, form.unit_id.data), form.display_name.data.strip())
        return f"已创建用户 {user.username}", url_for(".users")

    return _form_page(form, "admin/form.html", save, title="新建用户", back=url_for(".users"))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = _get_or_404(User, user_id)
    form = forms.UserEditForm(data=dict(display_name=user.display_name, unit_id=user.unit_id, active=user.active,
                                        roles=[r.value for r in user.roles]))
    form.unit_id.choices = forms.unit_choices(svc.unit_tree(), blank="（请选择）")

    def save():
        update_user(user, form.display_name.data, db.session.get(Unit, form.unit_id.data), form.roles.data,
                    form.active.data, form.password.data or None)
        return f"已保存用户 {user.username}", url_for(".users")

    return _form_page(form, "admin/form.html", save, title=f"编辑用户 {user.username}", back=url_for(".users"))


# --- units ------------------------------------------------------------------------
def _unit_form(unit: Unit | None):
    data = {} if unit is None else dict(
        code=unit.code, name=unit.name, kind=unit.kind.value, parent_id=unit.parent_id,
        supervisor_id=unit.supervisor_id, email=unit.email or "", active=unit.active)
    form = forms.UnitForm(data=data)
    tree = svc.unit_tree()
    form.parent_id.choices = forms.unit_choices(tree, blank="（无：顶级单位）")
    form.supervisor_id.choices = forms.unit_choices(tree, blank="（无：由上级单位督导）")
    return form


@bp.route("/units")
def units():
    return render_template("admin/units.html", units=svc.unit_tree())


@bp.route("/units/new", methods=["GET", "POST"])
def new_unit():
    form = _unit_form(None)

    def save():
        unit = svc.create_unit(form.data)
        return f"已创建单位 {unit.name}（第 {unit.level} 级）", url_for(".units")

    return _form_page(form, "admin/form.html", save, title="新建单位", back=url_for(".units"))


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
def edit_unit(unit_id: int):
    unit = _get_or_404(Unit, unit_id)
    form = _unit_form(unit)

    def save():
        svc.update_unit(unit, form.data)
        return f"已保存单位 {unit.name}", url_for(".units")

    return _form_page(form, "admin/form.html", save, title=f"编辑单位 {unit.name}（第 {unit.level} 级）",
                      back=url_for(".units"))


# --- categories -------------------------------------------------------------------
def _category_form(cat: Category | None):
    data = {} if cat is None else dict(code=cat.code, name=cat.name, parent_id=cat.parent_id,
                                       sort=str(cat.sort), active=cat.active)
    form = forms.CategoryForm(data=data)
    form.parent_id.choices = forms.category_choices(svc.category_tree(), blank="（无：一级分类）")
    return form


@bp.route("/categories")
def categories():
    return render_template("admin/categories.html", tree=svc.category_tree())


@bp.route("/categories/new", methods=["GET", "POST"])
def new_category():
    form = _category_form(None)

    def save():
        cat = svc.create_category(form.data)
        return f"已创建分类 {cat.full_name}", url_for(".categories")

    return _form_page(form, "admin/form.html", save, title="新建分类", back=url_for(".categories"))


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
def edit_category(category_id: int):
    cat = _get_or_404(Category, category_id)
    form = _category_form(cat)

    def save():
        svc.update_category(cat, form.data)
        return f"已保存分类 {cat.full_name}", url_for(".categories")

    return _form_page(form, "admin/form.html", save, title=f"编辑分类 {cat.full_name}",
                      back=url_for(".categories"))


@bp.route("/categories/<int:category_id>/deactivate", methods=["POST"])
def deactivate_category(category_id: int):
    cat = _get_or_404(Category, category_id)
    return _post_action(lambda: f"已停用 {svc.deactivate_category(cat)} 个分类（{cat.full_name} 及其下级）",
                        url_for(".categories"))


# --- routing rules ----------------------------------------------------------------
def _rule_form(rule: RoutingRule | None):
    data = {} if rule is None else dict(
        category_id=rule.category_id, district_id=rule.district_id, lead_unit_id=rule.lead_unit_id,
        co_unit_ids=list(rule.co_unit_ids or []), certain=rule.certain, active=rule.active, note=rule.note)
    form = forms.RoutingRuleForm(data=data)
    tree = svc.unit_tree()
    form.category_id.choices = forms.category_choices(svc.category_tree(), blank="（请选择）")
    form.district_id.choices = [("", "全市（不限区县）")] + [
        (u.id, u.name) for u in tree if u.kind is UnitKind.DISTRICT]
    form.lead_unit_id.choices = forms.unit_choices(tree, blank="（请选择）")
    form.co_unit_ids.choices = forms.unit_choices(tree)
    return form


@bp.route("/routing")
def routing():
    rules, co_units = svc.routing_rules()
    setting = forms.AutoDispatchForm(data=dict(auto_dispatch=svc.get_setting(svc.AUTO_DISPATCH) == "1"))
    return render_template("admin/routing.html", rules=rules, co_units=co_units, setting=setting)


@bp.route("/routing/settings", methods=["POST"])
def routing_settings():
    form = forms.AutoDispatchForm()
    if form.validate_on_submit():
        svc.set_setting(svc.AUTO_DISPATCH, "1" if form.auto_dispatch.data else "0")
        flash("已开启受理时自动派单" if form.auto_dispatch.data else "已关闭受理时自动派单", "success")
    return redirect(url_for(".routing"))


@bp.route("/routing/new", methods=["GET", "POST"])
def new_rule():
    form = _rule_form(None)

    def save():
        svc.save_routing_rule(None, form.data)
        return "已添加派单规则", url_for(".routing")

    return _form_page(form, "admin/form.html", save, title="新建派单规则", back=url_for(".routing"))


@bp.route("/routing/<int:rule_id>/edit", methods=["GET", "POST"])
def edit_rule(rule_id: int):
    rule = _get_or_404(RoutingRule, rule_id)
    form = _rule_form(rule)

    def save():
        svc.save_routing_rule(rule, form.data)
        return "已保存派单规则", url_for(".routing")

    return _form_page(form, "admin/form.html", save, title="编辑派单规则", back=url_for(".routing"))


@bp.route("/routing/<int:rule_id>/delete", methods=["POST"])
def delete_rule(rule_id: int):
    rule = _get_or_404(RoutingRule, rule_id)

    def delete():
        svc.delete_routing_rule(rule)
        return "已删除派单规则"

    return _post_action(delete, url_for(".routing"))


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

    return _form_page(form, "admin/time_limits.html", save, grid=grid, urgencies=list(Urgency),
                      cell_key=svc.cell_key, add_form=forms.TimeLimitRowForm())


@bp.route("/time-limits/rows", methods=["POST"])
def add_time_limit_row():
    form = forms.TimeLimitRowForm()
    if form.validate_on_submit():
        try:
            svc.add_time_limit_row(form.clock.data, form.request_type.data)
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash(f"已添加 {DeadlineClock(form.clock.data).label} · {RequestType(form.request_type.data).label} "
                  "的单独时限，请修改其数值", "success")
    else:
        flash("请选择时限和诉求类型", "error")
    return redirect(url_for(".time_limits"))


@bp.route("/time-limits/rows/<clock>/<request_type>/delete", methods=["POST"])
def remove_time_limit_row(clock: str, request_type: str):
    def remove():
        svc.remove_time_limit_row(clock, request_type)
        return "已删除该行，改按通用时限执行"

    return _post_action(remove, url_for(".time_limits"))


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
        day = svc.save_holiday(None, _holiday_data(form))
        return f"已添加 {day.day:%Y-%m-%d}", url_for(".holidays", year=day.day.year)

    return _form_page(form, "admin/form.html", save, title="添加节假日 / 调休日",
                      back=url_for(".holidays", year=_year_arg()))


@bp.route("/holidays/<day>/edit", methods=["GET", "POST"])
def edit_holiday(day: str):
    override = _get_holiday(day)
    form = forms.HolidayForm(data=dict(day=override.day, is_workday="1" if override.is_workday else "0",
                                       name=override.name))
    form.day.render_kw = {"readonly": True}

    def save():
        svc.save_holiday(override, _holiday_data(form))
        return f"已保存 {override.day:%Y-%m-%d}", url_for(".holidays", year=override.day.year)

    return _form_page(form, "admin/form.html", save, title=f"编辑 {override.day:%Y-%m-%d}",
                      back=url_for(".holidays", year=override.day.year))


def _get_holiday(day: str) -> HolidayOverride:
    try:
        return _get_or_404(HolidayOverride, date.fromisoformat(day))
    except ValueError:
        abort(404)


@bp.route("/holidays/<day>/delete", methods=["POST"])
def delete_holiday(day: str):
    override = _get_holiday(day)
    year = override.day.year

    def delete():
        svc.delete_holiday(override)
        return f"已删除 {day}"

    return _post_action(delete, url_for(".holidays", year=year))


@bp.route("/holidays/years/<int:year>", methods=["POST"])
def confirm_year(year: int):
    form = forms.CalendarYearForm()
    if form.validate_on_submit():
        confirmed = request.form.get("confirmed") == "1"
        try:
            svc.set_year_confirmed(year, confirmed, form.note.data)
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash(f"{year} 年节假日安排已确认" if confirmed else f"已撤销 {year} 年的确认", "success")
    else:
        flash("；".join(e for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for(".holidays", year=year))


# --- knowledge base ---------------------------------------------------------------
def _article_form(article: KnowledgeArticle | None):
    data = {} if article is None else dict(title=article.title, category_id=article.category_id,
                                           keywords=article.keywords, body=article.body, active=article.active)
    form = forms.ArticleForm(data=data)
    form.category_id.choices = forms.category_choices(svc.category_tree(), blank="（不限分类）")
    return form


@bp.route("/knowledge")
def knowledge():
    q = (request.args.get("q") or "").strip()
    include_inactive = request.args.get("all") == "1"
    page = db.paginate(svc.article_query(q, include_inactive), page=max(request.args.get("page", 1, type=int), 1),
                       per_page=PER_PAGE, error_out=False)
    editor_ids = {a.updated_by_id for a in page.items if a.updated_by_id}
    editors = dict(db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(editor_ids))).all()) \
        if editor_ids else {}
    return render_template("admin/knowledge.html", pagination=page, q=q, include_inactive=include_inactive,
                           editors=editors)


@bp.route("/knowledge/new", methods=["GET", "POST"])
def new_article():
    form = _article_form(None)

    def save():
        article = svc.save_article(None, form.data, current_user)
        return f"已添加知识「{article.title}」", url_for(".knowledge")

    return _form_page(form, "admin/form.html", save, title="新建知识", back=url_for(".knowledge"))


@bp.route("/knowledge/<int:article_id>/edit", methods=["GET", "POST"])
def edit_article(article_id: int):
    article = _get_or_404(KnowledgeArticle, article_id)
    form = _article_form(article)

    def save():
        svc.save_article(article, form.data, current_user)
        return f"已保存知识「{article.title}」", url_for(".knowledge")

    return _form_page(form, "admin/form.html", save, title="编辑知识", back=url_for(".knowledge"))


@bp.route("/knowledge/<int:article_id>/deactivate", methods=["POST"])
def deactivate_article(article_id: int):
    article = _get_or_404(KnowledgeArticle, article_id)

    def deactivate():
        svc.deactivate_article(article, current_user)
        return f"已停用知识「{article.title}」"

    return _post_action(deactivate, url_for(".knowledge"))
