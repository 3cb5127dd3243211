"""`flask` commands: users, demo data."""
import click
from flask import Flask
from flask.cli import AppGroup

from hotline.enums import Role
from hotline.errors import DomainError

users_cli = AppGroup("users", help="管理用户 / manage users")
demo_cli = AppGroup("demo", help="演示数据 / demo data")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]), help="role (repeat for several)")
@click.option("--unit", required=True, help="unit code, name or id")
@click.option("--name", "display_name", default=None, help="display name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_cmd(username, roles, unit, display_name, password):
    """Create a user NAME with one or more roles in a unit."""
    from hotline.auth.services import create_user, find_unit

    found = find_unit(unit)
    if found is None:
        raise click.ClickException(f"unit not found: {unit}")
    try:
        user = create_user(username, password, roles, found, display_name)
    except DomainError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"created user {user.username} ({', '.join(sorted(r.value for r in user.roles))}) in {found.name}")


@demo_cli.command("load")
@click.option("--tickets", default=200, show_default=True, help="how many demo tickets")
@click.option("--seed", default=12345, show_default=True)
def demo_load_cmd(tickets, seed):
    """Load a small realistic city with users of every role and tickets in every state."""
    from hotline.demo.loader import load_demo

    summary = load_demo(tickets=tickets, seed=seed, echo=click.echo)
    click.echo(summary)


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
