"""Accessibility in the browser (WCAG 2.1 AA, GB/T 37668-2019): axe-core over every page of
every role on the demo city, reflow at 320 CSS px, the pages at 200 % zoom, and a
keyboard-only call recorded and dispatched with its keystrokes counted.

axe-core comes from the `axe-playwright-python` package (requirements-dev.txt), which ships
axe.min.js; it is evaluated in the page (through the DevTools protocol, so a strict
Content-Security-Policy does not stop it). The demo city (`load_demo`) is served from a
background thread on a migrated SQLite file, CSRF on; Debian's Chromium is driven as in
tests/test_browser.py. Screenshots at 200 % zoom go to test-output/a11y/.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.live import serving

from tests.test_browser import CHROMIUM, LAUNCH_ARGS, _unavailable

OUT = Path(__file__).resolve().parents[1] / "test-output" / "a11y"
#: WCAG 2.0/2.1 level A and AA rules (axe's tags).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")
PASSWORDS = {"operator": "operator123", "dispatcher": "dispatcher123", "callback": "callback123",
             "supervisor": "supervisor123", "manager": "manager123", "admin": "admin123",
             "leader": "leader123", "dongcheng": "unit12345", "shiftlead": "shiftlead123"}
#: Keystrokes the keyboard-only test needs to record a call and dispatch it (53 when it was
#: written; the issue measured 81 for the recording alone before). It may shrink, never
#: grow: a change that makes the operators' most frequent work longer fails here.
KEYSTROKE_BUDGET = 53


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo city on a migrated SQLite file, served on a free port.
    Yields (base_url, ids of pages to visit, tracebacks of server errors)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from hotline import create_app
    from hotline.demo.loader import load_demo
    from hotline.enums import TicketState
    from hotline.extensions import db
    from hotline.supervision.models import SupervisionCase
    from hotline.tickets.models import Ticket

    path = tmp_path_factory.mktemp("a11y") / "demo.sqlite"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    assert app.config["WTF_CSRF_ENABLED"], "the accessibility test must run with CSRF on"
    with app.app_context():
        upgrade()
        load_demo(tickets=200, echo=lambda *a, **k: None)
        _queue_holds_both_kinds()

        def first(state):
            return db.session.scalar(sa.select(Ticket.id).where(Ticket.state == state).order_by(Ticket.id))

        ids = {s.value: first(s) for s in TicketState}
        ids["case"] = db.session.scalar(sa.select(SupervisionCase.id).order_by(SupervisionCase.id))
        db.session.remove()

    with serving(app, "a11y-test-server") as (base, errors):
        yield base, ids, errors


def _queue_holds_both_kinds():
    """The dispatcher's queue test needs tickets with a certain routing rule and one
    without. Which of the demo's tickets are still waiting depends on the hour the demo
    is loaded (its stories end before the real now), so a call is recorded for whichever
    kind is short, through the real intake operation."""
    import sqlalchemy as sa

    from hotline.auth.models import User
    from hotline.categories.models import Category
    from hotline.enums import Channel, RequestType, TicketState, Urgency
    from hotline.extensions import db
    from hotline.intake.operations import record_ticket
    from hotline.lifecycle import unit_of_work
    from hotline.routing.services import suggest
    from hotline.tickets.models import Ticket

    waiting = db.session.scalars(sa.select(Ticket).where(Ticket.state == TicketState.PENDING_DISPATCH)).all()
    kinds = [suggest(t.category_id, t.district_id).certain for t in waiting]
    parents = set(db.session.scalars(sa.select(Category.parent_id).where(Category.parent_id.is_not(None))))
    leaves = [c for c in db.session.scalars(sa.select(Category).where(Category.active).order_by(Category.id))
              if c.id not in parents]
    operator = db.session.scalar(sa.select(User).where(User.username == "operator"))
    for want, have in ((True, kinds.count(True)), (False, kinds.count(False))):
        for _ in range((3 if want else 1) - have):
            cat = next(c for c in leaves if suggest(c.id, None).certain is want)
            with unit_of_work():
                record_ticket(operator, dict(
                    channel=Channel.PHONE.value, request_type=RequestType.COMPLAINT.value, category_id=cat.id,
                    urgency=Urgency.NORMAL.value, caller_name="测试来电人", caller_phone="13700001111",
                    confidential=False, address="", district_id=None, title=f"{cat.name}问题反映",
                    content=f"市民反映{cat.name}方面的问题，请核实处理。"), auto_dispatch=False)


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
        from axe_playwright_python.sync_playwright import Axe  # noqa: F401
    except ImportError as exc:  # requirements-dev.txt pins both; scripts/setup.sh installs them
        _unavailable(f"playwright or axe-playwright-python is not installed ({exc})")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _context(browser, **kw):
    ctx = browser.new_context(locale="zh-CN", **({"viewport": {"width": 1280, "height": 900}} | kw))
    ctx.set_default_timeout(10_000)
    return ctx


def _login(page, base, username):
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORDS[username])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/$"))


def _pages(ids) -> dict[str | None, list[str]]:
    """Every page of every role of the demo city (None: signed out)."""
    t = lambda state: f"/tickets/{ids[state]}"  # noqa: E731
    pages = {
        None: ["/login", "/status"],
        "operator": ["/", "/intake/new", "/tickets", t("pending_dispatch"), "/notifications", "/account/password"],
        "dispatcher": ["/", "/tickets?queue=pending_dispatch", "/dispatch/queue", t("pending_dispatch"),
                       "/tickets?queue=to_review", t("replied"), t("returned"), "/supervision", "/intake/new"],
        "callback": ["/", "/callbacks", t("reviewed"), "/tickets?queue=callback_overdue"],
        "supervisor": ["/", "/supervision", f"/supervision/{ids['case']}", t("unsatisfied"),
                       "/tickets?queue=overdue"],
        "manager": ["/", "/dashboard", "follow:/reports/weekly a[href*='/reports/drill']", "/reports/weekly", "/reports/monthly", "/reports/rates", t("closed")],
        "leader": ["/", "/leader"],
        "dongcheng": ["/", "/tickets?queue=handling", "follow:/tickets?queue=handling table.list tbody a|/tickets table.list tbody a",
                      "follow:/tickets?queue=to_sign table.list tbody a|/tickets table.list tbody a",
                      "/notifications"],
        "admin": ["/admin/", "/admin/users", "/admin/users/new", "/admin/units", "/admin/categories",
                  "/admin/routing", "/admin/routing/new", "/admin/time-limits", "/admin/holidays",
                  "/admin/knowledge", "/admin/settings", "/admin/process", "/admin/report-definitions",
                  "/admin/webhooks", "/admin/webhooks/new", "/admin/webhooks/deliveries", "/admin/api-tokens",
                  "/admin/audit", "/admin/audit?action=login"],
    }
    return pages


def _audit(page) -> list[dict]:
    """axe over the page with every <details> opened (the ticket page's action forms)."""
    from axe_playwright_python.sync_playwright import Axe

    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS},
                                      "resultTypes": ["violations"]})
    return [v for v in result.response["violations"] if v["impact"] in BLOCKING]


