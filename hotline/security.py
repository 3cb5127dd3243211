"""What every response and request gets at the edge: security headers, ids and numbers
kept within what the database can store, and the Content-Security-Policy the pages
satisfy (scripts and styles from this site only; no inline script or style attribute)."""
from __future__ import annotations

from flask import Flask, Request, abort, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # integer primary keys on PostgreSQL

CSP = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'self'",
    "form-action 'self'", "frame-ancestors 'none'",
])


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` up to the largest stored id: a longer number is a 404, not an overflow."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)


def bounded_int(value) -> int:
    """int() for query strings and forms: out of range is invalid (the caller's default)."""
    number = int(value)
    if not -MAX_ID <= number <= MAX_ID:
        raise ValueError("out of range")
    return number


def page_arg(name: str = "page") -> int:
    """The page number a list was asked for: absent or empty is 1; anything but a whole
    number from 1 to MAX_ID is a 400 with a Chinese message (a page past the last one is
    the list's own 404: `db.paginate(error_out=True)`, `ticket_page`)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        abort(400, description=PAGE_INVALID)
    return int(raw)


PAGE_INVALID = "页码无效：请使用页面上的翻页链接"


class BoundedMultiDict(ImmutableMultiDict):
    def get(self, key, default=None, type=None):
        return super().get(key, default, bounded_int if type is int else type)


class HotlineRequest(Request):
    parameter_storage_class = BoundedMultiDict


#: Set unless the view set its own.
DEFAULT_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)
#: Pages, downloads and API answers carry callers' details: never stored by a browser or a
#: proxy (a shared PC at a unit, a back button after logout). Static files are cached.
NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def headers(response):
    h = response.headers
    present = {name.lower() for name in h.keys()}  # one pass (setdefault scans the list each time)
    h.extend([(name, value) for name, value in DEFAULT_HEADERS if name.lower() not in present])
    h["X-Content-Type-Options"] = "nosniff"
    from flask import current_app

    hsts = current_app.config.get("HSTS_SECONDS") or 0
    if hsts:
        h["Strict-Transport-Security"] = f"max-age={hsts}; includeSubDomains"
    if request.endpoint != "static":
        for name, value in NO_STORE:
            h[name] = value
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with the same cookies, made cheaper per request:
    the signing serializer is built once per secret key (Flask builds it on every request
    and again on every save), and not at all for a request without a session cookie (an
    API call with a bearer token); a session that stayed empty and untouched is not looked
    at on the way out (Flask's own save_session would only return there, after reading the
    cookie settings)."""

    def __init__(self):
        self._signers: dict = {}

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            return None
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        signer = self._signers.get(keys)
        if signer is None:
            signer = self._signers[keys] = super().get_signing_serializer(app)
        return signer

    def open_session(self, app: Flask, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()  # what Flask answers without a cookie
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if not session and not session.modified and not session.accessed:
            return  # Flask would neither set, delete nor vary on the cookie
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    """Before any blueprint registers its routes (the converter is read when a rule is added)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.request_class = HotlineRequest
    app.session_interface = SessionInterface()
    app.after_request(headers)
