"""Issue 13, tried as an attacker and an operator would, through the real pages (CSRF on,
SQLite and PostgreSQL): sign-in throttling and the same work for unknown names, sessions
that die, password rules and the forced change, headers, safe defaults, input at the
edges, the audit trail and the citizen's look-up."""
from __future__ import annotations

import io
import re
import statistics
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from config import secret_problems
from hotline import create_app
from hotline.audit.models import AuditEntry
from hotline.auth.models import User
from hotline.clock import now
from hotline.extensions import db
from hotline.tickets.models import Ticket
from tests.conftest import START, count
from tests.factories import PASSWORD, UserFactory, at
from tests.test_pages import csrf_token, login
from tests.test_workbench import intake_data, page

STRONG = "Qiu-shui-Lan-47-tian!"


def post_login(client, username, password, remember=False):
    html = client.get("/login").get_data(as_text=True)
    data = {"username": username, "password": password, "csrf_token": csrf_token(html)}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


def audit(action=None, **where):
    db.session.expire_all()
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    for k, v in where.items():
        stmt = stmt.where(getattr(AuditEntry, k) == v)
    return db.session.scalars(stmt).all()


def fresh_user(user_id):
    db.session.expire_all()
    return db.session.get(User, user_id)


def from_address(app, addr):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = addr
    return client


# --- sign-in throttling ------------------------------------------------------------------
def test_five_wrong_passwords_lock_the_account_without_hashing_and_it_is_audited(app, world, client):
    for _ in range(5):
        resp = post_login(client, "operator", "wrong-password")
        assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)
    resp = post_login(client, "operator", PASSWORD)  # the right password, but locked
    assert resp.status_code == 429 and "登录失败次数过多" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302
    # another address gets the same answer for this account
    assert post_login(from_address(app, "10.9.9.9"), "operator", PASSWORD).status_code == 429
    assert len(audit("login_failed", username="operator")) == 5
    assert len(audit("login_locked", username="operator")) == 1
    assert len(audit("login_refused_locked")) == 2
    # the window ends: the right password works again
    at(START + timedelta(seconds=app.config["LOGIN_LOCKOUT_SECONDS"]))
    assert post_login(client, "operator", PASSWORD).status_code == 302
    assert audit("login", username="operator")[0].address == "127.0.0.1"


def test_one_address_trying_many_names_is_refused_and_others_are_not(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", 4)
    attacker = from_address(app, "203.0.113.7")
    for name in ("a1", "a2", "operator", "a4"):
        assert post_login(attacker, name, "guess-guess").status_code == 401
    resp = post_login(attacker, "dispatcher", PASSWORD)
    assert resp.status_code == 429
    assert post_login(from_address(app, "198.51.100.2"), "dispatcher", PASSWORD).status_code == 302
    assert audit("login_locked")[0].detail["scope"] == "address"


def test_unknown_and_known_names_cost_the_same_hashing(app, world, client, monkeypatch):
    """Timing: with a deliberately slow hash, an unknown name takes as long as a known name
    with a wrong password (the dummy hash), so names cannot be told apart by timing."""
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:300000")
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ACCOUNT", 0)
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", 0)
    UserFactory(username="slowhash", unit=world.centre, roles=["operator"], password="whatever-it-is-1")
    db.session.commit()

    def timed(name):
        html = client.get("/login").get_data(as_text=True)
        data = {"username": name, "password": "not-it", "csrf_token": csrf_token(html)}
        t0 = time.perf_counter()
        resp = client.post("/login", data=data)
        assert resp.status_code == 401
        return time.perf_counter() - t0

    timed("nobody-here")  # the dummy hash is made once per process
    known = statistics.median(timed("slowhash") for _ in range(3))
    unknown = statistics.median(timed("nobody-at-all") for _ in range(3))
    assert known > 0.03, known  # the hash is what costs
    assert 0.5 < unknown / known < 2.0, (unknown, known)


# --- sessions ----------------------------------------------------------------------------
def copy_of(app, client):
    other = app.test_client()
    for cookie in client._cookies.values():
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return other


def test_a_copied_session_cookie_dies_at_logout(app, world, client):
    login(client, "dispatcher")
    thief = copy_of(app, client)
    assert thief.get("/").status_code == 200
    html = client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(html)})
    assert thief.get("/").status_code == 302 and "/login" in thief.get("/").headers["Location"]
    assert audit("logout", username="dispatcher")


