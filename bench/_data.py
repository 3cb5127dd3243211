"""Fast synthetic data for benchmarks: bulk inserts, not the services (the services are
exercised by the tests; here only volume matters)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from hotline.admin.models import Category, Unit, assign_path
from hotline.auth.models import User
from hotline.enums import (AssignmentRole, AssignmentState, Channel, RequestType, Role, TicketState, UnitKind,
                           Urgency)
from hotline.extensions import db
from hotline.tickets.models import Assignment, Ticket

STATES = [TicketState.PENDING_DISPATCH, TicketState.DISPATCHED, TicketState.SIGNED, TicketState.REPLIED,
          TicketState.REVIEWED, TicketState.CLOSED, TicketState.CLOSED, TicketState.CLOSED]


def base_world():
    centre = Unit(code="CENTRE", name="12345热线中心", kind=UnitKind.CENTRE, level=1)
    db.session.add(centre)
    db.session.flush()
    assign_path(centre)
    units = []
    for i in range(20):
        u = Unit(code=f"U{i}", name=f"承办单位{i}", kind=UnitKind.DEPARTMENT, level=2, parent=centre)
        db.session.add(u)
        db.session.flush()
        assign_path(u)
        units.append(u)
    cats = []
    for i in range(40):
        c = Category(code=f"C{i}", name=f"分类{i}", full_name=f"大类{i % 8} › 分类{i}")
        db.session.add(c)
        cats.append(c)
    users = {}
    for name, role, unit in [("dispatcher", Role.DISPATCHER, centre), ("unit0", Role.UNIT_STAFF, units[0])]:
        user = User(username=name, display_name=name, unit=unit, password_hash="")
        user.set_password("bench-pass-1")
        user.set_roles([role])
        db.session.add(user)
        users[name] = user
    db.session.commit()
    return centre, units, cats, users


def bulk_tickets(n: int, units, cats, *, start=datetime(2025, 11, 1), days=365, seed=1, batch=5000,
                 with_assignments=True, open_only=False, echo=print):
    rng = random.Random(seed)
    t_table, a_table = Ticket.__table__, Assignment.__table__
    next_id = (db.session.scalar(sa.select(sa.func.max(Ticket.id))) or 0) + 1
    for offset in range(0, n, batch):
        tickets, assigns = [], []
        for i in range(offset, min(n, offset + batch)):
            tid = next_id + i
            created = start + timedelta(seconds=rng.randrange(days * 86400))
            state = TicketState.SIGNED if open_only else rng.choice(STATES)
            unit = rng.choice(units)
            tickets.append(dict(
                id=tid, number=f"12345-{created:%Y%m%d}-{tid:06d}"[:24], version=3, state=state.value,
                channel=rng.choice(list(Channel)).value, request_type=rng.choice(list(RequestType)).value,
                category_id=rng.choice(cats).id, urgency=Urgency.NORMAL.value, caller_name="市民",
                caller_phone=f"138{rng.randrange(10**8):08d}", confidential=False, address=f"幸福路{rng.randrange(999)}号",
                title=rng.choice(["噪音扰民", "路灯不亮", "电梯故障", "停水", "占道经营", "垃圾清运"]),
                content="市民反映情况，请尽快处理。", created_at=created, updated_at=created,
                lead_unit_id=None if state is TicketState.PENDING_DISPATCH else unit.id, reopen_count=0,
                closed_at=created + timedelta(days=3) if state is TicketState.CLOSED else None))
            if with_assignments and state is not TicketState.PENDING_DISPATCH:
                a_state = {TicketState.DISPATCHED: AssignmentState.DISPATCHED,
                           TicketState.SIGNED: AssignmentState.SIGNED}.get(state, AssignmentState.DONE)
                assigns.append(dict(
                    ticket_id=tid, unit_id=unit.id, role=AssignmentRole.LEAD.value, state=a_state.value, active=True,
                    round=1, return_overruled=False, dispatched_at=created,
                    sign_due_at=created + timedelta(days=1), handle_due_at=created + timedelta(days=5),
                    handle_due_original_at=created + timedelta(days=5), return_due_at=created + timedelta(days=2),
                    handle_started_at=created, sign_warn_at=created + timedelta(hours=19),
                    handle_warn_at=created + timedelta(days=4), escalation_level=1,
                    calendar_confirmed=True, extension_count=0,
                    signed_at=created + timedelta(hours=2) if a_state is not AssignmentState.DISPATCHED else None))
        db.session.execute(t_table.insert(), tickets)
        if assigns:
            db.session.execute(a_table.insert(), assigns)
        db.session.commit()
        echo(f"  inserted {min(n, offset + batch)}/{n}")
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()

