"""领导签批 through the real pages in headless Chromium: the dispatcher accepts the
re-handled reply of a supervised ticket, a leader signs it off from the leader's desk
(from the keyboard, with words), and the callback agent finds it in the callback queue.

Same set-up as tests/test_browser.py (live server on a migrated SQLite file, CSRF on,
Debian's /usr/bin/chromium, skipped locally without it); screenshots go to
test-output/browser-signoff/.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.live import serving

from tests import test_browser as base_browser

SHOTS = Path(__file__).resolve().parents[1] / "test-output" / "browser-signoff"
WORDS = "同意重新办理结果，请回访核实。"

browser_page = base_browser.browser_page  # the same Chromium page fixture


@pytest.fixture
def live_server(tmp_path):
    """The app on a migrated SQLite file with the test world and one supervised ticket whose
    re-handled reply waits for review. Yields (base_url, ids, tracebacks of server errors)."""
    from flask_migrate import upgrade

    from hotline import create_app
    from hotline.enums import Satisfaction
    from hotline.extensions import db
    from hotline.tickets.models import Ticket
    from tests import svc
    from tests.factories import build_world

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/browser.sqlite")
    assert app.config["WTF_CSRF_ENABLED"], "the browser test must run with CSRF on"
    with app.app_context():
        upgrade()
        w = build_world()
        t = w.reviewed()
        svc.record_callback(t.id, w.callback_agent, t.version, reached=True, resolution="unresolved",
                            satisfaction=Satisfaction.UNSATISFIED, citizen_words="电梯修好一天又坏了")
        t = db.session.get(Ticket, t.id)
        svc.reply(t.id, w.district_staff, t.version, "维保单位已更换整套控制系统，连续运行48小时无故障。")
        ids = {"number": t.number, "leader": w.leader.display_name, "title": w.leader.title}
        db.session.remove()

    with serving(app, "browser-signoff-server") as (base, errors):
        yield base, ids, errors


def test_leader_signs_off_a_supervised_ticket_through_the_browser(browser_page, live_server):
    from playwright.sync_api import expect

    from tests.factories import PASSWORD

    base, ids, server_errors = live_server
    page, problems = browser_page
    number = ids["number"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def login(username: str) -> None:
        page.goto(f"{base}/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="工作台")).to_be_visible()

    def logout() -> None:
        page.get_by_role("button", name="退出").click()
        expect(page.get_by_role("heading", name="登录")).to_be_visible()

    def open_ticket() -> None:
        page.get_by_role("link", name=number, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(number)

    def state_is(label: str) -> None:
        expect(page.locator("h1 .state")).to_have_text(label)

    def open_action(label):
        summary = page.locator("details.action-box > summary", has_text=label).first
        summary.focus()
        page.keyboard.press("Enter")
        expect(summary.locator("xpath=..")).to_have_attribute("open", "")

    # 1. the dispatcher accepts the re-handled reply -------------------------------------------
    login("dispatcher")
    page.locator("a.queue-card").filter(has_text="待审核").click()
    open_ticket()
    state_is("待审核")
    open_action("审核")
    review = page.locator("form.action-review")
    review.get_by_label("通过，转回访").check()
    review.get_by_role("button", name="审核", exact=True).click()
    expect(page.locator(".flash-success")).to_have_text("审核通过，待领导签批")
    state_is("待签批")
    shot("01-pending-signoff")
    logout()

    # 2. the leader opens the desk and signs off from the keyboard -----------------------------
    login("leader")
    expect(page.locator("a.queue-card").filter(has_text="待签批").locator(".queue-count")).to_have_text("1")
    page.get_by_role("navigation").get_by_role("link", name="领导", exact=True).click()
    expect(page.get_by_role("heading", name="领导签批", level=1)).to_be_visible()
    expect(page.locator("#waiting-signoff")).to_contain_text("维保单位已更换整套控制系统")
    shot("02-leader-desk")
    open_ticket()
    state_is("待签批")
    open_action("签批同意")
    form = page.locator("form.action-signoff-approve")
    words = form.get_by_label("签批意见")
    words.focus()
    page.keyboard.type(WORDS)
    shot("03-signoff-form")
    form.get_by_role("button", name="签批同意").press("Enter")
    expect(page.locator(".flash-success")).to_have_text("已签批同意，转回访")
    state_is("待回访")
    signoffs = page.locator("#signoffs")
    expect(signoffs).to_contain_text(WORDS)
    expect(signoffs).to_contain_text(f"{ids['leader']}（{ids['title']}）")
    shot("04-signed-off")
    logout()

    # 3. the callback agent finds it in the callback queue -------------------------------------
    login("callback")
    page.get_by_role("navigation").get_by_role("link", name="回访队列").click()
    expect(page.get_by_role("link", name=number, exact=True)).to_be_visible()
    shot("05-callback-queue")

    assert not problems and not server_errors, "\n".join(problems + server_errors)
