"""Error pages and template helpers shared by every blueprint."""
from flask import Flask, render_template

from hotline import enums
from hotline.clock import now
from hotline.errors import DomainError


def _dt(value, fmt="%Y-%m-%d %H:%M"):
    return value.strftime(fmt) if value else ""


def register_web(app: Flask) -> None:
    app.jinja_env.filters["dt"] = _dt

    @app.context_processor
    def _globals():
        return {"enums": enums, "now": now}

    @app.errorhandler(DomainError)
    def _domain_error(err: DomainError):
        return render_template("error.html", code=err.code, message=err.message), err.status

    @app.errorhandler(403)
    def _forbidden(err):
        return render_template("error.html", code="FORBIDDEN", message="您无权访问该页面"), 403

    @app.errorhandler(404)
    def _not_found(err):
        return render_template("error.html", code="NOT_FOUND", message="页面不存在"), 404
