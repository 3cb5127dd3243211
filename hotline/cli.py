"""`flask` commands: users, demo data, jobs, the scheduler, reports. Each command is a
boundary: what it changes is committed once, at its end (or inside the job runner)."""
import getpass
import logging
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup

import sqlalchemy as sa

from hotline.api.auth import create_token
from hotline.api.errors import ApiError
from hotline.audit.services import record
from hotline.auth.models import User
from hotline.auth.services import create_user, find_unit
from hotline.clock import clock, now
from hotline.demo.loader import load_demo
from hotline.enums import Role
from hotline.errors import DomainError
from hotline.extensions import db
from hotline.lifecycle.uow import unit_of_work
from hotline.reports.periods import LAST_FINISHED
from hotline.reports.snapshots import generate_report
from hotline.scheduler.jobs import JOBS
from hotline.scheduler.runner import run_job, run_scheduler

users_cli = AppGroup("users", help="管理用户 / manage users")
demo_cli = AppGroup("demo", help="演示数据 / demo data")
jobs_cli = AppGroup("jobs", help="定时任务 / scheduled jobs")
scheduler_cli = AppGroup("scheduler", help="调度进程 / the scheduler process")
reports_cli = AppGroup("reports", help="报表 / reports")


def _generate(kind: str, key: str | None, force: bool, reason: str) -> None:
    try:
        with unit_of_work():
            row = generate_report(kind, key or LAST_FINISHED[kind](now()), force=force,
                                  reason=reason or ("命令行重新生成" if force else ""))
    except DomainError as err:
        raise click.ClickException(err.message) from None
    city = row.data["city"]["values"]
    click.echo(f"{kind} report {row.period} revision {row.revision} ({row.start:%Y-%m-%d} - {row.end:%Y-%m-%d}, "
               f"as of {row.as_of:%Y-%m-%d %H:%M}), generated {row.generated_at:%Y-%m-%d %H:%M}: "
               f"received {city['received']}, overdue {city['overdue_now']}, overdue list {len(row.data['overdue'])}")


@reports_cli.command("weekly")
@click.option("--week", default=None, help="ISO week, e.g. 2026-W48 (default: last week)")
@click.option("--force", is_flag=True, help="store a new revision beside the earlier ones")
@click.option("--reason", default="", help="why it is regenerated (kept with the revision)")
def reports_weekly_cmd(week, force, reason):
    """Generate and store the weekly report (as of the end of the week, whenever it is run)."""
    _generate("weekly", week, force, reason)


@reports_cli.command("monthly")
@click.option("--month", default=None, help="month, e.g. 2026-11 (default: last month)")
@click.option("--force", is_flag=True, help="store a new revision beside the earlier ones")
@click.option("--reason", default="", help="why it is regenerated (kept with the revision)")
def reports_monthly_cmd(month, force, reason):
    """Generate and store the monthly bulletin (月度通报)."""
    _generate("monthly", month, force, reason)


def _cli_actor() -> str:
    """Who ran a command, for the audit trail: the operating-system account."""
    try:
        return "cli:" + getpass.getuser()
    except Exception:  # no passwd entry (some containers)
        return "cli:?"


@users_cli.command("token")
@click.argument("username")
@click.option("--name", default="", help="what the token is for, e.g. cti-switch (default: the user name)")
def users_token_cmd(username, name):
    """Create an API token acting as USERNAME; it is printed once and stored hashed."""
    with unit_of_work():
        user = db.session.scalars(sa.select(User).where(User.username == username)).first()
        if user is None or not user.active:
            raise click.ClickException(f"用户 {username} 不存在或已停用")
        try:
            row, text = create_token(user, name or username)
        except ApiError as err:
            raise click.ClickException(err.message) from None
        record("cli_token_create", username=_cli_actor(), object_type="api_tokens", object_id=row.id,
               detail={"user": username, "name": row.name})
    click.echo(f"token {row.prefix}… for {username} ({row.name}); shown once, keep it safe:")
    click.echo(text)


@users_cli.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]), help="role (repeat for several)")
@click.option("--unit", required=True, help="unit code, name or id")
@click.option("--name", "display_name", default=None, help="display name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_cmd(username, roles, unit, display_name, password):
    """Create a user NAME with one or more roles in a unit."""
    found = find_unit(unit)
    if found is None:
        raise click.ClickException(f"unit not found: {unit}")
    try:
        with unit_of_work():
            user = create_user(username, password, roles, found, display_name)
            db.session.flush()
            record("cli_user_create", username=_cli_actor(), object_type="users", object_id=user.id,
                   detail={"username": user.username, "roles": sorted(r.value for r in user.roles),
                           "unit": found.name})
    except DomainError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"created user {user.username} ({', '.join(sorted(r.value for r in user.roles))}) in {found.name}")


@demo_cli.command("load")
@click.option("--tickets", default=200, show_default=True, help="how many demo tickets")
@click.option("--seed", default=12345, show_default=True)
def demo_load_cmd(tickets, seed):
    """Load a small realistic city with users of every role and tickets in every state."""
    summary = load_demo(tickets=tickets, seed=seed, echo=click.echo)
    click.echo(summary)


@jobs_cli.command("list")
def jobs_list_cmd():
    """List the scheduled jobs and their intervals."""
    intervals = current_app.config["JOB_INTERVALS"]
    for name, fn in JOBS.items():
        every = f"every {intervals[name]} s" if name in intervals else "Mondays 08:00"
        doc = (fn.__doc__ or "").strip().splitlines()[0]
        click.echo(f"{name:16s} {every:18s} {doc}")


@jobs_cli.command("run")
@click.argument("name")
@click.option("--at", "at", default=None, help='run as if now were "YYYY-MM-DD HH:MM" (local time)')
def jobs_run_cmd(name, at):
    """Run one job once, now or as if now were --at."""
    if name not in JOBS:
        raise click.ClickException(f"unknown job {name}; see `flask jobs list`")
    moment = None
    if at:
        try:
            moment = datetime.strptime(at, "%Y-%m-%d %H:%M")
        except ValueError:
            raise click.ClickException('--at takes "YYYY-MM-DD HH:MM"') from None
        clock.set(moment)
    try:
        result = run_job(current_app._get_current_object(), name, at=moment)
    finally:
        if at:
            clock.reset()
    click.echo(f"{name}: {result}")


@scheduler_cli.command("run")
def scheduler_run_cmd():
    """Run the scheduler in the foreground (leader election on PostgreSQL)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    run_scheduler(current_app._get_current_object())


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(reports_cli)
