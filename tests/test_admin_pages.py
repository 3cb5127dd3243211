"""The admin pages through the test client with CSRF on: each section creates and edits,
refuses bad input in Chinese while keeping what was typed, and is closed to non-admins."""
import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from hotline.admin.services.organisation import create_unit
from hotline.admin.services.taxonomy import create_category, save_article, save_routing_rule
from hotline.categories.models import Category
from hotline.admin.models import Setting
from hotline.units.models import Unit
from hotline.admin.services.settings import get_setting
from hotline.auth.models import User
from hotline.auth.services import create_user
from hotline.deadlines.models import CalendarYear, HolidayOverride, TimeLimitPolicy
from hotline.deadlines.services import calendar, forget_calendar, limit_for
from hotline.enums import DeadlineClock, LimitUnit, RequestType, Role, Urgency
from hotline.extensions import db
from hotline.intake.models import KnowledgeArticle
from hotline.lifecycle import unit_of_work
from hotline.routing.models import RoutingRule
from tests.conftest import START, count
from tests.test_pages import csrf_token, login


def html_of(resp) -> str:
    return resp.get_data(as_text=True)


def submit(client, url, data, form_page=None):
    """Open the page holding the form, then post it with that page's CSRF token."""
    page = client.get(form_page or url)
    assert page.status_code == 200, html_of(page)
    return client.post(url, data={"csrf_token": csrf_token(html_of(page)), **data})


def fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


@pytest.fixture
def admin(world, client):
    login(client, "admin")
    return client


# --- access ---------------------------------------------------------------------------
ADMIN_URLS = ["/admin/", "/admin/users", "/admin/users/new", "/admin/units", "/admin/units/new",
              "/admin/categories", "/admin/categories/new", "/admin/routing", "/admin/routing/new",
              "/admin/time-limits", "/admin/holidays", "/admin/holidays/new", "/admin/knowledge",
              "/admin/knowledge/new", "/admin/settings"]


def test_admin_sees_every_section_and_the_nav_link(admin):
    home = html_of(admin.get("/"))
    assert 'href="/admin/"' in home and "系统管理" in home
    for url in ADMIN_URLS:
        resp = admin.get(url)
        assert resp.status_code == 200, url
    index = html_of(admin.get("/admin/"))
    for label in ("用户管理", "单位管理", "分类管理", "派单规则", "时限策略", "节假日", "知识库", "系统设置"):
        assert label in index


@pytest.mark.parametrize("username", ["dispatcher", "d1staff"])
def test_non_admin_gets_403_and_changes_nothing(world, client, username):
    login(client, username)
    home = html_of(client.get("/"))
    assert 'href="/admin/"' not in home
    token = csrf_token(home)
    for url in ADMIN_URLS:
        assert client.get(url).status_code == 403, url
    posts = {
        "/admin/users/new": dict(username="intruder", display_name="x", unit_id=world.centre.id,
                                 roles=["admin"], password="long-enough-1"),
        f"/admin/users/{world.admin.id}/edit": dict(display_name="x", unit_id=world.centre.id, roles=["operator"]),
        "/admin/units/new": dict(code="X1", name="x", kind="department", parent_id=world.centre.id, active="y"),
        f"/admin/units/{world.street.id}/edit": dict(code="D1S1", name="x", kind="street",
                                                     parent_id=world.other_district.id, active="y"),
        "/admin/categories/new": dict(code="X", name="x"),
        f"/admin/categories/{world.category.id}/deactivate": {},
        "/admin/routing/new": dict(category_id=world.category.id, lead_unit_id=world.housing.id),
        "/admin/routing/settings": dict(auto_dispatch="y"),
        "/admin/time-limits": {},
        "/admin/holidays/new": dict(day="2026-11-24", is_workday="0", name="x"),
        "/admin/holidays/years/2027": dict(confirmed="1"),
        "/admin/knowledge/new": dict(title="x", body="x"),
        "/admin/settings": dict(level_1="x", level_2="x", level_3="x"),
    }
    before = (count(User), count(Unit), count(Category), count(RoutingRule), count(Setting),
              count(HolidayOverride), count(CalendarYear), count(KnowledgeArticle))
    for url, data in posts.items():
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    after = (count(User), count(Unit), count(Category), count(RoutingRule), count(Setting),
             count(HolidayOverride), count(CalendarYear), count(KnowledgeArticle))
    assert after == before
    assert fresh(Unit, world.street.id).parent_id == world.district.id
    assert fresh(Category, world.category.id).active
    assert Role.ADMIN in fresh(User, world.admin.id).roles


