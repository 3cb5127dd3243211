"""Two workers on one ticket at the same moment: one wins, the other gets a clear conflict.

Each thread has its own app context, so its own session and database connection.
"""
import threading

import pytest
import sqlalchemy as sa

from hotline.auth.models import User
from hotline.enums import EventAction
from hotline.errors import DomainError
from hotline.extensions import db
from hotline.lifecycle import unit_of_work
from tests import svc
from hotline.tickets.models import Ticket, TicketEvent


def run_together(app, n, action):
    """Run action(i) in n threads released at once; collect results or errors."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                with unit_of_work():  # each thread is its own request or job
                    results[i] = ("ok", action(i))
            except DomainError as err:
                results[i] = ("error", err.code)
            except Exception as err:  # pragma: no cover - reported by the assertion below
                results[i] = ("crash", repr(err))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_concurrent_signs_one_wins_the_other_conflicts(app, world):
    t = world.dispatched()
    tid, version = t.id, t.version
    staff_ids = [world.district_staff.id, world.district_staff.id]
    db.session.remove()

    def sign(i):
        actor = db.session.get(User, staff_ids[i])
        return svc.sign(tid, actor, version).version

    results = run_together(app, 2, sign)
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["error", "ok"], results
    assert [r[1] for r in results if r[0] == "error"] == ["STALE_VERSION"]
    signs = db.session.scalar(sa.select(sa.func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == tid, TicketEvent.action == EventAction.SIGN))
    assert signs == 1
    assert db.session.get(Ticket, tid).version == version + 1


def test_sign_and_return_race_leaves_one_consistent_outcome(app, world):
    t = world.dispatched()
    tid, version, staff_id = t.id, t.version, world.district_staff.id
    db.session.remove()

    def act(i):
        actor = db.session.get(User, staff_id)
        if i == 0:
            return svc.sign(tid, actor, version).version
        return svc.return_ticket(tid, actor, version, "not_our_duty", "").id

    results = run_together(app, 2, act)
    assert sorted(r[0] for r in results) == ["error", "ok"], results
    events = db.session.scalars(sa.select(TicketEvent.action).where(TicketEvent.ticket_id == tid)).all()
    assert len(events) == 3  # record, dispatch, and exactly one of sign / return


def test_concurrent_intakes_get_unique_consecutive_numbers(app, world):
    operator_id = world.operator.id
    draft = world.draft()
    db.session.remove()
    n = 8

    def record(i):
        actor = db.session.get(User, operator_id)
        return svc.record_ticket(actor, dict(draft, title=f"并发受理 {i}")).number

    results = run_together(app, n, record)
    assert all(r[0] == "ok" for r in results), results
    numbers = sorted(r[1] for r in results)
    assert numbers == [f"12345-20261123-{i:06d}" for i in range(1, n + 1)]


@pytest.fixture
def pg_only(db_kind):
    if db_kind != "postgresql":
        pytest.skip("row locks under real parallel writers are a PostgreSQL matter")


def test_row_lock_makes_the_loser_wait_then_see_the_new_version(app, world, pg_only):
    """On PostgreSQL the loser's SELECT ... FOR UPDATE blocks until the winner commits."""
    t = world.dispatched()
    tid, version, staff_id = t.id, t.version, world.district_staff.id
    db.session.remove()
    locked = threading.Event()
    release = threading.Event()
    outcome = {}

    def holder():
        with app.app_context():
            db.session.execute(sa.select(Ticket).where(Ticket.id == tid).with_for_update(of=Ticket))
            locked.set()
            release.wait(timeout=10)
            ticket = db.session.get(Ticket, tid)
            ticket.version += 1  # someone else changed the ticket while we waited
            db.session.commit()
            db.session.remove()

    def signer():
        with app.app_context():
            locked.wait(timeout=10)
            try:
                svc.sign(tid, db.session.get(User, staff_id), version)
                outcome["result"] = "ok"
            except DomainError as err:
                outcome["result"] = err.code
            db.session.remove()

    h, s = threading.Thread(target=holder), threading.Thread(target=signer)
    h.start(); s.start()
    locked.wait(timeout=10)
    s.join(timeout=0.5)
    assert s.is_alive(), "the signer should be waiting on the row lock"
    release.set()
    h.join(timeout=10); s.join(timeout=10)
    assert outcome["result"] == "STALE_VERSION"
