"""One ticket's whole working life, driven through the real pages in headless Chromium
(Playwright, sync API) the way a new user would: operator records it, dispatcher sends it
to a unit, the unit signs and replies, the dispatcher approves the reply.

The app is served from a background thread (werkzeug) on its own file-based SQLite
database built by the migrations, with CSRF on. It deliberately does not use conftest's
`app`/`world`/`client` fixtures (those also run on PostgreSQL; one browser run is enough).

Debian's Chromium (/usr/bin/chromium, installed by scripts/test.sh) is used; no browser is
ever downloaded. Without it the test skips with a message locally and fails under CI=true.
A full-page screenshot of every step goes to test-output/browser/.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.live import serving

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SHOTS = Path(__file__).resolve().parents[1] / "test-output" / "browser"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NUMBER = re.compile(r"12345-\d{8}-\d{6}")


def _unavailable(msg: str):
    if IN_CI:
        pytest.fail(f"CI=true and {msg}", pytrace=False)
    pytest.skip(f"{msg} (browser test skipped; run scripts/test.sh as root to install it)")


@pytest.fixture
def live_server(tmp_path):
    """The app on a migrated SQLite file with the test world, served on a free port.
    Yields (base_url, what the test needs of the world, tracebacks of server errors)."""
    from flask_migrate import upgrade

    from hotline import create_app
    from hotline.extensions import db
    from tests.factories import build_world

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/browser.sqlite")
    assert app.config["WTF_CSRF_ENABLED"], "the browser test must run with CSRF on"
    with app.app_context():
        upgrade()
        w = build_world()
        ids = {"category": w.category.id, "category_name": w.category.full_name,
               "lead_unit": w.district.name, "unit_staff": w.district_staff.username}
        db.session.remove()  # SQLite: no transaction (write lock) left open for the server

    with serving(app, "browser-test-server") as (base, errors):
        yield base, ids, errors


@pytest.fixture
def browser_page():
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # requirements-dev.txt pins it; scripts/setup.sh installs it
        _unavailable(f"the playwright package is not installed ({exc})")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(f"JS error: {exc}"))
        page.on("console", lambda m: problems.append(f"console error: {m.text}")
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.request.method} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        try:
            yield page, problems
        finally:
            context.close()
            browser.close()


def test_ticket_life_through_the_browser(browser_page, live_server):
    from playwright.sync_api import expect

    base, w, server_errors = live_server
    page, problems = browser_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    started = time.monotonic()

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def login(username: str) -> None:
        from tests.factories import PASSWORD

        page.goto(f"{base}/login")
        expect(page.get_by_role("heading", name="登录")).to_be_visible()
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="工作台")).to_be_visible()

    def logout() -> None:
        page.get_by_role("button", name="退出").click()
        expect(page.get_by_role("heading", name="登录")).to_be_visible()

    def open_ticket(number: str) -> None:
        page.get_by_role("link", name=number, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(number)

    def state_is(label: str) -> None:
        expect(page.locator("h1 .state")).to_have_text(label)

    # 1. operator records the call ------------------------------------------------------
    login("operator")
    page.get_by_role("navigation").get_by_role("link", name="受理来电", exact=True).click()
    expect(page.get_by_role("heading", name="受理来电")).to_be_visible()
    phone = page.get_by_label("联系电话", exact=True)
    phone.click()
    phone.press_sequentially("13800001111")
    with page.expect_response(lambda r: "/intake/caller" in r.url):  # the caller's history panel
        phone.press("Tab")
    expect(page.locator("#caller-panel")).to_contain_text("诉求人历史工单")
    page.get_by_label("诉求人姓名").fill("张先生")
    page.get_by_label("诉求类型").select_option(label="求助")
    page.get_by_label("分类检索").press_sequentially("电梯")
    category = page.get_by_label("诉求分类")
    expect(category).to_have_value(str(w["category"]))  # the filter picks the only match
    expect(category.locator("option:checked")).to_have_text(w["category_name"])
    page.get_by_label("事发地址").fill("幸福路 12 号 3 号楼")
    page.get_by_label("所属区县").select_option(label=w["lead_unit"])
    page.get_by_label("工单标题").fill("小区电梯故障")
    page.get_by_label("诉求内容").fill("幸福小区 3 号楼电梯停运三天，老人上下楼困难，请尽快维修。")
    shot("01-intake-filled")
    page.get_by_role("button", name="保存并转派单").click()
    saved = page.locator(".flash-success").filter(has_text="已保存，等待派单")
    expect(saved).to_be_visible()
    number = NUMBER.search(saved.inner_text()).group(0)
    expect(page.get_by_role("link", name=number)).to_be_visible()  # "上一张" link
    expect(page.get_by_label("联系电话", exact=True)).to_have_value("")  # ready for the next call
    shot("02-intake-saved")
    logout()

    def open_action(label):
        """Press an action's button (from the keyboard, as operators do); its form opens."""
        summary = page.locator("details.action-box > summary", has_text=label).first
        summary.focus()
        page.keyboard.press("Enter")
        expect(summary.locator("xpath=..")).to_have_attribute("open", "")

    # 2. dispatcher finds it through 工单查询 and dispatches it ------------------------------
    login("dispatcher")
    page.get_by_role("navigation").get_by_role("link", name="工单查询").click()
    expect(page.get_by_role("heading", name="工单查询")).to_be_visible()
    page.locator("form.search-form").get_by_label("工单编号").fill(number)
    page.locator("form.search-form").get_by_role("button", name="查询").click()
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    shot("03-search")
    open_ticket(number)
    state_is("待派单")
    open_action("派单")
    dispatch = page.locator("form.action-dispatch")
    lead = dispatch.get_by_label("主办单位")
    if lead.locator("option[selected]").count() == 0:  # no routing-rule suggestion: pick the unit
        lead.select_option(label=w["lead_unit"])
    expect(lead.locator("option:checked")).to_have_text(w["lead_unit"])
    dispatch.get_by_label("派单说明").fill("请尽快安排维修。")
    shot("04-dispatch-form")
    dispatch.get_by_role("button", name="派单").click()
    expect(page.locator(".flash-success")).to_have_text("已派单")
    state_is("待签收")
    shot("05-dispatched")
    logout()

    # 3. the unit signs and replies ----------------------------------------------------------
    login(w["unit_staff"])
    card = page.locator("a.queue-card").filter(has_text="待签收")
    expect(card.locator(".queue-count")).to_have_text("1")
    shot("06-unit-home")
    card.click()
    expect(page.get_by_role("heading", name="待签收")).to_be_visible()
    open_ticket(number)
    page.get_by_role("button", name="签收", exact=True).click()
    expect(page.locator(".flash-success")).to_have_text("已签收")
    state_is("办理中")
    expect(page.locator("form.action-reply")).to_be_hidden()  # each action's form opens from its button
    open_action("办结反馈")
    reply = page.locator("form.action-reply")
    reply.get_by_label("办理结果", exact=True).fill("已联系物业公司和维保单位，更换曳引机控制板，电梯已恢复运行。")
    reply.get_by_label("办理过程").fill("现场查看，联系维保单位当日维修。")
    reply.get_by_label("已与市民联系").check()
    reply.get_by_label("联系情况").fill("电话告知张先生，市民表示认可。")
    shot("07-reply-form")
    reply.get_by_role("button", name="办结反馈").click()
    expect(page.locator(".flash-success")).to_have_text("办理结果已反馈")
    state_is("待审核")
    shot("08-replied")
    logout()

    # 4. dispatcher reviews the reply --------------------------------------------------------
    login("dispatcher")
    card = page.locator("a.queue-card").filter(has_text="待审核")
    expect(card.locator(".queue-count")).to_have_text("1")
    card.click()
    open_ticket(number)
    open_action("审核")
    review = page.locator("form.action-review")
    review.get_by_label("通过，转回访").check()
    shot("09-review-form")
    review.get_by_role("button", name="审核", exact=True).click()
    expect(page.locator(".flash-success")).to_have_text("审核通过，已转回访")

    # 5. the ticket page: state and the whole history ----------------------------------------
    state_is("待回访")
    timeline = page.locator("ol.timeline > li strong")
    expect(timeline).to_have_text(["受理登记", "派单", "签收", "办结反馈", "审核通过"])
    expect(page.locator("article.reply")).to_contain_text("审核通过")
    shot("10-reviewed")

    elapsed = time.monotonic() - started
    print(f"\nbrowser flow took {elapsed:.1f} s; screenshots in {SHOTS}")
    assert not problems and not server_errors, "\n".join(problems + server_errors)
