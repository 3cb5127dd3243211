"""Open311 GeoReport v2 over the hotline: public categories are the services, tickets in
them the service requests, and a request filed by a client is recorded by the intake.

What the public sees of a ticket: its number, open or closed, the category, the request
text (description), the address, the lead unit (agency_responsible), the times and the
text written for the public (status_notes: the 公开答复 of the lead unit's last reply the
centre accepted, else the closure's label). Never the caller's name, phone or e-mail,
never internal notes or a reply's internal result. Confidential (保密) tickets are left
out of every answer, as if they did not exist: a list skips them and a lookup by number
or token answers 404, so not even their existence, category or time shows.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from hotline.api.auth import token_user
from hotline.api.errors import ApiError
from hotline.auth.models import User
from hotline.callbacks.queries import public_replies
from hotline.categories.models import Category
from hotline.clock import TZ
from hotline.clock import now as clock_now
from hotline.enums import Channel, RequestType, Role, TicketState, Urgency
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.intake.operations import record_ticket
from hotline.lifecycle.uow import unit_of_work
from hotline.tickets.models import Ticket

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: When this implementation last changed what it answers (the discovery's changeset).
CHANGESET = "2026-11-23T00:00:00+08:00"
#: The default and the longest span of GET requests, and the most requests one answer holds.
WINDOW = timedelta(days=90)
LIMIT = 1000
STATUSES = ("open", "closed")
SERVICE_NOTICE = "诉求已受理，将按规定时限转交承办单位办理；可凭 service_request_id 查询办理进度。"
#: The draft's fields as a GeoReport client names them (for the errors it gets back).
PARAMS = {"content": "description", "title": "description", "caller_phone": "phone",
          "caller_name": "first_name/last_name", "address": "address_string", "category_id": "service_code"}


class Open311Error(Exception):
    """Refused: the HTTP status and the errors as the spec lists them ({code, description})."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__(f"{status}: " + "; ".join(descriptions))
        self.status = status
        self.errors = [{"code": status, "description": d} for d in descriptions]


def iso(when: datetime | None) -> str | None:
    """A stored (naive, local) moment in ISO 8601 with the city's offset: …T09:30:00+08:00."""
    return when.replace(tzinfo=TZ).isoformat() if when is not None else None


def discovery(url: str, contact: str, key_service: str) -> dict:
    return {"changeset": CHANGESET, "contact": contact, "key_service": key_service,
            "endpoints": [{"specification": SPECIFICATION, "url": url, "changeset": CHANGESET,
                           "type": "production", "formats": ["text/xml", "application/json"]}]}


# --- services ---------------------------------------------------------------------
def _public_categories():
    return (sa.select(Category).where(Category.active.is_(True), Category.public.is_(True))
            .options(joinedload(Category.parent)))


def service(cat: Category) -> dict:
    """A category as a GeoReport service: no attributes (metadata false), created at once
    (realtime), its place in the taxonomy as keywords, its parent as the group."""
    return {"service_code": cat.code, "service_name": cat.name, "description": cat.full_name,
            "metadata": False, "type": "realtime", "keywords": ", ".join(cat.full_name.split(" › ")),
            "group": cat.parent.name if cat.parent is not None else None}


def services() -> list[dict]:
    return [service(c) for c in db.session.scalars(_public_categories().order_by(Category.full_name))]


def public_category(code: str | None) -> Category | None:
    code = (code or "").strip()
    return db.session.scalars(_public_categories().where(Category.code == code)).first() if code else None


def service_definition(code: str) -> dict:
    cat = public_category(code)
    if cat is None:
        raise Open311Error(404, f"服务 {code} 不存在或未对外公开")
    return {"service_code": cat.code, "attributes": []}


# --- service requests -------------------------------------------------------------
def _public_requests():
    """Tickets the public may see: in a public category, not confidential."""
    return (sa.select(Ticket).join(Ticket.category)
            .where(Category.public.is_(True), Ticket.confidential.is_(False))
            .options(contains_eager(Ticket.category), selectinload(Ticket.assignments),
                     joinedload(Ticket.lead_unit)))