def test_anonymous_is_sent_to_login(world, client):
    resp = client.get("/admin/users")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --- users ----------------------------------------------------------------------------
def test_admin_creates_and_edits_a_user(admin, world):
    resp = submit(admin, "/admin/users/new", dict(
        username="zhangsan", display_name="张三", unit_id=world.district.id,
        roles=["unit_staff", "supervisor"], password="new-pass-123"))
    assert resp.status_code == 302
    listing = html_of(admin.get("/admin/users?q=zhang"))
    assert "张三" in listing and "东城区人民政府" in listing and "承办单位工作人员" in listing and "督办人员" in listing

    user = db.session.scalar(sa.select(User).where(User.username == "zhangsan"))
    resp = submit(admin, f"/admin/users/{user.id}/edit", dict(
        display_name="张三丰", unit_id=world.street.id, roles=["unit_staff"], active="y", password="reset-pass-456"))
    assert resp.status_code == 302
    user = fresh(User, user.id)
    assert (user.display_name, user.unit_id, user.active) == ("张三丰", world.street.id, True)
    assert user.roles == {Role.UNIT_STAFF}
    assert user.check_password("reset-pass-456")

    resp = submit(admin, f"/admin/users/{user.id}/edit", dict(
        display_name="张三丰", unit_id=world.street.id, roles=["unit_staff"]))  # active unchecked, no password
    assert resp.status_code == 302
    user = fresh(User, user.id)
    assert not user.active and user.check_password("reset-pass-456")
    assert "已停用" in html_of(admin.get("/admin/users?q=zhangsan"))


def test_user_form_errors_are_chinese_and_keep_input(admin, world):
    resp = submit(admin, "/admin/users/new", dict(
        username="lisi", display_name="李四", unit_id=world.district.id, roles=["operator"], password="short"))
    html = html_of(resp)
    assert resp.status_code == 400
    assert "密码至少 10 位" in html and 'value="lisi"' in html and 'value="李四"' in html

    resp = submit(admin, "/admin/users/new", dict(
        username="operator", display_name="重复的人", unit_id=world.district.id, roles=["operator"],
        password="long-enough-1"))
    html = html_of(resp)
    assert resp.status_code == 400
    assert "用户名 operator 已存在" in html and 'value="重复的人"' in html

    resp = submit(admin, "/admin/users/new", dict(
        username="wangwu", display_name="王五", unit_id=world.district.id, password="long-enough-1"))
    assert "至少选择一个角色" in html_of(resp)
    assert count(User, User.username.in_(["lisi", "wangwu"])) == 0


def test_last_admin_cannot_drop_the_admin_role(admin, world):
    resp = submit(admin, f"/admin/users/{world.admin.id}/edit", dict(
        display_name="admin", unit_id=world.centre.id, roles=["operator"], active="y"))
    assert resp.status_code == 400
    assert "至少需要一名启用的系统管理员" in html_of(resp)
    assert fresh(User, world.admin.id).roles == {Role.ADMIN}


# --- units ----------------------------------------------------------------------------
def test_admin_creates_a_unit_with_derived_level_and_path(admin, world):
    resp = submit(admin, "/admin/units/new", dict(
        code="D1S2", name="东四街道办事处", kind="street", parent_id=world.district.id,
        supervisor_id="", email="ds@example.gov.cn", active="y"))
    assert resp.status_code == 302
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "D1S2"))
    assert unit.level == 3 and unit.path == f"{world.district.path}{unit.id}/"
    assert "东四街道办事处" in html_of(admin.get("/admin/units"))

    resp = submit(admin, f"/admin/units/{unit.id}/edit", dict(
        code="D1S2", name="东四街道", kind="street", parent_id=world.district.id,
        supervisor_id=world.housing.id, email="", active="y"))
    assert resp.status_code == 302
    unit = fresh(Unit, unit.id)
    assert (unit.name, unit.supervisor_id, unit.email) == ("东四街道", world.housing.id, None)


def test_unit_errors_are_chinese_and_keep_input(admin, world):
    resp = submit(admin, "/admin/units/new", dict(
        code="D1", name="重复编码单位", kind="district", parent_id=world.centre.id, active="y"))
    html = html_of(resp)
    assert resp.status_code == 400 and "单位编码 D1 已被使用" in html and 'value="重复编码单位"' in html

    resp = submit(admin, "/admin/units/new", dict(
        code="TOO-DEEP", name="第五级", kind="community", parent_id=world.community.id, active="y"))
    html = html_of(resp)
    assert resp.status_code == 400 and "最多 4 级" in html and 'value="TOO-DEEP"' in html
    assert count(Unit, Unit.code == "TOO-DEEP") == 0


