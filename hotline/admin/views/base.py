"""The admin blueprint, its admins-only guard, the admin home page and the helpers every
admin page uses.

Thin views: build the form, hand the validated data to a service inside one unit of work,
then redirect; when the service refuses, nothing is stored and its message is shown at
the field it names, with what the admin typed kept.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template
from flask_login import current_user

from hotline.admin import forms
from hotline.admin.services.settings import AUTO_DISPATCH, get_setting
from hotline.enums import Role
from hotline.errors import DomainError
from hotline.extensions import db
from hotline.lifecycle import unit_of_work
from hotline.supervision.levels import level_names

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.has_role(Role.ADMIN):
        abort(403)
    return None


def show_error(form, err: DomainError) -> None:
    field = getattr(form, err.details.get("field") or "", None)  # ValidationFailed names its field
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, err.message]
    else:
        flash(err.message, "error")


def form_page(form, template: str, save, **context):
    """GET shows the form; a valid POST runs save() -> (message, url) in one unit of work
    and redirects; anything refused is rolled back and shown again with the input kept
    (status 400)."""
    if form.validate_on_submit():
        try:
            with unit_of_work():
                message, target = save()
        except DomainError as err:
            show_error(form, err)
        else:
            flash(message, "success")
            return redirect(target)
    return render_template(template, form=form, **context), 400 if form.is_submitted() else 200


def post_form(form, save, target: str, invalid=None):
    """A small form posted from a list page: save() -> message in one unit of work, then
    back to `target`; a refusal is flashed, and so is invalid(form) for bad input."""
    if form.validate_on_submit():
        try:
            with unit_of_work():
                message = save()
        except DomainError as err:
            flash(err.message, "error")
        else:
            flash(message, "success")
    elif invalid is not None:
        flash(invalid(form), "error")
    return redirect(target)


def post_action(action, target: str):
    """A button that changes something (delete, deactivate): CSRF-checked, then redirect."""
    return post_form(forms.ConfirmForm(), action, target)


def get_or_404(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


@bp.route("/")
def index():
    return render_template("admin/index.html", auto_dispatch=get_setting(AUTO_DISPATCH) == "1",
                           level_names=level_names())