def _rows(tickets: list[Ticket]) -> list[dict]:
    notes = public_replies([t.id for t in tickets])
    return [request_row(t, notes.get(t.id)) for t in tickets]


def request_row(t: Ticket, public_text: str | None) -> dict:
    closed = t.state is TicketState.CLOSED
    lead = t.lead_assignment
    return {
        "service_request_id": t.number,
        "status": "closed" if closed else "open",
        "status_notes": public_text or (t.closure.label if closed and t.closure is not None else None),
        "service_name": t.category.name,
        "service_code": t.category.code,
        "description": t.content,
        "agency_responsible": t.lead_unit.name if t.lead_unit is not None else None,
        "service_notice": None,
        "requested_datetime": iso(t.created_at),
        "updated_datetime": iso(t.updated_at),
        "expected_datetime": iso(lead.handle_due_at) if lead is not None else None,
        "address": t.address or None,
        "address_id": None, "zipcode": None, "lat": None, "long": None, "media_url": None,
    }


def _list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def parse_when(value: str, param: str) -> datetime:
    """An ISO 8601 moment as stored (naive local time). Without an offset it is read as
    the city's time; a "+08:00" whose + a client left unencoded (a space) is mended."""
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", value.strip())
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(400, f"{param} 不是有效的 ISO 8601 时间（例如 2026-11-01T00:00:00+08:00）") from None
    return when.astimezone(TZ).replace(tzinfo=None) if when.tzinfo is not None else when


