"""Operations endpoints: /healthz (the process answers), /readyz (database reachable,
migrations at head, scheduler heartbeat), /metrics (Prometheus text, for the addresses in
HOTLINE_METRICS_ALLOW or a bearer HOTLINE_METRICS_TOKEN)."""
from __future__ import annotations

import hmac
import ipaddress
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, jsonify, request

from hotline.clock import now as clock_now
from hotline.extensions import csrf, db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


def migration_heads() -> tuple[set[str], set[str]]:
    """(revisions in the database, heads of migrations/)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    directory = current_app.extensions["migrate"].directory
    cfg = Config()
    cfg.set_main_option("script_location", directory)
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    current = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")).all())
    return current, heads


def readiness() -> tuple[bool, dict]:
    checks: dict[str, dict] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        db.session.rollback()
        checks["database"] = {"ok": False, "error": type(exc).__name__}
        return False, checks
    try:
        current, heads = migration_heads()
        checks["migrations"] = {"ok": current == heads, "database": sorted(current), "head": sorted(heads)}
    except Exception as exc:  # noqa: BLE001
        db.session.rollback()
        checks["migrations"] = {"ok": False, "error": type(exc).__name__}
    from hotline.scheduler.models import JobRun

    try:
        last = db.session.scalar(sa.select(sa.func.max(JobRun.started_at)))
    except Exception as exc:  # noqa: BLE001
        db.session.rollback()
        checks["scheduler"] = {"ok": False, "error": type(exc).__name__}
    else:
        stale = timedelta(seconds=current_app.config.get("SCHEDULER_STALE_SECONDS", 300))
        checks["scheduler"] = {"ok": last is not None and clock_now() - last <= stale,
                               "last_run": last.isoformat() if last else None}
    db.session.rollback()
    return all(c["ok"] for c in checks.values()), checks


@bp.route("/readyz")
def readyz():
    ok, checks = readiness()
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503


def _metrics_allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    auth = request.headers.get("Authorization", "")
    if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), token.encode()):
        return True
    try:
        addr = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    for net in current_app.config.get("METRICS_ALLOW", ("127.0.0.1/32", "::1/128")):
        if addr in ipaddress.ip_network(net, strict=False):
            return True
    return False


@bp.route("/metrics")
def metrics():
    if not _metrics_allowed():
        abort(404)
    from hotline.ops.metrics import exposition

    body, content_type = exposition()
    return Response(body, content_type=content_type)


def init_app(app) -> None:
    app.register_blueprint(bp)
    csrf.exempt(bp)