def test_remember_me_cookie_is_samesite_httponly_and_short_and_dies_at_logout(app, world, client):
    resp = post_login(client, "dispatcher", PASSWORD, remember=True)
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
    expires = re.search(r"Expires=([^;]+)", cookie).group(1)
    from email.utils import parsedate_to_datetime
    days = (parsedate_to_datetime(expires).timestamp() - time.time()) / 86400
    assert 6 < days <= 7.01
    remembered = app.test_client()
    remembered.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert remembered.get("/").status_code == 200  # the cookie alone signs in
    html = client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(html)})
    later = app.test_client()
    later.set_cookie("remember_token", remembered.get_cookie("remember_token").value if
                     remembered.get_cookie("remember_token") else "x")
    assert later.get("/").status_code == 302


@pytest.mark.parametrize("change", ["password", "roles", "deactivate", "unit"])
def test_sessions_end_when_an_admin_changes_the_user(app, world, change):
    user_client = app.test_client()
    login(user_client, "dispatcher")
    assert user_client.get("/").status_code == 200
    admin = app.test_client()
    login(admin, "admin")
    data = dict(display_name="陈刚", unit_id=world.centre.id, roles=["dispatcher"], active="y")
    if change == "password":
        data["password"] = STRONG
    elif change == "roles":
        data["roles"] = ["dispatcher", "operator"]
    elif change == "deactivate":
        del data["active"]
    else:
        data["unit_id"] = world.district.id
    html = admin.get(f"/admin/users/{world.dispatcher.id}/edit").get_data(as_text=True)
    resp = admin.post(f"/admin/users/{world.dispatcher.id}/edit", data={"csrf_token": csrf_token(html), **data})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert user_client.get("/").status_code == 302
    update = audit("admin_update", object_type="users")[-1]
    assert update.username == "admin" and update.object_id == str(world.dispatcher.id)
    if change == "password":
        assert update.detail["password_hash"] == ["***", "***"]
        assert fresh_user(world.dispatcher.id).must_change_password
    if change == "deactivate":
        assert update.detail["active"] == [True, False]


def test_own_password_change_ends_other_sessions_keeps_this_one(app, world, client):
    login(client, "operator")
    other = app.test_client()
    login(other, "operator")
    html = client.get("/account/password").get_data(as_text=True)
    resp = client.post("/account/password", data={"csrf_token": csrf_token(html), "current_password": PASSWORD,
                                                   "new_password": STRONG, "confirm": STRONG})
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    assert post_login(app.test_client(), "operator", STRONG).status_code == 302
    assert audit("password_changed", username="operator")


# --- password rules and the forced change -----------------------------------------------
@pytest.mark.parametrize("password,message", [
    ("12345678", "至少 10 位"), ("password", "至少 10 位"), ("1234567890", "常见"),
    ("woaini1314", "常见"), ("zhangsan-2026-x", "用户名或姓名"), ("aaaaaaaaaaaa", "强度不足"),
])
def test_admin_cannot_give_a_weak_password(world, client, password, message):
    login(client, "admin")
    html = client.get("/admin/users/new").get_data(as_text=True)
    resp = client.post("/admin/users/new", data={
        "csrf_token": csrf_token(html), "username": "zhangsan", "display_name": "张三", "unit_id": world.centre.id,
        "roles": ["operator"], "password": password})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and message in body and 'value="zhangsan"' in body
    assert count(User, User.username == "zhangsan") == 0


def test_cli_and_self_service_follow_the_rules(app, world, client):
    result = app.test_cli_runner().invoke(args=["users", "create", "zhao", "--role", "operator",
                                                "--unit", "CENTRE", "--password", "zhao123456"])
    assert result.exit_code != 0 and "密码" in result.output
    login(client, "operator")
    html = client.get("/account/password").get_data(as_text=True)
    resp = client.post("/account/password", data={"csrf_token": csrf_token(html), "current_password": PASSWORD,
                                                   "new_password": "operator-1", "confirm": "operator-1"})
    assert resp.status_code == 400 and "用户名或姓名" in resp.get_data(as_text=True)
    assert fresh_user(world.operator.id).check_password(PASSWORD)