def window(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """The span of requested_datetime searched: the last 90 days by default, 90 days from
    start_date or up to end_date when only one is given, never longer than 90 days."""
    start_at = parse_when(start, "start_date") if start else None
    end_at = parse_when(end, "end_date") if end else None
    if start_at is None and end_at is None:
        end_at = clock_now()
    if start_at is None:
        start_at = end_at - WINDOW
    if end_at is None:
        end_at = start_at + WINDOW
    if end_at < start_at:
        raise Open311Error(400, "end_date 不能早于 start_date")
    if end_at - start_at > WINDOW:
        raise Open311Error(400, "start_date 与 end_date 的间隔不能超过 90 天")
    return start_at, end_at


def find_requests(args: Mapping[str, str]) -> list[dict]:
    """GET requests: by service_request_id (a comma list, which overrides every other
    filter), else by service_code and status (comma lists) within the date window; the
    newest first, at most 1000."""
    stmt = _public_requests()
    numbers = _list(args.get("service_request_id"))
    if numbers:
        stmt = stmt.where(Ticket.number.in_(numbers[:LIMIT]))
    else:
        statuses = _list(args.get("status"))
        wrong = [s for s in statuses if s not in STATUSES]
        if wrong:
            raise Open311Error(400, f"status 只能是 open 或 closed（收到：{', '.join(wrong)}）")
        start_at, end_at = window(args.get("start_date"), args.get("end_date"))
        stmt = stmt.where(Ticket.created_at >= start_at, Ticket.created_at <= end_at)
        codes = _list(args.get("service_code"))
        if codes:
            stmt = stmt.where(Category.code.in_(codes))
        if statuses and set(statuses) != set(STATUSES):
            closed = Ticket.state == TicketState.CLOSED
            stmt = stmt.where(closed if statuses[0] == "closed" else ~closed)
    tickets = db.session.scalars(stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(LIMIT)).all()
    return _rows(list(tickets))


def get_request(number: str) -> list[dict]:
    t = db.session.scalars(_public_requests().where(Ticket.number == number)).first()
    if t is None:
        raise Open311Error(404, f"诉求 {number} 不存在")
    return _rows([t])


def request_of_token(token: str) -> list[dict]:
    t = db.session.scalars(_public_requests().where(Ticket.open311_token == token)).first() if token else None
    if t is None:
        raise Open311Error(404, "token 不存在")
    return [{"service_request_id": t.number, "token": token}]


# --- POST a request ---------------------------------------------------------------
def api_user(api_key: str | None) -> User:
    """The user an API token acts as, who must record requests as an operator (话务员)."""
    if not (api_key or "").strip():
        raise Open311Error(403, "缺少 api_key：提交诉求须提供接口令牌")
    try:
        _row, user = token_user(api_key.strip())
    except ApiError:
        raise Open311Error(403, "api_key 无效、已吊销或所属用户已停用") from None
    if not user.has_role(Role.OPERATOR):
        raise Open311Error(403, "api_key 所属用户不是话务员，不能提交诉求")
    return user


def _location(form: Mapping[str, str]) -> str:
    """The address as the ticket keeps it: address_string, with the coordinates after it
    (or alone) when lat/long are given."""
    address = (form.get("address_string") or "").strip()
    lat, long = (form.get("lat") or "").strip(), (form.get("long") or "").strip()
    if not (lat or long):
        if not address:
            raise Open311Error(400, "缺少位置：请提供 lat 和 long，或 address_string")
        return address
    try:
        lat_f, long_f = float(lat), float(long)
    except ValueError:
        raise Open311Error(400, "lat 和 long 须同时提供，且为十进制度数") from None
    if not (-90 <= lat_f <= 90 and -180 <= long_f <= 180):
        raise Open311Error(400, "lat 须在 -90 到 90 之间，long 须在 -180 到 180 之间")
    coords = f"坐标 {lat_f:.6f},{long_f:.6f}"
    return f"{address}（{coords}）" if address else coords


def _name(form: Mapping[str, str]) -> str:
    first, last = (form.get("first_name") or "").strip(), (form.get("last_name") or "").strip()
    if first.isascii() and last.isascii():
        return f"{first} {last}".strip()
    return last + first  # 姓 before 名


def _content(form: Mapping[str, str]) -> str:
    description = (form.get("description") or "").strip()
    media = (form.get("media_url") or "").strip()
    if not media:
        return description
    if not re.match(r"https?://\S+$", media) or len(media) > 1000:
        raise Open311Error(400, "media_url 须为 http(s) 链接，且不超过 1000 个字符")
    return f"{description}\n\n附件链接：{media}" if description else ""


def draft_of(form: Mapping[str, str], cat: Category) -> dict:
    """A GeoReport POST as an intake draft. Without a phone the request is anonymous
    (匿名网络诉求: no name kept, a query code made)."""
    phone = (form.get("phone") or "").strip()
    content = _content(form)
    first_line = content.splitlines()[0] if content else ""
    return dict(channel=Channel.WEBSITE, request_type=RequestType.HELP, urgency=Urgency.NORMAL,
                category_id=cat.id, anonymous=not phone, caller_phone=phone, caller_name=_name(form),
                confidential=False, address=_location(form),
                title=first_line[:40] + ("…" if len(first_line) > 40 else ""), content=content)


def submit(form: Mapping[str, str]) -> list[dict]:
    """POST requests: record the request as the api_key's operator would at intake (the
    same checks, routing and auto-dispatch), with a token the client may poll."""
    actor = api_user(form.get("api_key"))
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "缺少 service_code")
    cat = public_category(code)
    if cat is None:
        raise Open311Error(400, f"服务 {code} 不存在或未对外公开")
    draft = draft_of(form, cat)
    token = secrets.token_hex(16)
    with unit_of_work():
        try:
            ticket = record_ticket(actor, draft, origin={"open311_token": token})
        except ValidationFailed as err:
            raise Open311Error(400, f"{PARAMS.get(err.field, err.field or '请求')}：{err.message}") from None
        number = ticket.number
    return [{"service_request_id": number, "token": token, "service_notice": SERVICE_NOTICE, "account_id": None}]
