"""The admin's counting definitions page (统计口径) through the test client with CSRF on:
the defaults are shown with the formulas they mean; valid values are stored and the
formulas follow; a broken rule is refused in Chinese with the input kept and nothing
stored; only admins may open or post it."""
import pytest

from hotline.admin.models import Setting
from hotline.extensions import db
from hotline.reports.definitions import DEFAULT, KEY, Definitions, current
from tests.conftest import count
from tests.test_admin_pages import html_of, submit
from tests.test_pages import csrf_token, login

URL = "/admin/report-definitions"
VALID = dict(sign_returns="include", close_basis="round", callback_pick="first", basic_weight="0.8",
             weight_sign_rate="0.6", weight_contact_rate="0.4", weight_close_rate="0", overdue_days="started",
             repeat_days="14")
DEFAULTS = dict(sign_returns="exclude", close_basis="first", callback_pick="final", basic_weight="1",
                weight_sign_rate="0.5", weight_contact_rate="0.5", weight_close_rate="0", overdue_days="whole",
                repeat_days="30")


@pytest.fixture
def admin(world, client):
    login(client, "admin")
    return client


def nothing_stored():
    db.session.expire_all()
    return count(Setting, Setting.key == KEY) == 0 and current() == DEFAULT


def test_the_page_shows_the_defaults_and_the_formulas_they_mean(admin):
    html = html_of(admin.get(URL))
    assert "<h1>统计口径</h1>" in html
    for name in ("sign_returns", "close_basis", "callback_pick", "overdue_days"):
        assert f'<input checked id="{name}-0" name="{name}" type="radio" value="{DEFAULTS[name]}">' in html
        assert f'<label for="{name}-0">' in html
    for name in ("basic_weight", "weight_sign_rate", "weight_contact_rate", "weight_close_rate"):
        assert f'name="{name}" required type="text" value="{DEFAULTS[name]}"' in html
    assert 'name="repeat_days" required type="number" value="30"' in html
    assert "<legend>按时签收率：按时退回的派件</legend>" in html
    assert "<label>响应率中按时办结率的权重" in html
    assert "响应率 = 50% × 按时签收率 + 50% × 联系率" in html
    assert "满意率 = （满意 + 基本满意） ÷ 回访联系上的工单（每张工单按本期最后一次回访）" in html
    assert "同一号码 30 天内再次来电" in html


def test_the_admin_menus_link_the_page(admin):
    for page in ("/admin/", "/admin/process"):
        assert f'href="{URL}"' in html_of(admin.get(page))
    assert f'<a href="{URL}" class="active">统计口径</a>' in html_of(admin.get(URL))


def test_valid_definitions_are_stored_and_the_formulas_follow(admin):
    resp = submit(admin, URL, VALID)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(URL)
    db.session.expire_all()
    assert current() == Definitions(sign_returns="include", close_basis="round", callback_pick="first",
                                    basic_weight="0.8", response_weights={"sign_rate": "0.6", "contact_rate": "0.4"},
                                    overdue_days="started", repeat_days=14)
    html = html_of(admin.get(URL))
    assert "统计口径已保存" in html
    assert "响应率 = 60% × 按时签收率 + 40% × 联系率" in html
    assert "满意率 = （满意 + 0.8 × 基本满意） ÷ 回访联系上的工单（每张工单按本期第一次回访）" in html
    assert "按时退单也计入应签收" in html and "不满一个工作日也计一天" in html and "同一号码 14 天内再次来电" in html
    assert 'name="basic_weight" required type="text" value="0.8"' in html
    assert '<input checked id="close_basis-1" name="close_basis" type="radio" value="round">' in html


def test_a_weight_of_zero_takes_a_rate_out_of_the_response_rate(admin):
    change = dict(weight_sign_rate="0", weight_contact_rate="1", weight_close_rate="3")
    assert submit(admin, URL, dict(VALID, **change)).status_code == 302
    db.session.expire_all()
    assert current().response_weights == {"contact_rate": "1", "close_rate": "3"}
    assert "响应率 = 25% × 联系率 + 75% × 按时办结率（" in html_of(admin.get(URL))


@pytest.mark.parametrize("change, message, kept", [
    (dict(basic_weight="1.5"), "基本满意权重应为 0 到 1 之间的数", 'value="1.5"'),
    (dict(weight_sign_rate="0", weight_contact_rate="0"), "响应率至少要由一项比率组成（权重大于 0）",
     'name="weight_contact_rate" required type="text" value="0"'),
    (dict(weight_contact_rate="-0.2"), "联系率的权重不能为负数", 'value="-0.2"'),
    (dict(repeat_days="0"), "重复来电的天数应在 1 到 365 之间", 'name="repeat_days" required type="number" value="0"'),
    (dict(basic_weight="八成"), "须为数字（至多 4 位小数），如 0.8", 'value="八成"'),
    (dict(repeat_days="两周"), "不是有效的整数", 'value="两周"'),
    (dict(overdue_days="hours"), "不是有效的选择", "超期天数"),
], ids=["basic-over-1", "all-weights-0", "negative-weight", "repeat-0", "basic-not-a-number",
        "repeat-not-a-number", "unknown-choice"])
def test_invalid_definitions_are_refused_in_chinese_with_the_input_kept(admin, change, message, kept):
    resp = submit(admin, URL, dict(VALID, **change))
    html = html_of(resp)
    assert resp.status_code == 400
    assert message in html and kept in html
    assert '<input checked id="sign_returns-1" name="sign_returns" type="radio" value="include">' in html
    assert "响应率 = 50% × 按时签收率 + 50% × 联系率" in html  # the formulas in force are unchanged
    assert nothing_stored()


def test_without_a_csrf_token_nothing_is_stored(admin):
    assert admin.post(URL, data=VALID).status_code == 400
    assert nothing_stored()


@pytest.mark.parametrize("username", ["dispatcher", "supervisor", "manager"])
def test_non_admin_gets_403_and_changes_nothing(world, client, username):
    login(client, username)
    token = csrf_token(html_of(client.get("/")))
    assert client.get(URL).status_code == 403
    assert client.post(URL, data={"csrf_token": token, **VALID}).status_code == 403
    assert nothing_stored()
