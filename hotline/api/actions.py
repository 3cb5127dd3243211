"""Lifecycle actions through the API: the same registry, forms and guards as the pages.

Each registered action gets `POST /api/v1/tickets/<number>/<key>`. Its input is checked by
the action's own WTForms form (the page's validators, choices and `prepare`), then run by
`perform` in one unit of work, so no rule is written twice. The OpenAPI body schema of
each action is generated from the same form class.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from flask import request
from pydantic import ConfigDict, Field, create_model
from werkzeug.datastructures import MultiDict

from hotline.api.errors import ApiError
from hotline.errors import DomainError
from hotline.lifecycle.guards import require_role
from hotline.lifecycle.registry import REGISTRY, perform
from hotline.lifecycle.uow import unit_of_work

#: WTForms field types -> JSON types (files are not taken through the API)
TYPES = {"StringField": str, "TextAreaField": str, "HiddenField": str, "SelectField": str, "RadioField": str,
         "BooleanField": bool, "IntegerField": int, "DecimalField": float, "FloatField": float,
         "DateField": dt.date, "DateTimeField": dt.datetime, "DateTimeLocalField": dt.datetime,
         "SelectMultipleField": list[str], "EmailField": str, "TelField": str}
SKIP = {"CSRFTokenField", "SubmitField", "MultipleFileField", "FileField"}


def _unbound_fields(form_cls) -> list[tuple[str, Any]]:
    out = []
    for name in dir(form_cls):
        if name.startswith("_"):
            continue
        attr = getattr(form_cls, name)
        if hasattr(attr, "field_class") and hasattr(attr, "creation_counter"):
            out.append((name, attr))
    return sorted(out, key=lambda p: p[1].creation_counter)


def input_model(key: str):
    """The JSON body of an action: `version` (or If-Match), the target's id where the
    action acts on a row, and the form's input fields."""
    action = REGISTRY[key]
    fields: dict = {"version": (Optional[int], Field(None, description="看到的工单版本号（也可用 If-Match 头）"))}
    if action.target_field:
        fields["target"] = (Optional[int], Field(None, description=f"所作用对象的 id（{action.target_field}）；"
                                                                    "省略时取唯一或第一个可操作对象"))
    for name, unbound in _unbound_fields(action.form):
        cls = unbound.field_class.__name__
        if name in ("version", "csrf_token") or name == action.target_field or cls in SKIP:
            continue
        if name in action.form.NOT_INPUT:
            continue
        label = unbound.args[0] if unbound.args else unbound.kwargs.get("label", name)
        typ = TYPES.get(cls, str)
        fields[name] = (Optional[typ], Field(None, description=str(label)))
    name = "".join(p.capitalize() for p in key.split("_")) + "Input"
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


def _formdata(data: dict) -> MultiDict:
    items = []
    for k, v in data.items():
        if v is None:
            continue
        if isinstance(v, bool):
            if v:
                items.append((k, "y"))
        elif isinstance(v, list):
            items.extend((k, str(x)) for x in v)
        elif isinstance(v, (dt.date, dt.datetime)):
            items.append((k, v.isoformat(timespec="minutes") if isinstance(v, dt.datetime) else v.isoformat()))
        else:
            items.append((k, str(v)))
    return MultiDict(items)


def version_of(body_version: int | None) -> int | None:
    header = request.headers.get("If-Match", "").strip().strip('"').removeprefix("W/").strip('"')
    if header:
        try:
            return int(header)
        except ValueError:
            raise ApiError(422, "VALIDATION", "If-Match 应为工单版本号", {"If-Match": "应为整数"}) from None
    return body_version


def run(key: str, ticket, user, body) -> Any:
    """Validate `body` with the action's form and perform it; returns the result."""
    action = REGISTRY[key]
    data = body.model_dump(exclude_none=False)
    version = version_of(data.pop("version", None))
    target_id = data.pop("target", None)
    if action.versioned and version is None:
        raise ApiError(422, "VERSION_REQUIRED", "请提供工单版本号（请求体 version 或 If-Match 头）",
                       {"version": "必填"})
    form = action.form(formdata=_formdata({k: v for k, v in data.items()}), meta={"csrf": False})
    form.version.data = str(version if version is not None else 0)
    target = None
    if action.target_field:
        try:
            candidates = action.targets(ticket, user, target_id)
        except DomainError as refusal:  # nothing to act on: perform's own refusal, after its role check
            require_role(user, *action.roles)
            raise refusal from None
        target = candidates[0] if candidates else None
        # omitted: the first the user may act on (as the page's hidden field would carry it)
        getattr(form, action.target_field).data = target_id if target_id is not None else getattr(target, "id", None)
    form.prepare(ticket, target, user, fresh=False)
    if not form.validate():
        fields = {k: (v[0] if isinstance(v, list) else str(v)) for k, v in form.errors.items()}
        raise ApiError(422, "VALIDATION", "；".join(fields.values()), fields)
    values = form.action_data()
    values.pop(action.target_field, None)
    values.pop("attachments", None)
    with unit_of_work():
        return perform(key, ticket.id, user, version, target=target_id, **values)