def test_every_page_of_every_role_passes_axe(chromium, demo_server):
    base, ids, server_errors = demo_server
    OUT.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[str]] = {}
    audited = 0
    for role, urls in _pages(ids).items():
        ctx = _context(chromium)
        page = ctx.new_page()
        if role:
            _login(page, base, role)
        for url in urls:
            if url.startswith("follow:"):  # a page reached through a link on another page
                # "follow:<page> <selector>|<page> <selector>": the first page that has such a
                # link (a unit's queue may be empty at the hour the demo was loaded)
                href = None
                for candidate in url[len("follow:"):].split("|"):
                    start, selector = candidate.split(" ", 1)
                    page.goto(base + start)
                    if page.locator(selector).count():
                        href = page.locator(selector).first.get_attribute("href")
                        break
                if href is None:
                    found.setdefault(f"{role or '-'} {url}", []).append("no page to follow")
                    continue
                url = href
            resp = page.goto(base + url)
            if resp.status != 200:
                found.setdefault(f"{role or '-'} {url}", []).append(f"HTTP {resp.status}")
                continue
            audited += 1
            for v in _audit(page):
                nodes = [n["target"][0] if n["target"] else "?" for n in v["nodes"]][:4]
                found.setdefault(f"{role or '-'} {url}", []).append(
                    f"{v['impact']} {v['id']} ({len(v['nodes'])}): {v['help']} {nodes}")
        if role in ("operator", None):  # a form sent back with errors, its summary shown
            if role:
                page.goto(f"{base}/intake/new")
                page.locator("#caller_phone").fill("123")
                page.locator("#save").click()
                label = "operator /intake/new (errors)"
            else:
                page.goto(f"{base}/login")
                page.get_by_label("用户名").fill("operator")
                page.get_by_label("密码").fill("wrong")
                page.get_by_role("button", name="登录").click()
                label = "- /login (errors)"
            page.locator(".error-summary").wait_for()
            audited += 1
            for v in _audit(page):
                found.setdefault(label, []).append(f"{v['impact']} {v['id']} ({len(v['nodes'])}): {v['help']}")
        ctx.close()
    (OUT / "axe-violations.json").write_text(json.dumps(found, ensure_ascii=False, indent=1))
    rules = {line.split(" (")[0] for lines in found.values() for line in lines}
    print(f"\naxe-core: {audited} pages audited, {len(found)} with serious/critical violations, rules: {sorted(rules)}")
    assert audited >= 28
    assert not found, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in found.items())
    assert not server_errors, "\n".join(server_errors)