def test_moving_a_unit_recomputes_its_subtree(admin, world):
    street, community, other = world.street, world.community, world.other_district
    resp = submit(admin, f"/admin/units/{street.id}/edit", dict(
        code="D1S1", name="东华街道办事处", kind="street", parent_id=other.id, active="y"))
    assert resp.status_code == 302
    street, community = fresh(Unit, street.id), db.session.get(Unit, community.id)
    assert street.path == f"{other.path}{street.id}/" and street.level == 3
    assert community.path == f"{street.path}{community.id}/" and community.level == 4
    assert community.is_within(other) and not community.is_within(world.district)

    # a level-2 leaf moved under a street becomes level 4
    resp = submit(admin, f"/admin/units/{world.water.id}/edit", dict(
        code="WATER", name="市自来水公司", kind="enterprise", parent_id=street.id, active="y"))
    assert resp.status_code == 302
    water = fresh(Unit, world.water.id)
    assert (water.level, water.path) == (4, f"{street.path}{water.id}/")


def test_unit_cannot_become_its_own_descendant_or_too_deep(admin, world):
    resp = submit(admin, f"/admin/units/{world.district.id}/edit", dict(
        code="D1", name="东城区人民政府", kind="district", parent_id=world.community.id, active="y"))
    assert resp.status_code == 400 and "不能把单位移到它自己或它的下级单位之下" in html_of(resp)

    # the district's subtree is 3 levels deep: under a level-2 unit it would reach level 5
    resp = submit(admin, f"/admin/units/{world.district.id}/edit", dict(
        code="D1", name="东城区人民政府", kind="district", parent_id=world.housing.id, active="y"))
    assert resp.status_code == 400 and "超过第 4 级" in html_of(resp)
    district = fresh(Unit, world.district.id)
    assert district.parent_id == world.centre.id and district.level == 2
    assert db.session.get(Unit, world.community.id).path == f"{district.path}{world.street.id}/{world.community.id}/"


# --- categories -----------------------------------------------------------------------
def test_category_create_rename_and_move_recompute_full_names(admin, world):
    leaf = world.category
    mid = leaf.parent
    resp = submit(admin, "/admin/categories/new",
                  dict(code="CJ-WY-KT", name="空调噪音", parent_id=mid.id, sort="2", active="y"))
    assert resp.status_code == 302
    new = db.session.scalar(sa.select(Category).where(Category.code == "CJ-WY-KT"))
    assert new.full_name == "城乡建设 › 物业管理 › 空调噪音"
    assert "城乡建设 › 物业管理 › 空调噪音" in html_of(admin.get("/admin/categories"))

    resp = submit(admin, f"/admin/categories/{mid.id}/edit", dict(code="CJ-WY", name="物业服务", parent_id=mid.parent_id,
                                                                 sort="0", active="y"))
    assert resp.status_code == 302
    assert fresh(Category, leaf.id).full_name == "城乡建设 › 物业服务 › 电梯故障"
    assert db.session.get(Category, new.id).full_name == "城乡建设 › 物业服务 › 空调噪音"

    resp = submit(admin, "/admin/categories/new", dict(code="GA", name="公安交通", active="y"))
    top = db.session.scalar(sa.select(Category).where(Category.code == "GA"))
    resp = submit(admin, f"/admin/categories/{mid.id}/edit", dict(code="CJ-WY", name="物业服务", parent_id=top.id,
                                                                 sort="0", active="y"))
    assert resp.status_code == 302
    assert fresh(Category, leaf.id).full_name == "公安交通 › 物业服务 › 电梯故障"


def test_category_errors_and_deactivation(admin, world):
    leaf, mid = world.category, world.category.parent
    resp = submit(admin, "/admin/categories/new", dict(code="CJ", name="新分类", active="y"))
    html = html_of(resp)
    assert resp.status_code == 400 and "分类编码 CJ 已被使用" in html and 'value="新分类"' in html

    resp = submit(admin, f"/admin/categories/{mid.id}/edit", dict(code="CJ-WY", name="物业管理", parent_id=leaf.id,
                                                                 sort="0", active="y"))
    assert resp.status_code == 400 and "不能把分类移到它自己或它的下级分类之下" in html_of(resp)

    resp = submit(admin, f"/admin/categories/{mid.id}/deactivate", {}, form_page="/admin/categories")
    assert resp.status_code == 302
    assert not fresh(Category, mid.id).active and not db.session.get(Category, leaf.id).active
    assert db.session.get(Category, mid.parent_id).active


