"""The event and version rule of TicketEvent, the one event writer, and the database's own
guards for enum columns and supervision levels."""
from __future__ import annotations

import ast
import pathlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hotline.enums import EventAction, Satisfaction
from hotline.extensions import db
from hotline.lifecycle import REGISTRY
from hotline.scheduler import jobs
from hotline.tickets.models import Assignment, Ticket, TicketEvent
from tests import svc
from tests.factories import at

ROOT = pathlib.Path(__file__).resolve().parent.parent / "hotline"


def _events(tid):
    db.session.expire_all()
    return db.session.scalars(sa.select(TicketEvent).where(TicketEvent.ticket_id == tid)
                              .order_by(TicketEvent.id)).all()


def test_an_action_with_two_consequences_writes_two_events_and_one_version(app, world):
    t = world.reviewed()
    before_version, before_events = t.version, len(_events(t.id))
    svc.record_callback(t.id, world.callback_agent, t.version, True, resolution="unresolved",
                        satisfaction=Satisfaction.UNSATISFIED, citizen_words="没修好", request_reasonable=True)
    new = _events(t.id)[before_events:]
    assert [e.action for e in new] == [EventAction.CALLBACK, EventAction.REOPEN]
    assert db.session.get(Ticket, t.id).version == before_version + 1


def test_scheduler_notices_are_events_without_a_version_bump(app, world):
    t = world.signed()
    version, count = t.version, len(_events(t.id))
    due = db.session.scalars(sa.select(Assignment.handle_due_at).where(Assignment.ticket_id == t.id)).one()
    at(due + timedelta(hours=1))
    jobs.deadline_watch()
    db.session.commit()
    new = _events(t.id)[count:]
    assert {e.action for e in new} >= {EventAction.URGE, EventAction.OVERDUE}
    assert all(e.actor_id is None and e.from_state == e.to_state for e in new)
    assert db.session.get(Ticket, t.id).version == version
    # so the unit's open form is still current: it can reply with the version it saw
    svc.reply(t.id, world.district_staff, version, "已修复")


def test_only_the_lifecycle_event_module_writes_ticket_events():
    """`TicketEvent(` is constructed, and ticket_events inserted into, only in lifecycle/events.py."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ("lifecycle/events.py", "tickets/models.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name == "TicketEvent":
                    offenders.append(f"{rel}:{node.lineno} TicketEvent(...)")
                if name in ("insert", "from_select") and any(
                        isinstance(a, ast.Name) and a.id == "TicketEvent" for a in node.args):
                    offenders.append(f"{rel}:{node.lineno} insert(TicketEvent)")
    assert not offenders, offenders


def test_operations_never_commit():
    """Operations flush; only boundaries (views, CLI, job runner, unit of work) commit."""
    stage_modules = [ROOT / p for p in ("intake/operations.py", "dispatch/operations.py", "handling/operations.py",
                                        "handling/extensions.py", "review/operations.py", "callbacks/operations.py",
                                        "supervision/operations.py", "scheduler/jobs.py", "lifecycle/registry.py",
                                        "lifecycle/guards.py", "lifecycle/events.py",
                                        "reports/snapshots.py", "tickets/history.py")]
    for path in stage_modules:
        assert ".commit()" not in path.read_text(encoding="utf-8"), path


def test_every_action_has_a_label_a_form_and_its_target_field():
    for key, action in REGISTRY.items():
        assert action.label and action.roles and action.stage, key
        assert action.form is not None, f"{key} has no form"
        if action.target_field:
            assert hasattr(action.form, action.target_field), f"{key}: form lacks {action.target_field}"


BAD_VALUES = [
    ("tickets", "state", "archived"),
    ("ticket_events", "action", "teleport"),
    ("callbacks", "supervisor_decision", "maybe"),
    ("notifications", "kind", "spam"),
    ("supervision_cases", "level", 4),
]


@pytest.mark.parametrize("table, column, value", BAD_VALUES)
def test_postgresql_refuses_values_outside_the_enums(app, world, db_kind, table, column, value):
    if db_kind != "postgresql":
        pytest.skip("CHECK constraints are added on PostgreSQL only (SQLite cannot add them to existing tables)")
    t = world.unsatisfied()
    svc.reopen(t.id, world.supervisor, db.session.get(Ticket, t.id).version, "重办")
    svc.give_instruction(db.session.execute(sa.text("SELECT id FROM supervision_cases")).scalar(),
                         world.supervisor, "批示")
    db.session.commit()
    key = {"tickets": "id", "ticket_events": "id", "callbacks": "id", "notifications": "id",
           "supervision_cases": "id"}[table]
    row_id = db.session.execute(sa.text(f"SELECT min({key}) FROM {table}")).scalar()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {"v": value, "id": row_id})
        db.session.flush()
    db.session.rollback()