#: (role, page): the pages an operator, dispatcher, manager or unit works in all day.
REFLOW = [("operator", "/"), ("operator", "/intake/new"), ("dispatcher", "/"), ("dispatcher", "/dispatch/queue"),
          ("dispatcher", "ticket:pending_dispatch"), ("manager", "/"), ("manager", "/dashboard"),
          ("dongcheng", "/tickets?queue=handling"), (None, "/login")]


def _url(ids, path):
    return f"/tickets/{ids[path.split(':', 1)[1]]}" if path.startswith("ticket:") else path


def _overflow(page) -> int:
    """How far the page scrolls sideways (CSS px). Wide data tables scroll inside their own
    box (WCAG 1.4.10 exempts them), which does not count."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_pages_reflow_at_320_px_and_200_percent_zoom(chromium, demo_server):
    base, ids, _ = demo_server
    OUT.mkdir(parents=True, exist_ok=True)
    sideways = []
    # 320 CSS px wide (WCAG 1.4.10), and a 1280x720 window at 200 % zoom (640x360 CSS px).
    for label, size, scale in (("320px", {"width": 320, "height": 640}, 1),
                               ("zoom200", {"width": 640, "height": 360}, 2)):
        for role in dict.fromkeys(r for r, _ in REFLOW):
            ctx = _context(chromium, viewport=size, device_scale_factor=scale)
            page = ctx.new_page()
            if role:
                _login(page, base, role)
            for r, path in REFLOW:
                if r != role:
                    continue
                page.goto(base + _url(ids, path))
                over = _overflow(page)
                if over > 0:
                    sideways.append(f"{label} {role} {path}: {over}px sideways")
                if role:  # the top bar wraps into at most a quarter of the window's height
                    bar = page.locator("header.topbar").bounding_box()
                    if bar["height"] > size["height"] / 4 + 1:
                        sideways.append(f"{label} {role} {path}: top bar {bar['height']:.0f}px high")
                if label == "zoom200":
                    name = {"/": "home", "/intake/new": "intake", "/dashboard": "dashboard",
                            "ticket:pending_dispatch": "ticket"}.get(path)
                    if name and role in ("operator", "dispatcher", "manager"):
                        page.screenshot(path=str(OUT / f"zoom200-{name}-{role}.png"), full_page=True)
            ctx.close()
    assert not sideways, "\n".join(sideways)


class Keys:
    """The keyboard, counted: every key press (a chord such as Ctrl+Enter is one) and every
    character typed is one keystroke."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.wait_for_load_state()  # a person sees the page before the keys work on it
            self.page.keyboard.press(key)
            self.count += 1

    def type(self, text: str) -> None:
        self.page.wait_for_load_state()
        self.page.keyboard.type(text)
        self.count += len(text)


