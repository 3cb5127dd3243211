"""`/api/v1/`: the JSON surface over the lifecycle (token auth, one POST per action), and
its OpenAPI document generated from the routes' own models."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from hotline import stages  # noqa: F401  (every action and its form, before the routes below)
from hotline.api import actions
from hotline.api import serialize
from hotline.api.auth import authenticate
from hotline.api.errors import from_http, is_api, register_handlers
from hotline.api.jsonfmt import IsoJSONProvider
from hotline.api.schemas import ActionResult, TicketOut
from hotline.api.spec import api_route, openapi
from hotline.errors import NotFound
from hotline.extensions import csrf, db
from hotline.lifecycle.registry import REGISTRY
from hotline.ratelimit import api as rate_limits
from hotline.tickets.models import Ticket, TicketEvent
from hotline.tickets.queries import visible_tickets

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
register_handlers(bp)
rate_limits.register(bp)  # before _authenticate below: limits are checked first
PUBLIC = {"api.openapi_json", "api.docs"}


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC:
        return None
    authenticate()
    return None


def ticket_by_number(number: str) -> Ticket:
    """The ticket with this number if the token's user may see it; 404 otherwise (another
    unit's ticket and a missing one look the same)."""
    stmt = visible_tickets(current_user).where(Ticket.number == number).options(
        selectinload(Ticket.assignments), selectinload(Ticket.events).joinedload(TicketEvent.actor))
    t = db.session.scalars(stmt).first()
    if t is None:
        raise NotFound()
    return t


def ticket_json(number: str, status: int = 200, **extra):
    db.session.expire_all()
    t = ticket_by_number(number)
    body = serialize.ticket(t, current_user._get_current_object())
    resp = jsonify({**extra, "ticket": body} if extra else body)
    resp.status_code = status
    resp.headers["ETag"] = f'"{t.version}"'
    return resp


@api_route(bp, "/tickets/<number>", "GET", summary="工单详情", response=TicketOut, errors=(404,))
def get_ticket(number: str):
    """The ticket with its assignments, events and the actions the token's user may take
    now (the same guards as the page's buttons). ETag is the version."""
    return ticket_json(number)


def _action_view(key: str):
    action = REGISTRY[key]
    model = actions.input_model(key)

    def view(number: str, body):
        t = ticket_by_number(number)
        result = actions.run(key, t, current_user._get_current_object(), body)
        return ticket_json(number, message=action.done_message(result))

    view.__name__ = f"action_{key}"
    view.__doc__ = (f"{action.label}（{action.stage}）。可操作角色：" + "、".join(r.label for r in action.roles)
                    + "。版本号用 If-Match 头或请求体 version；过期返回 409 STALE_VERSION。")
    # the path is the ticket's own and the key: serialize.ticket builds the links so
    api_route(bp, f"/tickets/<number>/{key}", "POST", summary=action.label, body=model, response=ActionResult,
              errors=(403, 404, 409), headers={"If-Match": "工单版本号（ETag）"})(view)


def register_action_routes() -> None:
    """One route per registered ticket action (case actions live on their case)."""
    for key, action in sorted(REGISTRY.items()):
        if action.form is not None and not action.on_case:
            _action_view(key)


register_action_routes()


@api_route(bp, "/openapi.json", "GET", summary="OpenAPI 3.1 文档（本文档）", tag="docs", auth=False, errors=(429,),
           description="由各接口自身的请求/响应模型生成的机器可读文档；无需令牌。")
def openapi_json():
    return jsonify(openapi())


@api_route(bp, "/docs", "GET", summary="接口文档页面（HTML）", tag="docs", auth=False, errors=(429,),
           description="同一文档的网页版；无需令牌。")
def docs():
    return render_template("api/docs.html", spec=openapi())


def init_app(app) -> None:
    """JSON errors for /api/ paths the blueprint never sees (wrong method, too large …);
    403 and 404 are answered in hotline.web, which asks `is_api` too. Moments are written
    in ISO 8601 (hotline.api.jsonfmt)."""
    app.json = IsoJSONProvider(app)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if is_api(request.path):
            return from_http(err)
        return err



# the resources beyond one ticket: create and list, caller history and screen pop, units,
# categories and routing, reports (each module registers its routes on `bp`)
from hotline.api import callers, directory, reports, tickets  # noqa: E402,F401