def test_admin_set_password_must_be_changed_at_first_sign_in(world, client):
    admin = client
    login(admin, "admin")
    html = admin.get("/admin/users/new").get_data(as_text=True)
    assert admin.post("/admin/users/new", data={
        "csrf_token": csrf_token(html), "username": "lisi", "display_name": "李四", "unit_id": world.centre.id,
        "roles": ["operator"], "password": STRONG}).status_code == 302
    created = audit("admin_create", object_type="users")
    assert created and created[0].detail["username"] == "lisi" and created[0].detail["password_hash"] == "***"
    from flask import Flask  # noqa: F401
    user_client = admin.application.test_client()
    resp = post_login(user_client, "lisi", STRONG)
    assert resp.status_code == 302 and "/account/password" in resp.headers["Location"]
    resp = user_client.get("/")
    assert resp.status_code == 302 and "/account/password" in resp.headers["Location"]
    html = user_client.get("/account/password").get_data(as_text=True)
    assert "请先设置您自己的新密码" in html
    new = "Lan-tian-Bai-yun-88?"
    resp = user_client.post("/account/password", data={"csrf_token": csrf_token(html), "current_password": STRONG,
                                                        "new_password": new, "confirm": new})
    assert resp.status_code == 302
    assert user_client.get("/").status_code == 200


# --- headers -----------------------------------------------------------------------------
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\s(on[a-z]+|style)\s*=", re.I)


def test_pages_carry_csp_and_protective_headers_and_no_inline_script_or_style(world, client):
    t = world.replied()
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in resp.headers["Cache-Control"]
    assert "Strict-Transport-Security" not in resp.headers  # plain HTTP in tests
    login(client, "admin")
    urls = ["/", f"/tickets/{t.id}", "/admin/", "/admin/users", "/admin/webhooks", "/admin/audit", "/status",
            "/account/password", "/reports/weekly", "/dashboard", "/api/v1/docs"]
    for role, extra in (("admin", []), ("operator", ["/intake/new", f"/tickets/{t.id}"]),
                        ("dispatcher", [f"/tickets/{t.id}", "/dashboard", "/reports/rates"])):
        c = client.application.test_client()
        login(c, role)
        for url in (urls if role == "admin" else extra):
            resp = c.get(url)
            if resp.status_code != 200:
                continue
            html = resp.get_data(as_text=True)
            assert "no-store" in resp.headers["Cache-Control"], url
            assert not INLINE_SCRIPT.search(html), (url, INLINE_SCRIPT.search(html).group(0))
            assert not INLINE_HANDLER.search(html), (url, INLINE_HANDLER.search(html).group(0))
    assert client.get("/static/hotline.js").headers.get("Cache-Control", "") != "no-store"


def test_hsts_under_production(app):
    prod = create_app("production", SECRET_KEY="k" * 8 + "2f9c1e7a4b6d8f0a1c3e5a7b9d1f3e5a",
                      SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    resp = prod.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.headers["Strict-Transport-Security"].startswith("max-age=")
    assert prod.config["SESSION_COOKIE_SECURE"] and prod.config["REMEMBER_COOKIE_SECURE"]
    assert not prod.debug


# --- safe defaults -----------------------------------------------------------------------
@pytest.mark.parametrize("secret", [None, "dev", "changeme", "testing", "short-secret-1", "a" * 40,
                                    "dev-" + "x1y2z3" * 6])
def test_production_refuses_short_or_known_secrets(app, monkeypatch, secret):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="refusing to start in production"):
        create_app("production", SECRET_KEY=secret, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])


def test_a_random_secret_is_fine_and_production_is_the_default(monkeypatch):
    import secrets

    from config import config_name
    assert secret_problems(secrets.token_hex(32)) == []
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    assert config_name() == "production"
    assert config_name({"HOTLINE_CONFIG": "development"}) == "development"


