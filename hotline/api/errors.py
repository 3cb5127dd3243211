"""The API's errors: {"error": {"code", "message", "fields"}} with the HTTP status.

Domain refusals keep the lifecycle's code (STALE_VERSION, NOT_FOUND, CO_UNITS_PENDING …)
and its Chinese message; only the status is chosen here.
"""
from __future__ import annotations

from flask import jsonify
from pydantic import ValidationError

from hotline.errors import DomainError, NotFound, PermissionDenied, StaleVersion, ValidationFailed


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None, **details):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.fields, self.details = status, code, message, fields or {}, details


def response(status: int, code: str, message: str, fields: dict | None = None, details: dict | None = None,
             headers: dict | None = None):
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    if details:
        body["details"] = details
    resp = jsonify({"error": body})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def status_of(err: DomainError) -> int:
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, PermissionDenied):
        return 403
    if isinstance(err, ValidationFailed):
        return 422
    if isinstance(err, StaleVersion):
        return 409
    return 409  # the state does not allow it (yet): a conflict with the ticket as it is


def from_domain(err: DomainError):
    fields = {err.field: err.message} if isinstance(err, ValidationFailed) and err.field else None
    details = {k: v for k, v in err.details.items() if k != "field" and v is not None} or None
    return response(status_of(err), err.code, err.message, fields, details)


MESSAGES = {
    "missing": "必填", "string_too_long": "过长", "string_too_short": "过短", "int_parsing": "应为整数",
    "bool_parsing": "应为布尔值", "datetime_from_date_parsing": "应为日期时间", "datetime_parsing": "应为日期时间",
    "date_from_datetime_parsing": "应为日期", "date_parsing": "应为日期", "enum": "不是允许的取值",
    "literal_error": "不是允许的取值", "extra_forbidden": "不认识的字段", "string_type": "应为字符串",
    "int_type": "应为整数", "list_type": "应为数组", "dict_type": "应为对象", "model_type": "应为对象",
    "greater_than_equal": "过小", "less_than_equal": "过大", "string_pattern_mismatch": "格式不正确",
    "int_from_float": "应为整数", "value_error": "取值无效",
}


def from_validation(err: ValidationError, where: str) -> ApiError:
    fields = {}
    for e in err.errors():
        name = ".".join(str(p) for p in e["loc"]) or where
        fields.setdefault(name, MESSAGES.get(e["type"], "取值无效"))
    label = "请求体" if where == "body" else "查询参数"
    return ApiError(422, "VALIDATION", f"{label}校验失败：" + "；".join(f"{k} {v}" for k, v in fields.items()),
                    fields)


def register_handlers(bp) -> None:
    @bp.errorhandler(ApiError)
    def _api_error(err: ApiError):
        return response(err.status, err.code, err.message, err.fields, err.details or None)

    @bp.errorhandler(DomainError)
    def _domain(err: DomainError):
        return from_domain(err)


HTTP_CODES = {400: ("BAD_REQUEST", "请求格式错误"), 401: ("UNAUTHENTICATED", "未认证"), 403: ("FORBIDDEN", "无权操作"),
              404: ("NOT_FOUND", "接口或资源不存在"), 405: ("METHOD_NOT_ALLOWED", "不支持该请求方法"),
              413: ("TOO_LARGE", "请求体过大"), 429: ("RATE_LIMITED", "请求过于频繁，请稍后再试")}


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def from_http(err):
    """A werkzeug HTTPException as the API's JSON error."""
    status = err.code or 500
    code, message = HTTP_CODES.get(status, (f"HTTP_{status}", "请求失败"))
    return response(status, code, message)
