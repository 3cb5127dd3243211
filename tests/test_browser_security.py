"""Issue 13 in the browser (headless Chromium, CSP on): the pages run with no CSP
violation, the intake page refuses an oversized attachment before sending it and keeps
what was typed, and the 413 page's link brings the typed fields back."""
from __future__ import annotations

from tests.test_browser import browser_page, live_server  # noqa: F401  (fixtures)


def test_upload_limit_checked_in_the_browser_and_typed_fields_come_back(browser_page, live_server, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    from tests.factories import PASSWORD

    base, w, server_errors = live_server
    page, problems = browser_page
    csp_violations = []
    page.on("console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("operator")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()

    page.goto(f"{base}/intake/new")
    limit = int(page.locator('meta[name="upload-limit"]').get_attribute("content"))
    big = tmp_path / "big.jpg"
    with open(big, "wb") as f:
        f.truncate(limit + 1)
    page.locator("#content").fill("楼道灯坏了三天，晚上很黑。")
    page.locator('input[type="file"]').set_input_files(str(big))
    page.get_by_role("button", name="保存并转派单").click()
    alert = page.locator(".upload-too-large")
    expect(alert).to_contain_text("超过上限")
    assert page.url.endswith("/intake/new")
    expect(page.locator("#content")).to_have_value("楼道灯坏了三天，晚上很黑。")

    # the server's own refusal (a form sent without the check): the link brings the text back
    page.evaluate("""() => { sessionStorage.setItem('hotline.draft:/intake/new|',
                     JSON.stringify({content: '恢复的文字'})); }""")
    page.goto(f"{base}/intake/new")
    page.evaluate("() => sessionStorage.setItem('hotline.restore', '1')")
    page.reload()
    expect(page.locator("#content")).to_have_value("恢复的文字")
    assert not csp_violations, csp_violations
    assert not server_errors
