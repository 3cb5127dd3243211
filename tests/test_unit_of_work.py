"""One unit of work per request, job and command: a failure injected after any write of
a multi-row action leaves the database exactly as it was.

The fault is injected at the database driver: the n-th INSERT/UPDATE/DELETE statement of
the action raises. For every n from 2 (the first write went through) to the last write,
the action runs through its real boundary (the page request, the job runner) and the
whole database — every table's rows — is compared before and after.
"""
from __future__ import annotations

import contextlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from hotline.extensions import db
from hotline.scheduler.runner import run_job
from hotline.tickets.models import Assignment, Ticket
from tests.factories import at
from tests.test_pages import csrf_token, login
from tests.test_workbench import page
from tests.test_transitions_support import make

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)


class InjectedFault(RuntimeError):
    pass


@contextlib.contextmanager
def fail_at_write(n: int | None):
    """Count the write statements sent to the database; raise before the n-th (None: only count)."""
    seen = {"writes": 0}

    def before(conn, cursor, statement, parameters, context, executemany):
        if WRITE.match(statement):
            seen["writes"] += 1
            if n is not None and seen["writes"] == n:
                raise InjectedFault(f"injected before write #{n}: {statement[:60]}")

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def everything() -> dict:
    """Every row of every table, as plain data."""
    db.session.commit()
    out = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(sa.select(table)).mappings().all()
        out[table.name] = sorted((tuple(sorted((k, repr(v)) for k, v in r.items())) for r in rows))
    db.session.commit()  # end the read: on SQLite every transaction holds the write lock
    return out


def _form(client, ticket_id, action, **fields) -> dict:
    """The action's form as the page would post it (read before any fault is armed)."""
    _, html = page(client, f"/tickets/{ticket_id}")
    assert f'id="action-{action}"' in html, f"{action} is not offered on the page"
    version = db.session.get(Ticket, ticket_id).version
    data = {f"{action}-csrf_token": csrf_token(html), f"{action}-version": str(version)}
    data.update({f"{action}-{k}": v for k, v in fields.items()})
    return data


def _post(client, ticket_id, action, data):
    return client.post(f"/tickets/{ticket_id}/{action}", data=data)


# Each case: a situation, the user, the action posted on the ticket page and its fields.
PAGE_ACTIONS = {
    "unsatisfied_reopens_under_supervision": ("reviewed", "callback", "callback",
                                             dict(reached="1", resolution="unresolved", satisfaction="unsatisfied",
                                                  request_reasonable="1", citizen_words="还是坏的")),
    "redispatch_replaces_the_dispatch": ("returned", "dispatcher", "redispatch", None),
    "lead_reply": ("signed", "d1staff", "reply", dict(result="已修复电梯", contacted_citizen="y")),
    "dispatch_with_co_units": ("pending", "dispatcher", "dispatch", None),
}


def _fields(world, case_id, c):
    fields = PAGE_ACTIONS[case_id][3]
    if case_id == "redispatch_replaces_the_dispatch":
        return {"return_id": str(c.return_id), "lead_unit_id": str(world.housing.id),
                "co_unit_ids": str(world.water.id), "note": "改派住建"}
    if case_id == "dispatch_with_co_units":
        return {"lead_unit_id": str(world.district.id), "co_unit_ids": str(world.housing.id)}
    return fields


@pytest.mark.parametrize("case_id", sorted(PAGE_ACTIONS))
def test_a_fault_after_any_write_of_a_page_action_leaves_the_database_unchanged(app, world, client, case_id):
    situation, username, action, _ = PAGE_ACTIONS[case_id]
    c = make(world, situation)
    login(client, username)
    fields = _fields(world, case_id, c)
    # a dry run in a copy of the situation: how many writes the action makes
    probe = make(world, situation)
    probe_fields = _fields(world, case_id, probe)
    probe_data = _form(client, probe.t, action, **probe_fields)
    with fail_at_write(None) as seen:
        assert _post(client, probe.t, action, probe_data).status_code == 302
    writes = seen["writes"]
    assert writes >= 3, f"{action} is expected to write several rows, wrote {writes}"
    data = _form(client, c.t, action, **fields)
    for n in range(2, writes + 1):
        before = everything()
        with fail_at_write(n), pytest.raises(InjectedFault):
            _post(client, c.t, action, data)
        assert everything() == before, f"{action}: a fault before write #{n} of {writes} left a partial change"
    # and with no fault the same request goes through whole
    assert _post(client, c.t, action, data).status_code == 302


def test_a_fault_inside_a_scheduler_job_leaves_the_database_unchanged(app, world):
    t = world.signed()
    due = db.session.scalars(sa.select(Assignment).where(Assignment.ticket_id == t.id)).one().handle_due_at
    at(due + timedelta(days=10))
    world.signed()  # the same situation, to count the job's writes on a throw-away run
    with fail_at_write(None) as seen:
        run_job(app, "deadline_watch")
    writes = seen["writes"]
    assert writes >= 3
    # the probe's facts are recorded now; a fresh overdue ticket gives the job work again
    fresh = world.signed()
    at(db.session.scalars(sa.select(Assignment).where(Assignment.ticket_id == fresh.id)).one().handle_due_at
       + timedelta(days=10))
    for n in range(2, 4):
        before = everything()
        with fail_at_write(n), pytest.raises(InjectedFault):
            run_job(app, "deadline_watch")
        assert everything() == before, f"deadline_watch: a fault before write #{n} left a partial change"
    assert run_job(app, "deadline_watch")["handle_overdue"] >= 1
