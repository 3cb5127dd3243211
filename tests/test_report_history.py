"""The history reports read: assignment versions kept by the flush hook, and rebuilt by the
migration for assignments that existed before it."""
from datetime import datetime, timedelta

import sqlalchemy as sa

from hotline.enums import AssignmentState
from hotline.extensions import db
from hotline.reports.snapshots import build_report
from hotline.tickets.history import AssignmentVersion
from hotline.tickets.models import Assignment, TicketEvent
from tests import svc
from tests.factories import at
from tests.test_reports import W48, build, v


def versions(assignment_id):
    return db.session.scalars(sa.select(AssignmentVersion).where(AssignmentVersion.assignment_id == assignment_id)
                              .order_by(AssignmentVersion.valid_from, AssignmentVersion.id)).all()


def test_every_change_of_what_reports_read_is_a_version_with_its_interval(world):
    at(datetime(2026, 11, 23, 9, 0))
    t = world.dispatched()
    a_id = t.lead_assignment.id
    at(datetime(2026, 11, 23, 10, 0))
    svc.sign(t.id, world.district_staff, v(t.id))
    first_due = db.session.get(Assignment, a_id).handle_due_at
    at(datetime(2026, 11, 24, 10, 0))
    req = svc.request_extension(t.id, world.district_staff, v(t.id), first_due + timedelta(days=2), "需协调")
    at(datetime(2026, 11, 24, 11, 0))
    svc.approve_extension(t.id, world.dispatcher, v(t.id), req.id)
    at(datetime(2026, 11, 25, 9, 0))
    svc.reply(t.id, world.district_staff, v(t.id), "已办理。")
    rows = versions(a_id)
    assert [r.state for r in rows] == [AssignmentState.DISPATCHED, AssignmentState.SIGNED, AssignmentState.SIGNED,
                                       AssignmentState.REPLIED]
    assert [r.valid_from for r in rows] == [datetime(2026, 11, 23, 9, 0), datetime(2026, 11, 23, 10, 0),
                                            datetime(2026, 11, 24, 11, 0), datetime(2026, 11, 25, 9, 0)]
    assert [r.valid_to for r in rows] == [r.valid_from for r in rows[1:]] + [None]  # contiguous
    assert rows[1].handle_due_at == first_due and rows[2].handle_due_at == first_due + timedelta(days=2)
    # the present version is the row
    a = db.session.get(Assignment, a_id)
    assert (rows[-1].state, rows[-1].replied_at, rows[-1].handle_due_at) == (a.state, a.replied_at, a.handle_due_at)
    # a change of a column reports do not read writes no version
    a.escalation_level = 2
    db.session.flush()
    assert len(versions(a_id)) == 4


def test_the_migration_rebuilds_the_history_of_existing_assignments(app, world):
    from flask_migrate import downgrade, upgrade

    build(world)
    at(datetime(2026, 11, 30, 8, 0))
    before = build_report("weekly", W48)
    db.session.commit()
    db.session.remove()
    downgrade(revision="c8529b68ca0c")
    with db.engine.begin() as conn:  # events as the older code wrote them: no closure
        assert "assignment_versions" not in sa.inspect(conn).get_table_names()
        events = sa.table("ticket_events", sa.column("id"), sa.column("payload", sa.JSON), sa.column("to_state"))
        for eid, payload in conn.execute(sa.select(events.c.id, events.c.payload).where(events.c.to_state == "closed")):
            payload = dict(payload)
            payload.pop("closure", None)
            conn.execute(events.update().where(events.c.id == eid).values(payload=payload))
    upgrade()
    for a in db.session.scalars(sa.select(Assignment)):
        rows = versions(a.id)
        assert rows and rows[0].valid_from == a.dispatched_at and rows[-1].valid_to is None
        assert [r.valid_to for r in rows[:-1]] == [r.valid_from for r in rows[1:]]
        assert (rows[-1].state, rows[-1].active, rows[-1].handle_due_at) == (a.state, a.active, a.handle_due_at)
    closing = db.session.scalars(sa.select(TicketEvent).where(TicketEvent.to_state == "closed",
                                                              TicketEvent.from_state != "closed")).all()
    assert closing and all("closure" in e.payload for e in closing)
    after = build_report("weekly", W48)
    for key in ("received", "signed_on_time", "closed", "closed_on_time", "overdue_now", "returned", "reopened"):
        assert after["city"]["values"][key] == before["city"]["values"][key], key
