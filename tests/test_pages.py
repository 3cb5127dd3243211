"""Pages through the test client with CSRF on: login, the list, the ticket and its history."""
import re

from tests.factories import PASSWORD


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no csrf token on page"
    return m.group(1)


def login(client, username, password=PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    resp = client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(page)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp


def test_login_without_csrf_token_is_refused(world, client):
    resp = client.post("/login", data={"username": "operator", "password": PASSWORD})
    assert resp.status_code in (200, 400)
    assert client.get("/").status_code == 302  # still not logged in


def test_wrong_password_says_so_in_chinese_and_keeps_username(world, client):
    page = client.get("/login").get_data(as_text=True)
    resp = client.post("/login", data={"username": "operator", "password": "nope", "csrf_token": csrf_token(page)})
    html = resp.get_data(as_text=True)
    assert "用户名或密码错误" in html
    assert 'value="operator"' in html


def test_history_page_shows_events_in_order(world, client):
    t = world.replied()
    login(client, "dispatcher")
    html = client.get(f"/tickets/{t.id}").get_data(as_text=True)
    timeline = html[html.index('<ol class="timeline">'):]
    positions = [timeline.index(f"<strong>{label}</strong>") for label in ("受理登记", "派单", "签收", "办结反馈")]
    assert positions == sorted(positions)


def test_unit_cannot_open_another_units_ticket(world, client):
    t = world.dispatched(lead=world.housing)
    login(client, "d2staff")
    assert client.get(f"/tickets/{t.id}").status_code == 403
    assert client.get("/tickets/999999").status_code == 403


def test_parent_unit_sees_ticket_handed_to_its_street(world, client):
    from tests import svc

    t = world.signed()
    svc.hand_down(t.id, world.district_staff, t.version, world.street.id, "请街道办理")
    login(client, "s1staff")
    assert client.get(f"/tickets/{t.id}").status_code == 200


def test_confidential_ticket_hides_caller_from_unit(world, client):
    t = world.dispatched(confidential=True, caller_phone="13912345678", caller_name="李女士")
    login(client, "d1staff")
    html = client.get(f"/tickets/{t.id}").get_data(as_text=True)
    assert "13912345678" not in html and "李女士" not in html
    assert "保密工单" in html
    client.post("/logout", data={"csrf_token": csrf_token(html)})
    login(client, "dispatcher")
    assert "13912345678" in client.get(f"/tickets/{t.id}").get_data(as_text=True)


def test_unit_list_shows_only_its_tickets(world, client):
    mine = world.dispatched()
    other = world.dispatched(lead=world.water, title="停水")
    login(client, "d1staff")
    html = client.get("/tickets").get_data(as_text=True)
    assert mine.number in html and other.number not in html
    home = client.get("/").get_data(as_text=True)
    assert 'data-queue="to_sign">1<' in home
