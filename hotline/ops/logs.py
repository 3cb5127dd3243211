"""JSON logs with a request id: every request gets X-Request-Id (the proxy's, if it sent a
sane one, or a new one), echoed in the answer and written on every log line of the request.
On when HOTLINE_JSON_LOGS=1 (production default)."""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request

SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
access = logging.getLogger("hotline.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
               "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if has_request_context():
            out["request_id"] = getattr(g, "request_id", None)
            out["method"], out["path"] = request.method, request.path
        for key in ("status", "duration_ms", "endpoint", "user_id", "remote_addr"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def note_user(user) -> None:
    """Remember the request's user for its access-log line while the user is loaded: after
    the request's commit its attributes are expired, and reading them then (the id, the
    active flag behind `is_authenticated`) would cost a query after every write."""
    g._log_user = (user, user.id if user.active else None)


def _user_id():
    user = getattr(g, "_login_user", None)
    if user is None:
        return None
    noted = getattr(g, "_log_user", None)
    if noted is not None and noted[0] is user:
        return noted[1]
    from flask_login import current_user

    return getattr(user, "id", None) if current_user.is_authenticated else None


def configure(app: Flask) -> None:
    @app.before_request
    def _request_id():
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if SANE_ID.match(given) else uuid.uuid4().hex
        g._log_start = time.perf_counter()

    @app.after_request
    def _log(response):
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        if app.config.get("JSON_LOGS") and request.endpoint != "static":
            start = getattr(g, "_log_start", None)
            access.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "status": response.status_code, "endpoint": request.endpoint,
                "duration_ms": round((time.perf_counter() - start) * 1000, 1) if start else None,
                "user_id": _user_id(),
                "remote_addr": request.remote_addr})
        return response

    if app.config.get("JSON_LOGS"):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root = logging.getLogger()
        root.handlers = [handler]
        root.setLevel(logging.INFO)
        app.logger.handlers = []
        app.logger.propagate = True
