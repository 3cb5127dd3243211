"""`flask --app wsgi backup FILE` and `restore FILE`.

SQLite: the online backup API (a consistent copy while the app runs and writes);
restore copies the backup into the live database the same way (stop the web and the
scheduler first). PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean
--if-exists --no-owner --single-transaction` (the client tools must be at least the
server's version). The audit trail's trigger allows the restore's DROP (it drops the
table, it does not delete rows)."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from hotline.extensions import db


def _libpq_url() -> str:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _sqlite_path() -> str:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).database


def backup(path: str) -> None:
    db.session.remove()
    kind = db.engine.dialect.name
    if kind == "sqlite":
        src = sqlite3.connect(_sqlite_path())
        dst = sqlite3.connect(path)
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
            src.close()
    elif kind == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", path, "--dbname", _libpq_url()])
    else:
        raise click.ClickException(f"backup of {kind} is not supported")


def restore(path: str) -> None:
    if not os.path.exists(path):
        raise click.ClickException(f"no such backup: {path}")
    db.session.remove()
    db.engine.dispose()
    kind = db.engine.dialect.name
    if kind == "sqlite":
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        dst = sqlite3.connect(_sqlite_path())
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    elif kind == "postgresql":
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--dbname", _libpq_url(), path])
    else:
        raise click.ClickException(f"restore of {kind} is not supported")


def _run(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise click.ClickException(f"{cmd[0]} not found (install the PostgreSQL client tools)")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"{cmd[0]} failed: {done.stderr.strip()[:2000]}")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_cmd(path):
    """Write a consistent backup of the database to PATH."""
    backup(path)
    click.echo(f"backup written to {path} ({os.path.getsize(path)} bytes)")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="do not ask (the current data is replaced)")
@with_appcontext
def restore_cmd(path, yes):
    """Replace the database's contents with the backup at PATH (stop the app first)."""
    if not yes:
        click.confirm("This replaces every row of the current database. Continue?", abort=True)
    restore(path)
    click.echo(f"restored from {path}")
