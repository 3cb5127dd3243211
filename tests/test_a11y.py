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
import threading
import traceback
from pathlib import Path

import pytest

from tests.test_browser import CHROMIUM, LAUNCH_ARGS, _unavailable

OUT = Path(__file__).resolve().parents[1] / "test-output" / "a11y"
#: WCAG 2.0/2.1 level A and AA rules (axe's tags).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")
PASSWORDS = {"operator": "operator123", "dispatcher": "dispatcher123", "callback": "callback123",
             "supervisor": "supervisor123", "manager": "manager123", "admin": "admin123",
             "leader": "leader123", "dongcheng": "unit12345"}
#: Keystrokes the keyboard-only test needs to record a call and dispatch it. It may shrink,
#: never grow: a change that makes the operators' most frequent work longer fails here.
KEYSTROKE_BUDGET = 75


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo city on a migrated SQLite file, served on a free port.
    Yields (base_url, ids of pages to visit, tracebacks of server errors)."""
    import sqlalchemy as sa
    from flask import got_request_exception
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

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

        def first(state):
            return db.session.scalar(sa.select(Ticket.id).where(Ticket.state == state).order_by(Ticket.id))

        ids = {s.value: first(s) for s in TicketState}
        ids["case"] = db.session.scalar(sa.select(SupervisionCase.id).order_by(SupervisionCase.id))
        db.session.remove()

    errors: list[str] = []

    def record_error(sender, exception, **extra):
        errors.append("".join(traceback.format_exception(exception)))

    got_request_exception.connect(record_error, app, weak=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="a11y-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", ids, errors
    finally:
        got_request_exception.disconnect(record_error, app)
        for tb in errors:
            print("server error during the accessibility test:\n" + tb)
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


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
        "operator": ["/", "/intake/new", "/tickets", t("pending_dispatch"), "/notifications"],
        "dispatcher": ["/", "/tickets?queue=pending_dispatch", "/dispatch/queue", t("pending_dispatch"),
                       "/tickets?queue=to_review", t("replied"), t("returned"), "/supervision", "/intake/new"],
        "callback": ["/", "/callbacks", t("reviewed"), "/tickets?queue=callback_overdue"],
        "supervisor": ["/", "/supervision", f"/supervision/{ids['case']}", t("unsatisfied"),
                       "/tickets?queue=overdue"],
        "manager": ["/", "/dashboard", "follow:/reports/weekly a[href*='/reports/drill']", "/reports/weekly", "/reports/monthly", "/reports/rates", t("closed")],
        "leader": ["/", "/leader"],
        "dongcheng": ["/", "/tickets?queue=handling", "follow:/tickets?queue=handling table.list tbody a",
                      "follow:/tickets?queue=to_sign table.list tbody a", "/notifications"],
        "admin": ["/admin/", "/admin/users", "/admin/users/new", "/admin/units", "/admin/categories",
                  "/admin/routing", "/admin/routing/new", "/admin/time-limits", "/admin/holidays",
                  "/admin/knowledge", "/admin/settings", "/admin/process", "/admin/report-definitions",
                  "/admin/webhooks", "/admin/webhooks/new", "/admin/api-tokens"],
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
                start, selector = url[len("follow:"):].split(" ", 1)
                page.goto(base + start)
                url = page.locator(selector).first.get_attribute("href")
            resp = page.goto(base + url)
            if resp.status != 200:
                found.setdefault(f"{role or '-'} {url}", []).append(f"HTTP {resp.status}")
                continue
            audited += 1
            for v in _audit(page):
                nodes = [n["target"][0] if n["target"] else "?" for n in v["nodes"]][:4]
                found.setdefault(f"{role or '-'} {url}", []).append(
                    f"{v['impact']} {v['id']} ({len(v['nodes'])}): {v['help']} {nodes}")
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