def test_keyboard_only_call_recorded_and_dispatched(chromium, demo_server):
    """The shift lead (operator and dispatcher) records a call and dispatches it without the
    mouse: F2, the fields, Ctrl+Enter; then the saved ticket, D and Enter. The request type
    and the district come from the defaults; the unit from the routing rule."""
    from playwright.sync_api import expect

    base, ids, server_errors = demo_server
    ctx = _context(chromium)
    page = ctx.new_page()
    problems = []
    page.on("pageerror", lambda exc: problems.append(f"JS error: {exc}"))
    _login(page, base, "shiftlead")
    keys = Keys(page)

    keys.press("F2")
    expect(page.get_by_role("heading", name="受理来电")).to_be_visible()
    expect(page.locator("#caller_phone")).to_be_focused()
    keys.type("13900002222")
    keys.press("Tab", 5)  # name, channel, request type, urgency, category filter
    expect(page.locator("#category-filter")).to_be_focused()
    keys.type("电梯")
    expect(page.locator("#category_id option:checked")).to_contain_text("电梯故障")
    keys.press("Tab", 2)  # category, address
    expect(page.locator("#address")).to_be_focused()
    keys.type("东城区幸福路12号")
    keys.press("Tab", 4)  # district (fills itself from the address), anonymous, confidential, title
    expect(page.locator("#title")).to_be_focused()
    expect(page.locator("#district_id option:checked")).to_have_text("东城区人民政府")
    expect(page.locator("#request_type")).not_to_have_value("")  # from the category
    keys.type("电梯停运")
    keys.press("Tab")
    keys.type("电梯停运三天请维修")
    keys.press("Control+Enter")
    saved = page.locator(".flash-success").filter(has_text="已保存，等待派单")
    expect(saved).to_be_visible()
    number = re.search(r"12345-\d{8}-\d{6}", saved.inner_text()).group(0)
    expect(page.locator("#caller_phone")).to_be_focused()  # ready for the next call
    keys.press("Shift+Tab")  # the "上一张" link
    expect(page.get_by_role("link", name=number)).to_be_focused()
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    keys.press("d")
    dispatch = page.locator("form.action-dispatch")
    expect(dispatch.get_by_label("主办单位").locator("option:checked")).to_have_text("东城区人民政府")
    expect(dispatch.get_by_role("button", name="派单")).to_be_focused()
    keys.press("Enter")
    expect(page.locator(".flash-success")).to_have_text("已派单")
    expect(page.locator("h1 .state")).to_have_text("待签收")
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / "keyboard-dispatched.png"), full_page=True)
    print(f"\nkeyboard only: a call recorded and dispatched in {keys.count} keystrokes (budget {KEYSTROKE_BUDGET})")
    ctx.close()
    assert not problems and not server_errors, problems + server_errors
    assert keys.count <= KEYSTROKE_BUDGET