# --- routing rules --------------------------------------------------------------------
def test_routing_rule_create_edit_and_delete(admin, world):
    resp = submit(admin, "/admin/routing/new", dict(
        category_id=world.category.id, district_id=world.district.id, lead_unit_id=world.district.id,
        co_unit_ids=[world.housing.id, world.water.id], certain="y", active="y", note="电梯归属地管理"))
    assert resp.status_code == 302
    rule = db.session.scalar(sa.select(RoutingRule))
    assert (rule.lead_unit_id, rule.certain) == (world.district.id, True)
    assert rule.co_unit_ids == [world.housing.id, world.water.id]
    listing = html_of(admin.get("/admin/routing"))
    assert "市住房和城乡建设局、市自来水公司" in listing and "确定规则" in listing and "电梯归属地管理" in listing

    resp = submit(admin, f"/admin/routing/{rule.id}/edit", dict(
        category_id=world.category.id, district_id=world.district.id, lead_unit_id=world.housing.id,
        active="y", note="改由住建局主办"))
    assert resp.status_code == 302
    rule = fresh(RoutingRule, rule.id)
    assert (rule.lead_unit_id, rule.co_unit_ids, rule.certain) == (world.housing.id, [], False)

    resp = submit(admin, f"/admin/routing/{rule.id}/delete", {}, form_page="/admin/routing")
    assert resp.status_code == 302 and count(RoutingRule) == 0


def test_routing_rule_clash_is_refused_with_input_kept(admin, world):
    for district in ("", world.district.id):
        resp = submit(admin, "/admin/routing/new", dict(
            category_id=world.category.id, district_id=district, lead_unit_id=world.housing.id, active="y"))
        assert resp.status_code == 302
    for district, where in (("", "全市（不限区县）"), (world.district.id, "东城区人民政府")):
        resp = submit(admin, "/admin/routing/new", dict(
            category_id=world.category.id, district_id=district, lead_unit_id=world.water.id, active="y",
            note="重复的规则"))
        html = html_of(resp)
        assert resp.status_code == 400
        assert "已有派单规则" in html and where in html and 'value="重复的规则"' in html
    assert count(RoutingRule) == 2

    resp = submit(admin, "/admin/routing/new", dict(
        category_id=world.category.id, district_id=world.housing.id, lead_unit_id=world.water.id, active="y"))
    assert resp.status_code == 400 and "不是有效的选择" in html_of(resp)  # a department is not a district


def test_auto_dispatch_setting_round_trips(admin, world):
    assert get_setting("auto_dispatch") is None
    resp = submit(admin, "/admin/routing/settings", dict(auto_dispatch="y"), form_page="/admin/routing")
    assert resp.status_code == 302
    db.session.expire_all()
    assert get_setting("auto_dispatch") == "1"
    assert '<input checked id="auto_dispatch"' in html_of(admin.get("/admin/routing"))
    submit(admin, "/admin/routing/settings", {}, form_page="/admin/routing")
    db.session.expire_all()
    assert get_setting("auto_dispatch") == "0"


# --- time-limit policy ----------------------------------------------------------------
def policy_form(admin) -> dict:
    """Every input of the policy form with its current value."""
    html = html_of(admin.get("/admin/time-limits"))
    data = dict(re.findall(r'name="(amount_[^"]+)"[^>]* value="([^"]*)"', html))
    for name, block in re.findall(r'<select id="[^"]+" name="(unit_[^"]+)">(.*?)</select>', html, re.S):
        data[name] = re.search(r'<option selected value="([^"]+)"', block).group(1)
    data["csrf_token"] = csrf_token(html)
    return data


def test_time_limits_are_edited_in_one_form(admin, world):
    data = policy_form(admin)
    assert data["amount_handle__complaint__normal"] == "15" and data["amount_extension_max__any__urgent"] == ""
    data["amount_handle__complaint__normal"] = "10"
    data["amount_sign__any__critical"], data["unit_sign__any__critical"] = "1", "hours"
    data["amount_extension_max__any__normal"] = ""
    resp = admin.post("/admin/time-limits", data=data)
    assert resp.status_code == 302
    db.session.expire_all()
    assert limit_for(DeadlineClock.HANDLE, RequestType.COMPLAINT, Urgency.NORMAL) == (10, LimitUnit.WORKING_DAYS)
    assert limit_for(DeadlineClock.SIGN, RequestType.HELP, Urgency.CRITICAL) == (1, LimitUnit.HOURS)
    assert limit_for(DeadlineClock.EXTENSION_MAX, None, Urgency.NORMAL) is None
    assert 'value="10"' in html_of(admin.get("/admin/time-limits"))


