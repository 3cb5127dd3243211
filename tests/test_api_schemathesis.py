"""Property-based run of every documented API operation (schemathesis): generated valid and
invalid requests, sent with the bearer tokens of several roles to the Flask app, must never
answer 5xx, must answer only documented status codes, and every answer must match the
documented response schema.

Requests are aimed at real tickets (in several states) about four times in five, with the
ticket's current version, so the forms, guards and serializers run rather than only the
404 and 409 answers; the tickets change as the run goes on. Bounded: EXAMPLES per
operation and role (HOTLINE_API_FUZZ_EXAMPLES, 20 by default), no shrinking (a failure is
reported as found, with the request to reproduce it).
"""
from __future__ import annotations

import os

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

import hotline.app  # noqa: F401  (every blueprint and route, before the document is built)
from hotline.api.auth import create_token
from hotline.api.spec import openapi
from hotline.extensions import db
from hotline.tickets.models import Ticket

EXAMPLES = int(os.environ.get("HOTLINE_API_FUZZ_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
#: Two roles per database keep the run to a few minutes on two cores: the centre's admin
#: and operator on SQLite, the dispatcher (most lifecycle actions) and a district's staff
#: (unit visibility, hidden callers) on PostgreSQL, which also refuses what SQLite lets
#: through (NUL in text, integers beyond 32 bits).
ROLES = {"sqlite": ("admin", "operator"), "postgresql": ("dispatcher", "district_staff")}

schema = schemathesis.openapi.from_dict(openapi())


@pytest.fixture(params=[0, 1], ids=["admin|dispatcher", "operator|district_staff"])
def fuzz(request, app, world, client, monkeypatch):
    """Tickets in several states, a token of the role, and no rate limits (the clock
    stands still, so every request of the run falls in one window)."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_TOKEN", 0)
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_ADDRESS", 0)
    tickets = [world.record(), world.dispatched(), world.signed(), world.replied(),
               world.dispatched(confidential=True), world.dispatched(lead=world.other_district)]
    user = getattr(world, ROLES[app.config["DB_KIND"]][request.param])
    _, token = create_token(user, "schemathesis")
    db.session.commit()
    return {"client": client, "auth": {"Authorization": f"Bearer {token}"}, "numbers": [t.number for t in tickets]}


def _aim(case, pick: int, numbers: list[str]) -> None:
    """Point the case at a real ticket with its current version (unless `pick` says keep
    the generated number); every other time send only the version, so the actions that
    need no input (sign, withdraw, resume …) go through and their answers are checked."""
    if pick >= 2 * len(numbers) or "number" not in (case.path_parameters or {}):
        return
    number = numbers[pick // 2]
    case.path_parameters["number"] = number
    if isinstance(case.body, dict) and case.method.upper() == "POST":
        version = db.session.scalar(sa.select(Ticket.version).where(Ticket.number == number))
        if pick % 2:
            case.body = {"version": version}
        else:
            case.body["version"] = version
        if case.headers:
            case.headers.pop("If-Match", None)


@schema.parametrize()
@schema.given(pick=st.integers(min_value=0, max_value=14))
@settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case, pick, app, fuzz):
    _aim(case, pick, fuzz["numbers"])
    case.call_and_validate(app=app, session=fuzz["client"], headers=fuzz["auth"], checks=CHECKS)


# --- what the run found, pinned -------------------------------------------------------------------

def _as(world, user):
    _, token = create_token(user, "pinned")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_values_the_database_cannot_hold_are_refused_with_422(world, client):
    """PostgreSQL refuses NUL in text and integers beyond 32 bits (and then aborts the
    transaction); dates near year 1 overflow the date arithmetic. All were 500s."""
    t = world.record()
    auth = _as(world, world.dispatcher)
    base = f"/api/v1/tickets/{t.number}"
    r = client.post(f"{base}/dispatch", headers=auth, json={"version": t.version, "note": "a\x00b"})
    assert r.status_code == 422 and r.json["error"]["fields"] == {"note": "不能包含空字符（NUL）"}
    r = client.post(f"{base}/redispatch", headers=auth, json={"version": t.version, "target": -3160063952168855011328})
    assert r.status_code == 422 and r.json["error"]["fields"] == {"target": "超出范围"}
    r = client.post(f"{base}/extension", headers=_as(world, world.district_staff),
                    json={"version": t.version, "requested_due_at": "0001-01-01T00:00:00", "reason": "x"})
    assert r.status_code == 422 and "requested_due_at" in r.json["error"]["fields"]
    # a path that no resource can have is simply not found
    r = client.get("/api/v1/tickets/12345%00", headers=auth)
    assert r.status_code == 404 and r.json["error"]["code"] == "NOT_FOUND"
    db.session.refresh(t)
    assert t.version == 1 and t.state.value == "pending_dispatch"  # nothing was done


def test_an_omitted_target_is_the_first_one_and_no_target_is_the_domain_refusal(world, client):
    """`target` may be left out (the document says so): the form's required target field
    gets the first the user may act on, instead of answering 422. With nothing to act on,
    the answer is the lifecycle's refusal with its code, not a form error."""
    from tests import svc

    t = world.signed()
    svc.return_ticket(t.id, world.district_staff, t.version, "wrong_area", "不属本区")
    db.session.refresh(t)
    dispatcher = _as(world, world.dispatcher)
    r = client.post(f"/api/v1/tickets/{t.number}/overrule", headers=dispatcher,
                    json={"version": t.version, "note": "属本区管辖，请继续办理"})
    assert r.status_code == 200, r.json
    r = client.post(f"/api/v1/tickets/{t.number}/resume", headers=dispatcher, json={"version": t.version + 1})
    assert r.status_code == 409 and r.json["error"]["code"] == "NOT_SUSPENDED"
    r = client.post(f"/api/v1/tickets/{t.number}/resume", headers=_as(world, world.operator), json={"version": 1})
    assert r.status_code == 403 and r.json["error"]["code"] == "FORBIDDEN_ROLE"
