"""API tokens: created by the admin page or the CLI, shown once, stored hashed, last use
recorded, revoked tokens refused."""
from datetime import datetime

import sqlalchemy as sa

from hotline.api.auth import digest
from hotline.api.models import ApiToken
from hotline.extensions import db
from tests.factories import at
from tests.test_pages import csrf_token, login


def _create(client, user_id, name):
    page = client.get("/admin/api-tokens").get_data(as_text=True)
    return client.post("/admin/api-tokens", data={"user_id": user_id, "name": name, "csrf_token": csrf_token(page)})


def test_admin_creates_lists_and_revokes_a_token(world, client):
    login(client, "admin")
    resp = _create(client, world.operator.id, "CTI 交换机")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "请立即复制保存" in html and resp.headers["Cache-Control"] == "no-store"
    token = html.split('<code class="token">')[1].split("</code>")[0]
    row = db.session.scalars(sa.select(ApiToken)).one()
    assert row.token_hash == digest(token) and token not in (row.token_hash, row.prefix)  # only the digest is kept
    assert row.user_id == world.operator.id and row.created_by_id == world.admin.id
    # it works, and its use is recorded
    at(datetime(2026, 11, 23, 10, 0))
    api = client.application.test_client()
    assert api.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    r = api.get("/api/v1/tickets/12345-00000000-000000", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404 and r.json["error"]["code"] == "NOT_FOUND"
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at == datetime(2026, 11, 23, 10, 0)
    listing = client.get("/admin/api-tokens").get_data(as_text=True)
    assert row.prefix in listing and "CTI 交换机" in listing and token not in listing
    # revoked: refused at once
    page = client.get("/admin/api-tokens").get_data(as_text=True)
    assert client.post(f"/admin/api-tokens/{row.id}/revoke", data={"csrf_token": csrf_token(page)}).status_code == 302
    r = api.get("/api/v1/tickets/12345-00000000-000000", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json["error"]["code"] == "INVALID_TOKEN"


def test_bad_input_and_other_roles_are_refused(world, client):
    login(client, "admin")
    resp = _create(client, world.operator.id, "")
    assert resp.status_code == 400 and "请填写用途" in resp.get_data(as_text=True)
    assert client.post(f"/admin/api-tokens/1/revoke", data={}).status_code == 400  # no CSRF token
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_only_the_admin_manages_tokens(world, client):
    login(client, "dispatcher")
    assert client.get("/admin/api-tokens").status_code == 403


def test_cli_creates_a_token_for_a_user(app, world):
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["users", "token", "operator", "--name", "网站"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("hl_")
    row = db.session.scalars(sa.select(ApiToken).where(ApiToken.token_hash == digest(token))).one()
    assert row.name == "网站" and row.user.username == "operator"
    bad = app.test_cli_runner().invoke(args=["users", "token", "nobody"])
    assert bad.exit_code != 0 and "不存在" in bad.output


def test_missing_and_malformed_tokens_are_401(world, client):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}, {"Authorization": "Bearer nope"}):
        r = client.get("/api/v1/tickets/X", headers=headers)
        assert r.status_code == 401 and r.json["error"]["code"] in ("UNAUTHENTICATED", "INVALID_TOKEN")