@pytest.mark.parametrize("bad", ["0", "-3", "abc", "1.5", "1000"])
def test_time_limit_must_be_a_positive_integer(admin, world, bad):
    data = policy_form(admin)
    data["amount_handle__complaint__normal"] = "12"  # a valid change in the same post is not saved either
    data["amount_sign__any__normal"] = bad
    resp = admin.post("/admin/time-limits", data=data)
    html = html_of(resp)
    assert resp.status_code == 400
    assert "时限须为 1–999 的正整数" in html and f'value="{bad}"' in html and 'value="12"' in html
    db.session.expire_all()
    assert limit_for(DeadlineClock.HANDLE, RequestType.COMPLAINT, Urgency.NORMAL) == (15, LimitUnit.WORKING_DAYS)
    assert limit_for(DeadlineClock.SIGN, None, Urgency.NORMAL) == (1, LimitUnit.WORKING_DAYS)


def test_request_type_row_can_be_added_and_removed(admin, world):
    resp = submit(admin, "/admin/time-limits/rows", dict(clock="sign", request_type="complaint"),
                  form_page="/admin/time-limits")
    assert resp.status_code == 302
    assert count(TimeLimitPolicy, TimeLimitPolicy.clock == DeadlineClock.SIGN,
                 TimeLimitPolicy.request_type == RequestType.COMPLAINT) == 3
    data = policy_form(admin)
    data["amount_sign__complaint__normal"], data["unit_sign__complaint__normal"] = "4", "hours"
    assert admin.post("/admin/time-limits", data=data).status_code == 302
    db.session.expire_all()
    assert limit_for(DeadlineClock.SIGN, RequestType.COMPLAINT, Urgency.NORMAL) == (4, LimitUnit.HOURS)
    assert limit_for(DeadlineClock.SIGN, RequestType.HELP, Urgency.NORMAL) == (1, LimitUnit.WORKING_DAYS)

    resp = submit(admin, "/admin/time-limits/rows/sign/complaint/delete", {}, form_page="/admin/time-limits")
    assert resp.status_code == 302
    db.session.expire_all()
    assert limit_for(DeadlineClock.SIGN, RequestType.COMPLAINT, Urgency.NORMAL) == (1, LimitUnit.WORKING_DAYS)


# --- holidays -------------------------------------------------------------------------
def test_holiday_override_moves_a_computed_deadline(admin, world):
    forget_calendar()
    assert calendar().add_working_days(START, 1).at == datetime(2026, 11, 24, 9, 30)

    resp = submit(admin, "/admin/holidays/new", dict(day="2026-11-24", is_workday="0", name="临时休息日"),
                  form_page="/admin/holidays?year=2026")
    assert resp.status_code == 302
    assert "临时休息日" in html_of(admin.get("/admin/holidays?year=2026"))
    forget_calendar()
    assert calendar().add_working_days(START, 1).at == datetime(2026, 11, 25, 9, 30)

    # Saturday 28 November made a working day (调休)
    submit(admin, "/admin/holidays/new", dict(day="2026-11-28", is_workday="1", name="调休上班"),
           form_page="/admin/holidays")
    forget_calendar()
    assert calendar().add_working_days(START, 4).at == datetime(2026, 11, 28, 9, 30)

    resp = submit(admin, "/admin/holidays/2026-11-24/edit", dict(day="2026-11-24", is_workday="1", name="改回上班"))
    assert resp.status_code == 302 and fresh(HolidayOverride, date(2026, 11, 24)).is_workday
    resp = submit(admin, "/admin/holidays/2026-11-24/delete", {}, form_page="/admin/holidays")
    assert resp.status_code == 302 and db.session.get(HolidayOverride, date(2026, 11, 24)) is None


def test_holiday_errors_keep_input(admin, world):
    submit(admin, "/admin/holidays/new", dict(day="2027-02-06", is_workday="0", name="春节"))
    resp = submit(admin, "/admin/holidays/new", dict(day="2027-02-06", is_workday="1", name="重复日期"))
    html = html_of(resp)
    assert resp.status_code == 400 and "2027-02-06 已设置为休息日" in html and 'value="重复日期"' in html

    resp = submit(admin, "/admin/holidays/new", dict(day="2027-13-40", is_workday="0", name="坏日期"))
    html = html_of(resp)
    assert resp.status_code == 400 and "不是有效的日期值" in html and 'value="坏日期"' in html
    assert count(HolidayOverride) == 1