# --- input at the edges ------------------------------------------------------------------
def test_huge_ids_and_page_numbers_are_not_500(world, client):
    login(client, "dispatcher")
    assert client.get("/tickets/99999999999999999999").status_code == 404
    assert client.get("/tickets/2147483648").status_code == 404
    for bad in ("99999999999999999999", "2147483648", "0", "-1", "abc", "1.5"):
        resp = client.get(f"/tickets?page={bad}")
        assert resp.status_code == 400 and "页码无效" in resp.get_data(as_text=True), bad
    assert client.get("/callbacks?page=-99999999999999999999").status_code == 400
    assert client.get("/tickets?page=1").status_code == 200 and client.get("/tickets?page=").status_code == 200
    # a page past the last one is not found, on every kind of list
    for path in ("/tickets?page=500", "/tickets?page=500&after=1", "/callbacks?page=500", "/notifications?page=500", "/dispatch/queue?page=500"):
        assert client.get(path).status_code == 404, path
    resp = client.get("/no/such/page")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404 and "页面不存在" in html and "NOT_FOUND" not in html


def test_nul_byte_in_a_text_field_is_refused_in_chinese_with_the_input_kept(world, client):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    resp = client.post("/intake/new", data=intake_data(html, world, content="电梯\x00停运，请维修", title="电梯故障"))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "不能包含控制字符" in body and "幸福路 12 号" in body
    assert count(Ticket) == 0
    # a NUL in a search query string is no 500 either
    assert client.get("/?q=%00abc").status_code in (200, 400)


def test_upload_over_the_limit_is_refused_in_chinese_before_reading(app, world, client, monkeypatch):
    login(client, "operator")
    _, html = page(client, "/intake/new")
    assert '<meta name="upload-limit" content="%d">' % app.config["MAX_CONTENT_LENGTH"] in html
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 50_000)
    data = intake_data(html, world)
    data["attachments"] = (io.BytesIO(b"x" * 200_000), "big.jpg")
    resp = client.post("/intake/new", data=data, content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 413 and "提交的内容过大" in body and "Request Entity Too Large" not in body
    assert "data-restore-draft" in body and 'href="/intake/new"' in body
    assert count(Ticket) == 0


# --- audit trail -------------------------------------------------------------------------
def test_refusals_exports_and_admin_changes_are_audited_and_searchable(world, client):
    login(client, "operator")
    assert client.get("/admin/users").status_code == 403
    refused = audit("refused", username="operator")
    assert refused and refused[0].path == "/admin/users" and refused[0].address == "127.0.0.1"
    world.dispatched(caller_phone="13912345678")
    db.session.commit()
    other = client.application.test_client()
    login(other, "manager")
    resp = other.get("/tickets/export.csv?q=电梯")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    resp.get_data()
    download = audit("download", username="manager")
    assert download and download[0].object_id.startswith("tickets-") and download[0].detail == {"args": {"q": ["电梯"]}}
    admin = client.application.test_client()
    login(admin, "admin")
    html = admin.get("/admin/audit?action=refused").get_data(as_text=True)
    assert "越权被拒" in html and "/admin/users" in html and "operator" in html
    assert client.application.test_client().get("/admin/audit").status_code == 302  # not signed in


def test_audit_entries_cannot_be_changed_or_deleted(world, db_kind):
    from hotline.audit.services import record
    record("login", user=world.operator)
    db.session.commit()
    entry = audit("login")[0]
    entry.action = "logout"
    with pytest.raises(Exception):
        db.session.commit()
    db.session.rollback()
    for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        if db_kind == "sqlite" and sql.startswith("DELETE"):
            continue  # SQLite: no trigger on DELETE (the ORM guard and the pages only)
        with pytest.raises(sa.exc.DatabaseError):
            db.session.execute(sa.text(sql))
        db.session.rollback()
    assert audit("login")[0].action == "login"


def test_retention_purge_deletes_only_old_entries_and_is_recorded(app, world):
    from hotline.audit.services import record
    record("login", user=world.operator)
    db.session.commit()
    at(START + timedelta(days=app.config["AUDIT_RETENTION_DAYS"] + 1))
    record("login", user=world.dispatcher)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "purge"])
    assert result.exit_code == 0 and "deleted 1" in result.output
    assert [e.username for e in audit("login")] == ["dispatcher"] and audit("audit_purge")


