"""hotline: the work-order system of a 12345 government service hotline."""
from __future__ import annotations

import os

from flask import Flask

from hotline.extensions import csrf, db, login_manager, migrate


def create_app(config: str | type | None = None, **overrides) -> Flask:
    from config import CONFIGS, INSTANCE_DIR

    app = Flask(__name__, instance_path=str(INSTANCE_DIR),
                template_folder=os.path.join(os.path.dirname(os.path.dirname(__file__)), "templates"))
    if config is None or isinstance(config, str):
        config = CONFIGS[config or os.environ.get("HOTLINE_CONFIG", "development")]
    app.config.from_object(config)
    app.config.update(overrides)
    if hasattr(config, "check"):
        config.check()
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    if app.config.get("PROXY_FIX_X_FOR"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1)

    from hotline import models  # noqa: F401  (register every table)
    from hotline.database import configure_engine

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"

    with app.app_context():
        configure_engine(db.engine)

    from hotline.admin.views import bp as admin_bp
    from hotline.auth.views import bp as auth_bp
    from hotline.reports.views import bp as reports_bp
    from hotline.reports.dashboard_views import bp as dashboard_bp
    from hotline.callbacks.views import bp as callbacks_bp
    from hotline.intake.views import bp as intake_bp
    from hotline.notifications.views import bp as notifications_bp
    from hotline.supervision.views import bp as supervision_bp
    from hotline.tickets.views import bp as tickets_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(tickets_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(intake_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(supervision_bp)
    app.register_blueprint(callbacks_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(dashboard_bp)

    from hotline.cli import register_cli
    from hotline.web import register_web

    register_cli(app)
    register_web(app)
    return app


def _instance_secret(instance_path: str) -> str:
    """A random secret key made once per installation, readable only by its owner."""
    import secrets

    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    with open(path) as f:
        return f.read().strip()
