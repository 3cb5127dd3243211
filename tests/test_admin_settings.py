"""The admin settings page (系统设置) through the test client with CSRF on: renaming the
supervision levels shows the new names wherever a level is shown; blank means the
default; a name over 20 characters is refused in Chinese with the input kept; only
admins may open or post it."""
import re

import pytest
import sqlalchemy as sa

from hotline.admin.models import Setting
from hotline.extensions import db
from hotline.supervision.levels import SETTING_KEY, level_names
from hotline.supervision.models import SupervisionCase
from tests import svc
from tests.conftest import count
from tests.test_admin_pages import html_of, submit
from tests.test_pages import csrf_token, login

RENAMED = dict(level_1="一级督办", level_2="二级督办", level_3="三级督办")


@pytest.fixture
def admin(world, client):
    login(client, "admin")
    return client


def open_case(world):
    """A reviewed ticket called back 不满意 (judged reasonable): reopened, with a level-1 case."""
    t = world.reviewed()
    svc.record_callback(t.id, world.callback_agent, t.version, reached=True, resolution="unresolved",
                        satisfaction="unsatisfied", citizen_words="没修好")
    return t, db.session.scalars(sa.select(SupervisionCase)).one()


def test_admin_renames_the_levels_and_every_page_shows_them(admin, world):
    t, case = open_case(world)
    page = html_of(admin.get("/admin/settings"))
    assert "督办级别名称" in page and 'placeholder="单位主责"' in page and "系统设置" in page

    resp = submit(admin, "/admin/settings", RENAMED)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/settings")
    page = html_of(admin.get("/admin/settings"))
    assert "已保存督办级别名称：一级督办、二级督办、三级督办" in page
    assert 'value="一级督办"' in page and 'value="三级督办"' in page
    db.session.expire_all()
    assert level_names() == {1: "一级督办", 2: "二级督办", 3: "三级督办"}

    supervisor = admin.application.test_client()
    login(supervisor, "supervisor")
    listing = html_of(supervisor.get("/supervision"))
    assert f'href="/supervision/{case.id}"' in listing and "<td>一级督办</td>" in listing
    assert "二级督办" in listing and "三级督办" in listing and "单位主责" not in listing
    case_page = html_of(supervisor.get(f"/supervision/{case.id}"))
    assert '<span class="muted">一级督办</span>' in case_page and "单位主责" not in case_page
    ticket_page = html_of(supervisor.get(f"/tickets/{t.id}"))
    assert re.search(rf'href="/supervision/{case.id}">[^<]*</a>（一级督办，期限', ticket_page)
    assert "单位主责" not in ticket_page


def test_a_blank_name_means_the_default(admin, world):
    assert submit(admin, "/admin/settings", RENAMED).status_code == 302
    assert submit(admin, "/admin/settings", dict(RENAMED, level_2="  ")).status_code == 302
    db.session.expire_all()
    assert level_names() == {1: "一级督办", 2: "处室督导", 3: "三级督办"}
    page = html_of(admin.get("/admin/settings"))
    assert 'name="level_2" placeholder="处室督导" type="text" value=""' in page


def test_a_too_long_name_is_refused_in_chinese_and_kept(admin, world):
    too_long = "市委市政府督查室" * 3  # 24 characters
    resp = submit(admin, "/admin/settings", dict(RENAMED, level_3=too_long))
    html = html_of(resp)
    assert resp.status_code == 400
    assert "督办级别名称不能超过 20 个字" in html
    assert f'value="{too_long}"' in html and 'value="一级督办"' in html
    assert count(Setting, Setting.key == SETTING_KEY) == 0
    db.session.expire_all()
    assert level_names() == {1: "单位主责", 2: "处室督导", 3: "委级统筹"}


def test_without_a_csrf_token_nothing_is_saved(admin, world):
    resp = admin.post("/admin/settings", data=RENAMED)
    assert resp.status_code == 400
    assert count(Setting, Setting.key == SETTING_KEY) == 0


@pytest.mark.parametrize("username", ["supervisor", "manager"])
def test_non_admin_gets_403_and_changes_nothing(world, client, username):
    login(client, username)
    token = csrf_token(html_of(client.get("/")))
    assert client.get("/admin/settings").status_code == 403
    assert client.post("/admin/settings", data={"csrf_token": token, **RENAMED}).status_code == 403
    assert count(Setting, Setting.key == SETTING_KEY) == 0
    assert level_names()[1] == "单位主责"
