"""`flask --app wsgi check`: configuration problems, errors first. In production a bad
secret already stops the app from loading (create_app refuses, naming the problem)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from config import secret_problems


def problems(app) -> list[tuple[str, str]]:
    """(level, message) with level ERROR or WARN."""
    cfg = app.config
    out: list[tuple[str, str]] = []
    production = not (cfg.get("DEBUG") or cfg.get("TESTING"))
    for p in secret_problems(cfg.get("SECRET_KEY")) if production else []:
        out.append(("ERROR", p))
    if cfg.get("DEBUG"):
        out.append(("WARN", "DEBUG is on (development settings): never expose this to users"))
    if production and not cfg.get("SESSION_COOKIE_SECURE"):
        out.append(("ERROR", "SESSION_COOKIE_SECURE is off: the session cookie would travel over plain HTTP"))
    if production and not cfg.get("HSTS_SECONDS"):
        out.append(("WARN", "HSTS is off (HOTLINE_HSTS_SECONDS=0)"))
    if production and cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        out.append(("WARN", "SQLite database: one host only; use PostgreSQL (DATABASE_URL) for several machines"))
    if production and not cfg.get("REDIS_URL"):
        out.append(("WARN", "REDIS_URL is not set: rate limits and sign-in throttling count in the database"))
    if production and not cfg.get("PROXY_FIX_X_FOR"):
        out.append(("WARN", "HOTLINE_PROXY_X_FOR is 0: behind nginx every client would count as the proxy's address"))
    if (cfg.get("PASSWORD_MIN_LENGTH") or 0) < 10:
        out.append(("WARN", f"PASSWORD_MIN_LENGTH is {cfg.get('PASSWORD_MIN_LENGTH')}; 10 or more is advised"))
    if not cfg.get("LOGIN_FAILURES_PER_ACCOUNT"):
        out.append(("WARN", "sign-in throttling per account is off (HOTLINE_LOGIN_FAILURES_PER_ACCOUNT=0)"))
    try:
        from hotline.ops.health import migration_heads

        current, heads = migration_heads()
        if current != heads:
            out.append(("ERROR", f"database at migration {sorted(current)}, code at {sorted(heads)}: "
                                 "run `flask --app wsgi db upgrade`"))
    except Exception as exc:  # noqa: BLE001 - reported
        out.append(("ERROR", f"database not reachable or not migrated: {type(exc).__name__}: {exc}"[:300]))
        current = None
    out += replica_problems(app, current)
    return sorted(out, key=lambda p: p[0] != "ERROR")


def replica_problems(app, primary_version) -> list[tuple[str, str]]:
    """REPORTS_DATABASE_URL: reachable, at the primary's migration, and a standby."""
    import sqlalchemy as sa

    from hotline.database import REPORTS_ENGINE

    engine = app.extensions.get(REPORTS_ENGINE)
    if engine is None:
        return []
    try:
        with engine.connect() as conn:
            version = set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")).all())
            standby = conn.scalar(sa.text("SELECT pg_is_in_recovery()")) if engine.dialect.name == "postgresql" \
                else None
    except Exception as exc:  # noqa: BLE001 - reported
        return [("ERROR", f"REPORTS_DATABASE_URL not reachable or not migrated: {type(exc).__name__}: {exc}"[:300])]
    out = []
    if primary_version is not None and version != primary_version:
        out.append(("ERROR", f"REPORTS_DATABASE_URL is at migration {sorted(version)}, the primary at "
                             f"{sorted(primary_version)}: not a replica of this database"))
    if standby is False:
        out.append(("WARN", "REPORTS_DATABASE_URL is not a standby: reports read it as it is, however old its copy"))
    return out


@click.command("check")
@with_appcontext
def check_cmd():
    """Report configuration problems (exit status 1 if any is an error)."""
    found = problems(current_app)
    for level, message in found:
        click.echo(f"{level}: {message}")
    if not found:
        click.echo("OK: no configuration problems found")
    if any(level == "ERROR" for level, _ in found):
        raise SystemExit(1)