def test_year_confirmation_and_package_coverage_are_shown(admin, world):
    html = html_of(admin.get("/admin/holidays?year=2027"))
    row_2026 = html[html.index(">2026 年<"):html.index(">2027 年<")]
    row_2027 = html[html.index(">2027 年<"):]
    assert "chinese-calendar 已覆盖" in row_2026 and "chinese-calendar 未覆盖" in row_2027

    resp = submit(admin, "/admin/holidays/years/2027", dict(confirmed="1", note="国办发明电〔2026〕号"),
                  form_page="/admin/holidays?year=2027")
    assert resp.status_code == 302
    year = fresh(CalendarYear, 2027)
    assert year.confirmed and year.note == "国办发明电〔2026〕号"
    forget_calendar()
    assert calendar().add_working_days(datetime(2027, 3, 1, 10), 1).confirmed

    submit(admin, "/admin/holidays/years/2027", dict(confirmed="0"), form_page="/admin/holidays")
    assert not fresh(CalendarYear, 2027).confirmed


# --- knowledge base -------------------------------------------------------------------
def test_knowledge_article_create_edit_search_and_deactivate(admin, world):
    resp = submit(admin, "/admin/knowledge/new", dict(
        title="电梯故障报修流程", category_id=world.category.id, keywords="电梯，报修、物业",
        body="请先联系物业公司报修；物业不处理的，可向区住建部门反映。", active="y"))
    assert resp.status_code == 302
    art = db.session.scalar(sa.select(KnowledgeArticle))
    assert (art.keywords, art.updated_at, art.updated_by_id) == ("电梯 报修 物业", START, world.admin.id)
    assert "电梯故障报修流程" in html_of(admin.get("/admin/knowledge?q=报修"))
    assert "电梯故障报修流程" not in html_of(admin.get("/admin/knowledge?q=燃气"))

    resp = submit(admin, f"/admin/knowledge/{art.id}/edit", dict(
        title="电梯故障报修", category_id="", keywords="电梯", body="联系物业报修。", active="y"))
    assert resp.status_code == 302
    art = fresh(KnowledgeArticle, art.id)
    assert (art.title, art.category_id) == ("电梯故障报修", None)

    resp = submit(admin, f"/admin/knowledge/{art.id}/deactivate", {}, form_page="/admin/knowledge")
    assert resp.status_code == 302 and not fresh(KnowledgeArticle, art.id).active
    assert "<td>电梯故障报修</td>" not in html_of(admin.get("/admin/knowledge"))
    assert "<td>电梯故障报修</td>" in html_of(admin.get("/admin/knowledge?all=1"))


def test_knowledge_errors_keep_input(admin, world):
    resp = submit(admin, "/admin/knowledge/new", dict(title="", keywords="燃气", body="燃气泄漏请拨打抢修电话。"))
    html = html_of(resp)
    assert resp.status_code == 400 and "请填写标题" in html and "燃气泄漏请拨打抢修电话。" in html
    assert count(KnowledgeArticle) == 0


# --- lists stay at a fixed number of queries ---------------------------------------------
@pytest.mark.parametrize("url", ["/admin/users", "/admin/units", "/admin/routing", "/admin/knowledge"])
def test_lists_do_not_query_per_row(admin, world, url):
    def queries():
        seen = []
        listener = lambda *a, **kw: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert admin.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    def add_rows(n):
        for _ in range(n):
            tag = f"{url.rsplit('/', 1)[1]}{count(Unit)}"
            with unit_of_work():
                unit = create_unit(dict(code=f"Q{tag}", name=f"查询单位{tag}", kind="department",
                                        parent_id=world.centre.id, supervisor_id=world.housing.id, active=True))
                create_user(f"q{tag}", "long-enough-1", ["operator", "manager"], unit)
                cat = create_category(dict(code=f"Q{tag}", name=f"分类{tag}", parent_id=world.category.id))
                save_routing_rule(None, dict(category_id=cat.id, lead_unit_id=unit.id,
                                             co_unit_ids=[world.water.id, world.street.id]))
                save_article(None, dict(title=f"知识{tag}", body="内容", category_id=cat.id), world.admin)

    add_rows(2)
    few = queries()
    add_rows(6)
    assert queries() == few
