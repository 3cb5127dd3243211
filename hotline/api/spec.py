"""API routes declared once: the pydantic models that validate a request are the ones its
OpenAPI document is generated from.

    @api_route(bp, "/tickets", "POST", summary="受理登记", body=TicketCreate, response=TicketOut,
               status=201, errors=(409, 422))
    def create_ticket(body: TicketCreate): ...

The decorator parses the JSON body (`body=`) and the query string (`query=`) with their
models, passes them to the view as `body` / `query`, and records the route for
`openapi()`. Why pydantic and our own small generator rather than flask-smorest,
spectree or APIFlask: the lifecycle's input is validated by the operations themselves
(one rule, written once), so the API needs models only for the shape of requests and
responses; pydantic gives exact JSON Schema for them, and the few lines here keep the
error format, the Chinese messages and the per-action schemas (built from the
registry) under our control without a second framework around Flask.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import g, request
from pydantic import BaseModel, ValidationError

from hotline.api.errors import ApiError, from_validation

ROUTES: list["Route"] = []

STATUS_TEXT = {200: "成功", 201: "已创建", 204: "无内容", 400: "请求格式错误", 401: "未认证", 403: "无权操作",
               404: "不存在", 409: "冲突（版本过期、重复或当前状态不允许）", 413: "请求过大",
               422: "输入校验失败", 429: "请求过于频繁"}


@dataclass
class Route:
    rule: str  # Flask rule, e.g. /tickets/<number>/<action>
    method: str
    summary: str
    endpoint: str
    tag: str = "tickets"
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None  # a model, a list[Model], or None
    status: int = 200
    errors: tuple[int, ...] = ()
    description: str = ""
    auth: bool = True
    headers: dict = field(default_factory=dict)  # extra request headers: name -> description
    prefix: str = "/api/v1"

    @property
    def path(self) -> str:
        """The OpenAPI path: <int:id> and <name> become {id} and {name}."""
        return self.prefix + re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.rule)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        return [(name, "integer" if conv == "int" else "string")
                for conv, name in re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", self.rule)]


#: What every input must satisfy whatever its model says, so that no value the database or
#: the date arithmetic cannot hold reaches them (PostgreSQL refuses NUL in text and integers
#: beyond 32 bits in integer columns; dates near year 1 or 9999 overflow): 422, not 500.
INT_RANGE = (-2**31, 2**31 - 1)
DATE_RANGE = (dt.date(1900, 1, 1), dt.date(2999, 12, 31))


def _out_of_bounds(value: Any) -> str | None:
    if isinstance(value, str):
        return "不能包含空字符（NUL）" if "\x00" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return "超出范围" if not INT_RANGE[0] <= value <= INT_RANGE[1] else None
    if isinstance(value, (dt.date, dt.datetime)):
        day = value.date() if isinstance(value, dt.datetime) else value
        return "超出范围（1900–2999 年）" if not DATE_RANGE[0] <= day <= DATE_RANGE[1] else None
    return None


def _bounds_errors(value: Any, path: str = "") -> dict[str, str]:
    """{path: problem} of every value in `value` (a model, dict, list or a single value)
    that `_out_of_bounds` refuses; paths like "items.0.name"."""
    out: dict[str, str] = {}
    _collect_bounds_errors(value, path, out)
    return out


def _collect_bounds_errors(value: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(value, BaseModel):
        value = {k: getattr(value, k) for k in type(value).model_fields}
    if isinstance(value, dict):
        items, top = value.items(), not path  # a dict's keys stand alone at the top
    elif isinstance(value, (list, tuple)):
        items, top = enumerate(value), False
    else:
        problem = _out_of_bounds(value)
        if problem:
            out[path] = problem
        return
    for k, v in items:
        if v is None or (type(v) is str and "\x00" not in v):  # the common values: nothing to refuse
            continue
        _collect_bounds_errors(v, str(k) if top else f"{path}.{k}", out)


def _parse(model: type[BaseModel] | None, data: Any, where: str):
    if model is None:
        return None
    try:
        parsed = model.model_validate(data)
    except ValidationError as err:
        raise from_validation(err, where) from None
    fields = _bounds_errors(parsed)
    if fields:
        label = "请求体" if where == "body" else "查询参数"
        raise ApiError(422, "VALIDATION", f"{label}校验失败：" + "；".join(f"{k} {v}" for k, v in fields.items()),
                       fields)
    return parsed


def json_body() -> Any:
    """The request's JSON body ({} without one); 400 BAD_JSON when it is not JSON. Read
    once per request (the route's model and the create's idempotency hash both ask)."""
    try:
        return g._api_json_body
    except AttributeError:
        pass
    if not request.data:
        data = {}
    else:
        data = request.get_json(silent=True)
        if data is None:
            raise ApiError(400, "BAD_JSON", "请求体不是有效的 JSON")
    g._api_json_body = data
    return data


def query_args(model: type[BaseModel]) -> dict:
    out = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key in request.args:
            values = request.args.getlist(key)
            out[key] = values if _is_list(info.annotation) else values[-1]
    return out


def _is_list(annotation) -> bool:
    return getattr(annotation, "__origin__", None) is list or str(annotation).startswith("list[")


def api_route(bp, rule: str, method: str, *, summary: str, body=None, query=None, response=None, status: int = 200,
              errors: tuple[int, ...] = (), tag: str = "tickets", description: str = "", auth: bool = True,
              headers: dict | None = None, prefix: str = "/api/v1") -> Callable:
    def decorate(view):
        route = Route(rule, method, summary, f"{bp.name}.{view.__name__}", tag, body, query, response, status,
                      tuple(errors), description or (view.__doc__ or "").strip(), auth, headers or {}, prefix)
        ROUTES.append(route)

        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if any(_out_of_bounds(v) for v in kwargs.values()):  # no such resource can exist
                raise ApiError(404, "NOT_FOUND", "接口或资源不存在")
            if body is not None:
                kwargs["body"] = _parse(body, json_body(), "body")
            if query is not None:
                kwargs["query"] = _parse(query, query_args(query), "query")
            return view(*args, **kwargs)

        bp.add_url_rule(rule, view.__name__, wrapper, methods=[method])
        return wrapper
    return decorate


# --- the document ----------------------------------------------------------------------------
ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "description": "稳定的错误代码（与业务层 DomainError 一致）"},
        "message": {"type": "string", "description": "中文说明"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "details": {"type": "object"}}}},
}


def _schema_ref(model, components: dict) -> dict:
    """A $ref to `model` (adding it and its definitions to components), or an array of it."""
    origin = getattr(model, "__origin__", None)
    if origin is list:
        return {"type": "array", "items": _schema_ref(model.__args__[0], components)}
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _input_ref(model, components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_parameters(model) -> list[dict]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop,
             **({"description": prop["description"]} if "description" in prop else {})}
            for name, prop in schema.get("properties", {}).items()]


def openapi(title: str = "12345 热线工单系统 API", version: str = "1.0.0", routes: list[Route] | None = None) -> dict:
    components: dict = {"Error": ERROR_SCHEMA}
    paths: dict = {}
    for r in routes if routes is not None else ROUTES:
        op: dict = {"summary": r.summary, "operationId": r.endpoint.replace(".", "_"), "tags": [r.tag]}
        if r.description:
            op["description"] = r.description
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": t}} for n, t in r.path_params]
        if r.query is not None:
            params += _query_parameters(r.query)
        params += [{"name": n, "in": "header", "required": False, "schema": {"type": "string"}, "description": d}
                   for n, d in r.headers.items()]
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": _input_ref(r.body, components)}}}
        ok: dict = {"description": STATUS_TEXT.get(r.status, "成功")}
        if r.response is not None:
            ok["content"] = {"application/json": {"schema": _schema_ref(r.response, components)}}
        responses = {str(r.status): ok}
        codes = set(r.errors) | ({401, 429} if r.auth else set()) | ({400, 422} if r.body or r.query else set())
        for code in sorted(codes):
            responses[str(code)] = {"description": STATUS_TEXT.get(code, ""), "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        op["responses"] = responses
        if r.auth:
            op["security"] = [{"bearer": []}]
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {"openapi": "3.1.0", "info": {"title": title, "version": version},
            "servers": [{"url": "/"}], "paths": paths,
            "components": {"schemas": components,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}}
