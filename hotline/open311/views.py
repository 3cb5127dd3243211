"""`/open311/v2/`: Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), every
resource in JSON and XML by its suffix (`services.json`, `services.xml`).

Reading is public; filing a request (POST requests) takes an `api_key`: an API token of
a user with the operator role (issued on the admin page 接口令牌). Errors are the spec's
list of {code, description} (`<errors><error>…` in XML) with the HTTP status 400, 403 or
404. What is shown of a ticket, and what never is: see hotline.open311.services.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from hotline.errors import DomainError
from hotline.extensions import csrf
from hotline.open311 import services as svc
from hotline.open311.services import Open311Error
from hotline.open311.xml import to_xml
from hotline.ratelimit import api as rate_limits

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)


def _api_key() -> str | None:
    """The token a POST files with (reading is public: only the address counts there)."""
    return (request.form.get("api_key") or request.args.get("api_key") or "").strip() or None \
        if request.method == "POST" else None


def _too_many(message: str, details: dict, headers: dict) -> Response:
    resp = _refused(Open311Error(429, message))
    resp.headers.update(headers)
    return resp


# the API's limits, per api_key and per address, counted before anything else
rate_limits.register(bp, token_of=_api_key, refuse=_too_many)
FMT = "<any(json,xml):fmt>"
CONTACT = "12345 政务服务便民热线"
KEY_SERVICE = "提交诉求所需的 api_key 由热线中心系统管理员发放（令牌所属用户须为话务员）"


def respond(body, fmt: str, root: str, item: str | None = None, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, body, item), status=status, content_type="text/xml; charset=utf-8")
    resp = jsonify(body)
    resp.status_code = status
    return resp


def requests_response(rows: list[dict], fmt: str, status: int = 200) -> Response:
    return respond(rows, fmt, "service_requests", "request", status)


@bp.errorhandler(Open311Error)
def _refused(err: Open311Error):
    return respond(err.errors, "xml" if request.path.endswith(".xml") else "json", "errors", "error", err.status)


@bp.errorhandler(DomainError)
def _domain(err: DomainError):
    return _refused(Open311Error(err.status if err.status in (400, 403, 404) else 400, err.message))


@bp.route(f"/discovery.{FMT}")
def discovery(fmt: str):
    body = svc.discovery(url_for(".discovery", fmt=fmt, _external=True).rsplit("/", 1)[0],
                         current_app.config.get("OPEN311_CONTACT", CONTACT),
                         current_app.config.get("OPEN311_KEY_SERVICE", KEY_SERVICE))
    return respond(body, fmt, "discovery")


@bp.route(f"/services.{FMT}")
def services(fmt: str):
    return respond(svc.services(), fmt, "services", "service")


@bp.route(f"/services/<code>.{FMT}")
def service_definition(code: str, fmt: str):
    return respond(svc.service_definition(code), fmt, "service_definition")


@bp.route(f"/requests.{FMT}", methods=["GET", "POST"])
def service_requests(fmt: str):
    if request.method == "POST":
        return requests_response(svc.submit(request.values), fmt, 201)
    return requests_response(svc.find_requests(request.args), fmt)


@bp.route(f"/requests/<number>.{FMT}")
def service_request(number: str, fmt: str):
    return requests_response(svc.get_request(number), fmt)


@bp.route(f"/tokens/<token>.{FMT}")
def token(token: str, fmt: str):
    return requests_response(svc.request_of_token(token), fmt)


@bp.route("/<path:rest>", methods=["GET", "POST"])
def unknown(rest: str):
    raise Open311Error(404, f"不存在的接口：/open311/v2/{rest}（格式须为 .json 或 .xml）")
