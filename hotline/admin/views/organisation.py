"""Admin pages of the organisation: users and the unit tree."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request, url_for

from hotline.admin import forms
from hotline.admin.services import organisation as svc
from hotline.admin.views.base import PER_PAGE, bp, form_page, get_or_404
from hotline.auth.models import User
from hotline.auth.services import create_user, update_user
from hotline.extensions import db
from hotline.units.models import Unit
from hotline.security import page_arg


# --- users ------------------------------------------------------------------------
@bp.route("/users")
def users():
    q = (request.args.get("q") or "").strip()
    stmt = sa.select(User).order_by(User.username)
    if q:
        stmt = stmt.where(sa.or_(User.username.icontains(q, autoescape=True),
                                 User.display_name.icontains(q, autoescape=True)))
    page = db.paginate(stmt, page=page_arg(), per_page=PER_PAGE,
                       error_out=True)
    return render_template("admin/users.html", pagination=page, q=q)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = forms.UserCreateForm()
    form.unit_id.choices = forms.unit_choices(svc.unit_tree(), blank="（请选择）")

    def save():
        user = create_user(form.username.data, form.password.data, form.roles.data,
                           db.session.get(Unit, form.unit_id.data), form.display_name.data.strip())
        return f"已创建用户 {user.username}", url_for(".users")

    return form_page(form, "admin/form.html", save, title="新建用户", back=url_for(".users"))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = get_or_404(User, user_id)
    form = forms.UserEditForm(data=dict(display_name=user.display_name, unit_id=user.unit_id, active=user.active,
                                        roles=[r.value for r in user.roles]))
    form.unit_id.choices = forms.unit_choices(svc.unit_tree(), blank="（请选择）")

    def save():
        update_user(user, form.display_name.data, db.session.get(Unit, form.unit_id.data), form.roles.data,
                    form.active.data, form.password.data or None)
        return f"已保存用户 {user.username}", url_for(".users")

    return form_page(form, "admin/form.html", save, title=f"编辑用户 {user.username}", back=url_for(".users"))


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

    return form_page(form, "admin/form.html", save, title="新建单位", back=url_for(".units"))


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
def edit_unit(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    form = _unit_form(unit)

    def save():
        svc.update_unit(unit, form.data)
        return f"已保存单位 {unit.name}", url_for(".units")

    return form_page(form, "admin/form.html", save, title=f"编辑单位 {unit.name}（第 {unit.level} 级）",
                     back=url_for(".units"))
