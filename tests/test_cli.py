"""`flask users create` through the real CLI runner."""
import sqlalchemy as sa

from hotline.auth.models import User
from hotline.enums import Role
from hotline.extensions import db


def test_users_create_with_two_roles(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "wang", "--role", "dispatcher", "--role", "callback_agent",
                                 "--unit", "CENTRE", "--password", "long-enough-1"])
    assert result.exit_code == 0, result.output
    user = db.session.scalars(sa.select(User).where(User.username == "wang")).one()
    assert user.roles == {Role.DISPATCHER, Role.CALLBACK_AGENT}
    assert user.unit.code == "CENTRE"
    assert user.check_password("long-enough-1") and user.password_hash != "long-enough-1"


def test_users_create_asks_for_password(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "li", "--role", "unit_staff", "--unit", "东城区人民政府"],
                           input="pass-word-9\npass-word-9\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalars(sa.select(User).where(User.username == "li")).one().unit.code == "D1"


def test_users_create_refuses_unknown_unit_and_duplicate_name(app, world):
    runner = app.test_cli_runner()
    bad_unit = runner.invoke(args=["users", "create", "zhao", "--role", "operator", "--unit", "NOPE",
                                   "--password", "long-enough-1"])
    assert bad_unit.exit_code != 0 and "unit not found" in bad_unit.output
    dup = runner.invoke(args=["users", "create", "operator", "--role", "operator", "--unit", "CENTRE",
                              "--password", "long-enough-1"])
    assert dup.exit_code != 0 and "已存在" in dup.output
    short = runner.invoke(args=["users", "create", "qian", "--role", "operator", "--unit", "CENTRE",
                                "--password", "short"])
    assert short.exit_code != 0 and "至少 10 位" in short.output