def test_intake_draft_survives_reload_and_f2_asks_first(chromium, demo_server):
    from playwright.sync_api import expect

    base, _, _ = demo_server
    ctx = _context(chromium)
    page = ctx.new_page()
    _login(page, base, "operator")
    page.goto(f"{base}/intake/new")
    page.locator("#caller_phone").fill("13700003333")
    page.locator("#title").fill("半截来电")
    page.locator("#content").fill("还没说完")
    page.reload()  # beforeunload is not asked for a reload Playwright makes; the draft comes back
    expect(page.locator("#caller_phone")).to_have_value("13700003333")
    expect(page.locator("#title")).to_have_value("半截来电")
    expect(page.locator("#draft-restored")).to_be_visible()
    page.locator("#content").focus()
    page.keyboard.press("F2")  # a half-filled call: asked in the page, the call stays
    dialog = page.locator("#leave-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#leave-stay")).to_be_focused()
    page.keyboard.press("Enter")  # 继续填写
    expect(dialog).to_be_hidden()
    expect(page.locator("#title")).to_have_value("半截来电")
    page.get_by_role("navigation").get_by_role("link", name="工单查询").click()  # a link away asks too
    expect(dialog).to_be_visible()
    page.locator("#leave-go").click()
    expect(page.get_by_role("heading", name="工单查询")).to_be_visible()
    page.goto(f"{base}/intake/new")  # given up: the draft is gone
    expect(page.locator("#caller_phone")).to_have_value("")
    ctx.close()


def test_form_errors_summary_links_and_focus(chromium, demo_server):
    from playwright.sync_api import expect

    base, _, _ = demo_server
    ctx = _context(chromium)
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("operator")
    page.get_by_label("密码").fill("wrong")
    page.get_by_role("button", name="登录").click()
    password = page.get_by_label("密码")
    expect(password).to_be_focused()  # one wrong field: the focus is on it, its message read with it
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary")).to_contain_text("密码：用户名或密码错误")
    _login(page, base, "operator")
    page.goto(f"{base}/intake/new")
    page.locator("#caller_phone").fill("13600004444")
    page.locator("#save").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()  # several: the summary first
    expect(summary.get_by_role("link")).to_have_count(4)  # request type, category, title, content
    expect(page.locator("#caller_phone")).not_to_have_attribute("aria-invalid", "true")
    summary.get_by_role("link", name=re.compile("^工单标题")).click()
    expect(page.locator("#title")).to_be_focused()
    ctx.close()


def test_dispatch_queue_from_the_keyboard(chromium, demo_server):
    from playwright.sync_api import expect

    base, _, server_errors = demo_server
    ctx = _context(chromium)
    page = ctx.new_page()
    _login(page, base, "dispatcher")
    page.goto(f"{base}/dispatch/queue")
    rows = page.locator("tr.queue-row")
    expect(rows.first).to_be_focused()
    page.keyboard.press("j")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(rows.nth(0)).to_be_focused()
    certain = page.locator("tr.queue-row:has(small.rule-certain)")
    first_certain = certain.first.get_attribute("data-ticket-id")
    number = page.locator(f"tr[data-ticket-id='{first_certain}'] td a").first.inner_text()
    total = rows.count()
    # tick the first ticket with a certain rule and the first without one, then B
    page.locator(f"tr[data-ticket-id='{first_certain}']").focus()
    page.keyboard.press(" ")
    uncertain = page.locator("tr.queue-row:not(:has(small.rule-certain))").first
    other = uncertain.locator("td a").first.inner_text()
    uncertain.focus()
    page.keyboard.press(" ")
    page.keyboard.press("b")
    expect(page.locator(".flash").filter(has_text=f"工单 {number}：已派单至")).to_be_visible()
    expect(page.locator(".flash-error").filter(has_text=f"工单 {other}：")).to_be_visible()
    expect(page.locator(".flash").filter(has_text="批量派单：1 张已派单，1 张未派单")).to_be_visible()
    expect(rows).to_have_count(min(total - 1, 50))
    # A: the focused ticket to its suggested unit (once the reloaded queue's keys work)
    page.wait_for_load_state()
    row = page.locator("tr.queue-row:has(button.accept)").first
    accepted = row.locator("td a").first.inner_text()
    row.focus()
    page.keyboard.press("a")
    expect(page.locator(".flash-success").filter(has_text=f"工单 {accepted}：已派单至")).to_be_visible()
    page.screenshot(path=str(OUT / "dispatch-queue.png"), full_page=True)
    ctx.close()
    assert not server_errors
