"""API tokens (接口令牌): the admin creates a token for a user (a person or an integration's
own account), sees it once, lists tokens with their last use and revokes them."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from hotline.admin import forms
from hotline.admin.views.base import bp
from hotline.api.auth import create_token, revoke
from hotline.api.models import ApiToken
from hotline.auth.models import User
from hotline.extensions import db
from hotline.lifecycle import unit_of_work


def _form():
    form = forms.ApiTokenForm()
    form.user_id.choices = [(u.id, f"{u.display_name}（{u.username}）") for u in db.session.scalars(
        sa.select(User).where(User.active.is_(True)).order_by(User.username))]
    return form


def _tokens():
    return db.session.scalars(sa.select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())).all()


@bp.route("/api-tokens", methods=["GET", "POST"])
def api_tokens():
    form = _form()
    created = None
    if form.validate_on_submit():
        with unit_of_work():
            user = db.session.get(User, form.user_id.data)
            row, text = create_token(user, form.name.data, by=current_user._get_current_object())
            created = {"name": row.name, "user": user.username, "token": text}
        form = _form()
        form.name.data = ""
    status = 400 if form.is_submitted() and created is None else 200
    resp = render_template("admin/api_tokens.html", form=form, tokens=_tokens(), created=created)
    return resp, status, {"Cache-Control": "no-store"}


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_api_token(token_id: int):
    row = db.session.get(ApiToken, token_id)
    if row is None:
        abort(404)
    with unit_of_work():
        revoke(row)
    flash(f"已吊销令牌 {row.prefix}…（{row.name}）", "success")
    return redirect(url_for(".api_tokens"))