def test_retention_is_an_admin_setting_and_the_daily_job_purges_by_it(app, world, client):
    from hotline.audit.services import record
    from hotline.scheduler import jobs

    login(client, "admin")
    html = client.get("/admin/process").get_data(as_text=True)
    assert 'name="audit_retention_days"' in html and f'value="{app.config["AUDIT_RETENTION_DAYS"]}"' in html
    data = {f.group(1): f.group(2) for f in re.finditer(r'<textarea[^>]*name="(\w+)"[^>]*>\s*(.*?)</textarea>', html, re.S)}
    data.update({"csrf_token": csrf_token(html), "signoff_enabled": "y", "signoff_min_level": "1",
                 "co_unit_days_before_lead": "1", "coordination_after_returns": "2", "fallback_unit_id": ""})
    refused = client.post("/admin/process", data={**data, "audit_retention_days": "-3"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "须为 0–36500 之间的整数" in body and 'value="-3"' in body
    assert client.post("/admin/process", data={**data, "audit_retention_days": "30"}).status_code == 302
    changed = audit("admin_create", object_type="settings") + audit("admin_update", object_type="settings")
    assert any(e.object_id == "audit_retention_days" for e in changed)

    record("login", user=world.operator)
    db.session.commit()
    old = len(audit())  # the admin's sign-in and change, and the operator's entry
    at(now() + timedelta(days=31))
    record("login", user=world.dispatcher)
    db.session.commit()
    assert jobs.JOBS["audit_purge"]() == {"retention_days": 30, "deleted": old} and "audit_purge" in app.config["JOB_INTERVALS"]
    db.session.commit()
    assert [e.username for e in audit("login")] == ["dispatcher"] and audit("audit_purge")


def test_users_and_tokens_made_on_the_command_line_are_audited(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "clerk2", "--role", "operator", "--unit", str(world.operator.unit_id),
                                 "--password", "Qz7!harbour-lantern"])
    assert result.exit_code == 0, result.output
    made = audit("cli_user_create")
    assert len(made) == 1 and made[0].detail["username"] == "clerk2" and made[0].detail["roles"] == ["operator"]
    assert made[0].username.startswith("cli:") and "password" not in str(made[0].detail)
    result = runner.invoke(args=["users", "token", "clerk2", "--name", "cti"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    made = audit("cli_token_create")
    assert len(made) == 1 and made[0].detail == {"user": "clerk2", "name": "cti"} and token not in str(made[0].detail)


# --- the citizen's look-up ---------------------------------------------------------------
def status(client, number, tail):
    html = client.get("/status").get_data(as_text=True)
    return client.post("/status", data={"csrf_token": csrf_token(html), "number": number, "phone_tail": tail})


def test_others_failing_on_a_number_never_lock_out_the_citizen(app, world):
    t = world.dispatched(caller_phone="13912345678")
    db.session.commit()
    answers = [status(from_address(app, f"10.0.0.{i}"), t.number, f"{i:04d}").status_code for i in range(10)]
    # the guesses from many addresses are slowed down (back-off) once three addresses failed
    assert answers[:3] == [200] * 3 and set(answers[3:]) == {429}
    citizen = from_address(app, "192.0.2.55")
    resp = status(citizen, t.number, "5678")
    if resp.status_code == 429:  # a back-off of seconds, not a ten-minute lock
        wait = int(resp.headers["Retry-After"])
        assert wait <= 300 and "秒后再试" in resp.get_data(as_text=True)
        at(now() + timedelta(seconds=wait))
        resp = status(citizen, t.number, "5678")
    assert resp.status_code == 200 and "办理中" in resp.get_data(as_text=True)


def test_one_address_guessing_one_number_is_stopped_the_citizen_elsewhere_is_not(app, world):
    t = world.dispatched(caller_phone="13912345678")
    db.session.commit()
    guesser = from_address(app, "10.1.1.1")
    for i in range(5):
        assert status(guesser, t.number, f"{i:04d}").status_code == 200
    assert status(guesser, t.number, "5678").status_code == 429
    assert status(from_address(app, "192.0.2.56"), t.number, "5678").status_code == 200
