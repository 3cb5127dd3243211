"""Fast synthetic data for benchmarks: bulk inserts, not the services (the services are
exercised by the tests; here only volume matters)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from hotline.categories.models import Category
from hotline.units.models import Unit, assign_path
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



# --- a year of realistic history (bench/reports_1m.py) -----------------------------------
CHANNEL_WEIGHTS = {Channel.PHONE: 70, Channel.WECHAT: 10, Channel.WEBSITE: 8, Channel.APP: 8, Channel.LETTER: 2,
                   Channel.LEADER: 1, Channel.OTHER: 1}
TYPE_WEIGHTS = {RequestType.CONSULTATION: 35, RequestType.HELP: 25, RequestType.COMPLAINT: 25, RequestType.REPORT: 5,
                RequestType.SUGGESTION: 7, RequestType.PRAISE: 2, RequestType.OTHER: 1}
#: handle limits of the default policy in working days, as calendar days (× 7/5)
HANDLE_DAYS = {RequestType.CONSULTATION: 4.2, RequestType.COMPLAINT: 21, RequestType.REPORT: 21}
HOURS = [0.3, 0.2, 0.1, 0.1, 0.1, 0.3, 1, 3, 7, 9, 9, 8, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1.5, 0.8]
TOPICS = ["城乡建设", "市容环卫", "公共服务", "交通出行", "生态环境", "劳动社保", "市场监管", "教育", "医疗卫生", "社会治安"]


def realistic_world():
    """A city: 8 districts with 4 streets each and 2 communities per street, 12 city
    departments, 4 utilities; a three-level taxonomy of 10 × 4 × 3 categories; a manager,
    a callback agent and one unit staff per district."""

    def unit(code, name, kind, level, parent):
        u = Unit(code=code, name=name, kind=kind, level=level, parent=parent)
        db.session.add(u)
        db.session.flush()
        assign_path(u)
        return u

    centre = unit("CENTRE", "12345热线中心", UnitKind.CENTRE, 1, None)
    districts, handlers = [], []
    for d in range(8):
        dist = unit(f"D{d}", f"第{d + 1}区人民政府", UnitKind.DISTRICT, 2, centre)
        districts.append(dist)
        handlers.append(dist)
        for s in range(4):
            street = unit(f"D{d}S{s}", f"第{d + 1}区{s + 1}街道", UnitKind.STREET, 3, dist)
            handlers.append(street)
            for c in range(2):
                unit(f"D{d}S{s}C{c}", f"第{d + 1}区{s + 1}街道{c + 1}社区", UnitKind.COMMUNITY, 4, street)
    for i in range(12):
        handlers.append(unit(f"DEPT{i}", f"市直部门{i + 1}", UnitKind.DEPARTMENT, 2, centre))
    for i in range(4):
        handlers.append(unit(f"ENT{i}", f"公共服务企业{i + 1}", UnitKind.ENTERPRISE, 2, centre))
    leaves = []
    for t, topic in enumerate(TOPICS):
        root = Category(code=f"K{t}", name=topic, full_name=topic, sort=t)
        db.session.add(root)
        db.session.flush()
        for m in range(4):
            mid = Category(code=f"K{t}-{m}", name=f"{topic}子类{m + 1}", full_name=f"{topic} › {topic}子类{m + 1}",
                           parent_id=root.id)
            db.session.add(mid)
            db.session.flush()
            for leaf in range(3):
                c = Category(code=f"K{t}-{m}-{leaf}", name=f"事项{leaf + 1}",
                             full_name=f"{mid.full_name} › 事项{leaf + 1}", parent_id=mid.id)
                db.session.add(c)
                leaves.append(c)
    users = {}
    for name, role, u in [("manager", Role.MANAGER, centre), ("callback", Role.CALLBACK_AGENT, centre),
                          ("dispatcher", Role.DISPATCHER, centre), ("unit0", Role.UNIT_STAFF, districts[0])]:
        user = User(username=name, display_name=name, unit=u, password_hash="")
        user.set_password("bench-pass-1")
        user.set_roles([role])
        db.session.add(user)
        users[name] = user
    db.session.commit()
    return centre, districts, handlers, leaves, users


def _zipf_weights(n: int, s: float = 1.0) -> list[float]:
    return [1 / (i + 1) ** s for i in range(n)]


def _weekdays_between(start: datetime, end: datetime) -> int:
    """Whole Monday-Friday days from start to end (synthetic data: holidays ignored)."""
    days = max((end.date() - start.date()).days, 0)
    weeks, rest = divmod(days, 7)
    extra = sum(1 for i in range(1, rest + 1) if (start.weekday() + i) % 7 < 5)
    return weeks * 5 + extra


def realistic_history(n: int, districts, handlers, leaves, users, *, end: datetime, days: int = 365, seed: int = 7,
                      batch: int = 5000, echo=print):
    """`n` tickets over the `days` before `end`, with their lead assignments, replies and
    callbacks, inserted in bulk. Fewer tickets at night and at weekends; categories,
    units and addresses Zipf-distributed; the older a ticket, the further along the loop:
    8 % answered on the call, the rest dispatched, signed, replied (12 % late), reviewed,
    called back (92 % reached; 80 % 满意, 12 % 基本满意, 8 % 不满意 reopened, redone and
    called back again) and closed."""
    from hotline.callbacks.models import Callback
    from hotline.enums import Closure, Resolution, Satisfaction
    from hotline.tickets.models import Reply

    rng = random.Random(seed)
    t_tab, a_tab, r_tab, c_tab = Ticket.__table__, Assignment.__table__, Reply.__table__, Callback.__table__
    start = end - timedelta(days=days)
    day_w = [(0.55 if (start + timedelta(days=d)).weekday() >= 5 else 1.0) for d in range(days)]
    channels, channel_w = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    types, type_w = list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values())
    leaf_w, unit_w = _zipf_weights(len(leaves), 0.8), _zipf_weights(len(handlers), 0.6)
    addresses = [f"{rng.choice(['幸福', '人民', '建设', '解放', '和平', '中山', '滨江', '光明'])}路{i}号" for i in range(5000)]
    addr_w = _zipf_weights(len(addresses), 1.1)
    agent, author = users["callback"].id, users["unit0"].id
    next_id = (db.session.scalar(sa.select(sa.func.max(Ticket.id))) or 0) + 1
    next_aid = (db.session.scalar(sa.select(sa.func.max(Assignment.id))) or 0) + 1
    for offset in range(0, n, batch):
        k = min(batch, n - offset)
        day_of = rng.choices(range(days), day_w, k=k)
        hour_of = rng.choices(range(24), HOURS, k=k)
        ch_of, ty_of = rng.choices(channels, channel_w, k=k), rng.choices(types, type_w, k=k)
        leaf_of, unit_of = rng.choices(leaves, leaf_w, k=k), rng.choices(handlers, unit_w, k=k)
        addr_of = rng.choices(addresses, addr_w, k=k)
        tickets, assigns, replies, callbacks = [], [], [], []
        for j in range(k):
            tid = next_id + offset + j
            created = start + timedelta(days=day_of[j], hours=hour_of[j], seconds=rng.randrange(3600))
            rtype, unit = ty_of[j], unit_of[j]
            district = rng.choice(districts).id if rng.random() < 0.85 else None
            t = dict(id=tid, number=f"12345-{created:%Y%m%d}-{tid:07d}", version=5, channel=ch_of[j].value,
                     request_type=rtype.value, category_id=leaf_of[j].id, urgency=Urgency.NORMAL.value,
                     caller_name="市民", caller_phone=f"13{rng.randrange(10**9):09d}",
                     confidential=rng.random() < 0.03, address=addr_of[j] if rng.random() < 0.9 else "",
                     district_id=district, title=f"{leaf_of[j].name}问题", content="市民反映情况，请尽快处理。",
                     created_at=created, updated_at=created, reopen_count=0, closure=None, closed_at=None,
                     lead_unit_id=None, dispatched_at=None, direct_answer=None)
            tickets.append(t)
            if rng.random() < 0.08:
                t.update(state=TicketState.CLOSED.value, closure=Closure.ANSWERED.value,
                         closed_at=created + timedelta(minutes=8), direct_answer="已当场解答。")
                continue
            dispatched = created + timedelta(minutes=rng.randrange(5, 180))
            if dispatched > end:
                t["state"] = TicketState.PENDING_DISPATCH.value
                continue
            limit = timedelta(days=HANDLE_DAYS.get(rtype, 7.0))
            signed = dispatched + timedelta(hours=rng.expovariate(1 / 4))
            late = rng.random() < 0.12
            replied = dispatched + limit * (rng.uniform(1.02, 1.6) if late else rng.uniform(0.15, 0.98))
            reviewed = replied + timedelta(hours=rng.uniform(1, 20))
            called = reviewed + timedelta(hours=rng.uniform(2, 30))
            aid = next_aid
            next_aid += 1
            a = dict(id=aid, ticket_id=tid, unit_id=unit.id, role=AssignmentRole.LEAD.value, active=True, round=1,
                     return_overruled=False, dispatched_at=dispatched, sign_due_at=dispatched + timedelta(days=1),
                     handle_due_at=dispatched + limit, handle_due_original_at=dispatched + limit,
                     return_due_at=dispatched + timedelta(days=2), handle_started_at=dispatched,
                     sign_warn_at=dispatched + timedelta(hours=19), handle_warn_at=dispatched + limit * 0.8,
                     escalation_level=1, calendar_confirmed=True, extension_count=0, signed_at=None, replied_at=None,
                     reply_working_days=None)
            assigns.append(a)
            t.update(lead_unit_id=unit.id, dispatched_at=dispatched)
            if signed > end:
                t["state"], a["state"] = TicketState.DISPATCHED.value, AssignmentState.DISPATCHED.value
                continue
            a["signed_at"] = signed
            if replied > end:
                t["state"], a["state"] = TicketState.SIGNED.value, AssignmentState.SIGNED.value
                continue
            a["replied_at"] = replied
            a["reply_working_days"] = _weekdays_between(dispatched, replied)
            replies.append(dict(ticket_id=tid, assignment_id=aid, unit_id=unit.id, author_id=author,
                                created_at=replied, result="已办理。", actions_taken="",
                                contacted_citizen=rng.random() < 0.9,
                                contact_note="", public_text="已办理。",
                                reviewed_at=reviewed if reviewed <= end else None,
                                review_ok=True if reviewed <= end else None, review_note=""))
            if reviewed > end:
                t["state"], a["state"] = TicketState.REPLIED.value, AssignmentState.REPLIED.value
                continue
            if called > end:
                t["state"], a["state"] = TicketState.REVIEWED.value, AssignmentState.REPLIED.value
                t["callback_due_at"] = reviewed + timedelta(days=1)
                continue
            reached = rng.random() < 0.92
            sat = rng.choices([Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.UNSATISFIED],
                              [80, 12, 8])[0] if reached else None
            callbacks.append(dict(ticket_id=tid, agent_id=agent, created_at=called, round=0, reached=reached,
                                  resolution=(Resolution.UNRESOLVED if sat is Satisfaction.UNSATISFIED
                                              else Resolution.RESOLVED).value if reached else None,
                                  satisfaction=sat.value if sat else None, citizen_words="", request_reasonable=None,
                                  note=""))
            if sat is Satisfaction.UNSATISFIED:
                # reopened for the same unit; redone within the limit, or still being redone
                t["reopen_count"] = 1
                redo_due = called + limit
                a.update(handle_due_at=redo_due, handle_due_original_at=redo_due, handle_started_at=called)
                redone = called + limit * rng.uniform(0.3, 1.1)
                if redone > end:
                    t["state"], a["state"] = TicketState.REOPENED.value, AssignmentState.SIGNED.value
                    continue
                a["replied_at"] = redone
                a["reply_working_days"] = _weekdays_between(dispatched, redone)
                recalled = redone + timedelta(hours=rng.uniform(20, 50))
                if recalled > end:
                    t["state"], a["state"] = TicketState.REPLIED.value, AssignmentState.REPLIED.value
                    continue
                callbacks.append(dict(ticket_id=tid, agent_id=agent, created_at=recalled, round=1, reached=True,
                                      resolution=Resolution.RESOLVED.value, satisfaction=Satisfaction.BASICALLY.value,
                                      citizen_words="", request_reasonable=None, note=""))
                t.update(state=TicketState.CLOSED.value, closure=Closure.SATISFIED.value, closed_at=recalled)
            else:
                t.update(state=TicketState.CLOSED.value, closed_at=called,
                         closure=(Closure.SATISFIED if reached else Closure.UNREACHABLE).value)
            a["state"] = AssignmentState.DONE.value
        for t in tickets:
            t.setdefault("callback_due_at", None)
            t["updated_at"] = t["closed_at"] or t["created_at"]
        db.session.execute(t_tab.insert(), tickets)
        for rows, tab in ((assigns, a_tab), (replies, r_tab), (callbacks, c_tab)):
            if rows:
                db.session.execute(tab.insert(), rows)
        db.session.commit()
        echo(f"  inserted {offset + k}/{n}")
    if db.engine.dialect.name == "postgresql":
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
