"""The application factory: configuration, extensions, blueprints, CLI commands and the
shared template helpers. `from hotline import create_app` reaches it lazily (see
hotline/__init__.py)."""
from __future__ import annotations

import os
import secrets

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import CONFIGS, INSTANCE_DIR, config_name
from hotline import models, stages  # noqa: F401  (every table; every lifecycle action, before its form attaches)
from hotline.admin.views import bp as admin_bp
from hotline.api import views as api_views
from hotline import security
from hotline.audit import views as audit_views
from hotline.auth.views import bp as auth_bp
from hotline.ops import health as ops_health, logs as ops_logs, metrics as ops_metrics
from hotline.ops.backup import backup_cmd, restore_cmd
from hotline.ops.check import check_cmd
from hotline.callbacks.views import bp as callbacks_bp
from hotline.cli import register_cli
from hotline.database import configure_engine, init_reports_engine
from hotline.dispatch.views import bp as dispatch_queue_bp
from hotline.extensions import csrf, db, login_manager, migrate
from hotline.intake.views import bp as intake_bp
from hotline.notifications.views import bp as notifications_bp
from hotline.open311.views import bp as open311_bp
from hotline.reports.dashboard_views import bp as dashboard_bp
from hotline.reports.views import bp as reports_bp
from hotline.review.leader_views import bp as leader_bp
from hotline.supervision.views import bp as supervision_bp
from hotline.tickets.views import bp as tickets_bp
from hotline.web import register_web

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLUEPRINTS = (auth_bp, tickets_bp, admin_bp, intake_bp, notifications_bp, supervision_bp, callbacks_bp,
              reports_bp, dashboard_bp, leader_bp, api_views.bp, dispatch_queue_bp)


def create_app(config: str | type | None = None, **overrides) -> Flask:
    app = Flask("hotline", instance_path=str(INSTANCE_DIR), template_folder=os.path.join(ROOT, "templates"))
    if config is None or isinstance(config, str):
        config = CONFIGS[config or config_name()]
    app.config.from_object(config)
    app.config.update(overrides)
    if hasattr(config, "check"):
        config.check(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    if app.config.get("PROXY_FIX_X_FOR"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"

    with app.app_context():
        configure_engine(db.engine, app.config.get("DATABASE_PING_IDLE_SECONDS"))
    init_reports_engine(app)

    security.init_app(app)  # before the routes: it bounds <int:…> ids
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(open311_bp)  # Open311 GeoReport v2 (/open311/v2)
    api_views.init_app(app)
    register_cli(app)
    register_web(app)
    audit_views.init_app(app)
    ops_logs.configure(app)
    ops_metrics.init_app(app)
    ops_health.init_app(app)
    app.cli.add_command(check_cmd)
    app.cli.add_command(backup_cmd)
    app.cli.add_command(restore_cmd)
    return app


def _instance_secret(instance_path: str) -> str:
    """A random secret key made once per installation, readable only by its owner."""
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    with open(path) as f:
        return f.read().strip()
