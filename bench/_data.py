"""Fast synthetic data for benchmarks: bulk inserts, not the services (the services are
exercised by the tests; here only volume matters).

Rows are written in batches: COPY on PostgreSQL, executemany on SQLite. Nothing goes
through the ORM, so what the ORM's flush hook would write is written here too: every
assignment gets its versions (assignment_versions, the history the reports count from)
and closing events carry their closure. The tickets' text search grams (PostgreSQL's
`tickets.search_grams`) are written by the database's own trigger during the COPY, as for
any other insert (tests/test_search.py checks a bulk-inserted ticket is found). Explicit ids are used where rows refer to each
other; afterwards every filled table's id sequence is moved past its highest id, so the
application's own inserts into the same database do not collide.
"""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from hotline.categories.models import Category
from hotline.units.models import Unit, assign_path
from hotline.auth.models import User
from hotline.enums import (AssignmentRole, AssignmentState, Channel, EventAction, RequestType, Role, TicketState,
                           UnitKind, Urgency)
from hotline.extensions import db
from hotline.tickets.history import AssignmentVersion
from hotline.tickets.models import Assignment, Ticket, TicketEvent

STATES = [TicketState.PENDING_DISPATCH, TicketState.DISPATCHED, TicketState.SIGNED, TicketState.REPLIED,
          TicketState.REVIEWED, TicketState.CLOSED, TicketState.CLOSED, TicketState.CLOSED]


# --- writing rows in bulk ------------------------------------------------------------------
def bulk_insert(table: sa.Table, rows: list[dict]) -> None:
    """Insert `rows` (dicts of column values; missing columns take their scalar default or
    NULL) into `table` in the session's transaction: COPY on PostgreSQL, executemany
    elsewhere."""
    if not rows:
        return
    keys: set[str] = set()
    for r in rows:
        keys.update(r)
    defaults = {c.name: c.default.arg for c in table.columns
                if c.name not in keys and c.default is not None and c.default.is_scalar}
    cols = [c.name for c in table.columns if c.name in keys or c.name in defaults]
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(table.insert(), [{c: r.get(c, defaults.get(c)) for c in cols} for r in rows])
        return
    as_json = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    raw = db.session.connection().connection.driver_connection
    names = ", ".join(f'"{c}"' for c in cols)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for r in rows:
            copy.write_row([json.dumps(r.get(c, defaults.get(c)), ensure_ascii=False) if c in as_json
                            else r.get(c, defaults.get(c)) for c in cols])


def advance_sequences(tables) -> None:
    """PostgreSQL: move each table's id sequence past its highest id (rows were inserted
    with explicit ids, which do not advance the sequence)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for name in tables:
        db.session.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), coalesce(max(id), 0) + 1, false) FROM {name}"))
    db.session.commit()


#: Each history table and the moment its rows are written at in real use.
APPEND_ORDER = [("tickets", "created_at"), ("assignments", "dispatched_at"), ("assignment_versions", "valid_from"),
                ("ticket_events", "at"), ("replies", "created_at"), ("callbacks", "created_at"),
                ("supervision_cases", "opened_at")]


def settle(echo=print) -> None:
    """PostgreSQL: lay each history table out in the order real use appends it (by the time
    its rows are written). The generator writes each ticket's whole history at once, so a
    week's assignments, events, replies and callbacks would otherwise lie scattered over
    the tables, one page read per row, which no centre's database looks like: its rows
    arrive day by day. CLUSTER by a
    throw-away index on the time column, then the index goes again."""
    import time

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table, column in APPEND_ORDER:
            t = time.perf_counter()
            index = f"bench_settle_{table}"
            conn.exec_driver_sql(f'CREATE INDEX IF NOT EXISTS {index} ON "{table}" ("{column}", id)')
            conn.exec_driver_sql(f'CLUSTER "{table}" USING {index}')
            conn.exec_driver_sql(f"DROP INDEX {index}")
            echo(f"  settled {table} in the order of {column} ({time.perf_counter() - t:.0f} s)")


def versions_of(steps: list[tuple[datetime, dict]]) -> list[dict]:
    """Consecutive versions from (valid_from, values) steps, oldest first: each holds until
    the next one starts; the last one is the present (valid_to NULL)."""
    return [{**values, "valid_from": at, "valid_to": steps[i + 1][0] if i + 1 < len(steps) else None}
            for i, (at, values) in enumerate(steps)]


def _version_base(a: dict) -> dict:
    return {"assignment_id": a["id"], "ticket_id": a["ticket_id"], "unit_id": a["unit_id"], "role": a["role"],
            "active": True, "round": 1, "dispatched_at": a["dispatched_at"], "signed_at": None, "replied_at": None,
            "sign_due_at": a["sign_due_at"], "handle_due_at": a["handle_due_at"]}


def event(tid: int, at: datetime, action: EventAction, before: TicketState | None, after: TicketState, *,
          assignment_id: int | None = None, actor: int | None = None, actor_unit: int | None = None,
          note: str = "", payload: dict | None = None) -> dict:
    return {"ticket_id": tid, "assignment_id": assignment_id, "actor_id": actor, "actor_unit_id": actor_unit, "at": at,
            "action": action.value, "from_state": before.value if before is not None else None,
            "to_state": after.value, "note": note, "payload": payload or {}}


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
    """`n` tickets in random states with their lead assignments and those assignments'
    versions (no events, replies or callbacks: for lists and the deadline watch)."""
    rng = random.Random(seed)
    t_table, a_table, v_table = Ticket.__table__, Assignment.__table__, AssignmentVersion.__table__
    next_id = (db.session.scalar(sa.select(sa.func.max(Ticket.id))) or 0) + 1
    next_aid = (db.session.scalar(sa.select(sa.func.max(Assignment.id))) or 0) + 1
    for offset in range(0, n, batch):
        tickets, assigns, versions = [], [], []
        for i in range(offset, min(n, offset + batch)):
            tid = next_id + i
            created = start + timedelta(seconds=rng.randrange(days * 86400))
            state = TicketState.SIGNED if open_only else rng.choice(STATES)
            unit = rng.choice(units)
            closed_at = created + timedelta(days=3) if state is TicketState.CLOSED else None
            tickets.append(dict(
                id=tid, number=f"12345-{created:%Y%m%d}-{tid:06d}"[:24], version=3, state=state.value,
                channel=rng.choice(list(Channel)).value, request_type=rng.choice(list(RequestType)).value,
                category_id=rng.choice(cats).id, urgency=Urgency.NORMAL.value, caller_name="市民",
                caller_phone=f"138{rng.randrange(10**8):08d}", confidential=False, address=f"幸福路{rng.randrange(999)}号",
                title=rng.choice(["噪音扰民", "路灯不亮", "电梯故障", "停水", "占道经营", "垃圾清运"]),
                content="市民反映情况，请尽快处理。", created_at=created, updated_at=created,
                lead_unit_id=None if state is TicketState.PENDING_DISPATCH else unit.id, reopen_count=0,
                closed_at=closed_at))
            if with_assignments and state is not TicketState.PENDING_DISPATCH:
                a_state = {TicketState.DISPATCHED: AssignmentState.DISPATCHED,
                           TicketState.SIGNED: AssignmentState.SIGNED}.get(state, AssignmentState.DONE)
                a = dict(
                    id=next_aid, ticket_id=tid, unit_id=unit.id, role=AssignmentRole.LEAD.value, state=a_state.value,
                    active=True, round=1, return_overruled=False, dispatched_at=created,
                    sign_due_at=created + timedelta(days=1), handle_due_at=created + timedelta(days=5),
                    handle_due_original_at=created + timedelta(days=5), return_due_at=created + timedelta(days=2),
                    handle_started_at=created, sign_warn_at=created + timedelta(hours=19),
                    handle_warn_at=created + timedelta(days=4), escalation_level=1,
                    calendar_confirmed=True, extension_count=0,
                    signed_at=created + timedelta(hours=2) if a_state is not AssignmentState.DISPATCHED else None)
                next_aid += 1
                assigns.append(a)
                base = _version_base(a)
                steps = [(created, {**base, "state": AssignmentState.DISPATCHED.value})]
                if a["signed_at"] is not None:
                    steps.append((a["signed_at"], {**base, "state": AssignmentState.SIGNED.value,
                                                   "signed_at": a["signed_at"]}))
                if a_state is AssignmentState.DONE:
                    steps.append((closed_at or created + timedelta(days=1),
                                  {**steps[-1][1], "state": AssignmentState.DONE.value}))
                versions.extend(versions_of(steps))
        bulk_insert(t_table, tickets)
        bulk_insert(a_table, assigns)
        bulk_insert(v_table, versions)
        db.session.commit()
        echo(f"  inserted {min(n, offset + batch)}/{n}")
    advance_sequences(["tickets", "assignments", "assignment_versions"])
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


def _s(moment: datetime) -> datetime:
    """Whole seconds, as the application's clock records them."""
    return moment.replace(microsecond=0)


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
    """`n` tickets over the `days` before `end`, with their lead assignments, the
    assignments' versions, replies, callbacks, supervision cases and the ticket events,
    inserted in bulk. Fewer tickets at night and at weekends; categories, units and
    addresses Zipf-distributed; the older a ticket, the further along the loop: 8 %
    answered on the call, the rest dispatched, signed, replied (12 % late), reviewed,
    called back (92 % reached; 80 % 满意, 12 % 基本满意, 8 % 不满意 reopened under a
    supervision case, redone and called back again) and closed.

    The history is what the services would have left: each assignment's versions change
    where its state or deadline changed (dispatched -> signed -> replied -> done; a reopen
    goes back to signed on a new deadline), so an assignment still open past its deadline
    at `end` has an open version (valid_to NULL); the events are the ticket's trail
    (受理, 直接答复, 派单, 签收, 办结反馈, 审核通过, 回访, 重办, 办结归档), closing ones with
    {"closure": ...} in their payload.

    On PostgreSQL the tables' secondary indexes are dropped for the load and built again
    after it (much faster than keeping them up to date row by row), and the tables are
    then laid out in the order real use appends them (settle()); rows/s is printed."""
    import time

    t0 = time.perf_counter()
    deferred = defer_indexes([name for name, _ in APPEND_ORDER])
    try:
        tables = _write_history(n, districts, handlers, leaves, users, end=end, days=days, seed=seed, batch=batch,
                                echo=echo)
    finally:
        restore_indexes(deferred, echo)
    echo(f"  wrote {n} tickets and their history in {time.perf_counter() - t0:.0f} s "
         f"({n / max(time.perf_counter() - t0, 1e-9):.0f} tickets/s, indexes included)")
    advance_sequences(tables)
    if db.engine.dialect.name == "postgresql":
        settle(echo)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def defer_indexes(tables: list[str]) -> list[str]:
    """PostgreSQL: drop the secondary (not unique, not primary) indexes of `tables`;
    return their definitions for restore_indexes(). Elsewhere: nothing."""
    if db.session.get_bind().dialect.name != "postgresql":
        return []
    rows = db.session.execute(sa.text(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) AND NOT i.indisunique AND NOT i.indisprimary"),
        {"tables": tables}).all()
    for name, _ in rows:
        db.session.execute(sa.text(f'DROP INDEX "{name}"'))
    db.session.commit()
    return [definition for _, definition in rows]


def restore_indexes(definitions: list[str], echo=print) -> None:
    import time

    if not definitions:
        return
    t = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SET maintenance_work_mem = '256MB'")
        for definition in definitions:
            conn.exec_driver_sql(definition)
    echo(f"  built {len(definitions)} indexes again in {time.perf_counter() - t:.0f} s")


def _write_history(n: int, districts, handlers, leaves, users, *, end: datetime, days: int, seed: int, batch: int,
                   echo) -> dict:
    """realistic_history's rows, written batch by batch; returns the tables written."""
    from hotline.callbacks.models import Callback
    from hotline.enums import (CallbackOutcome, Closure, Resolution, Satisfaction, SupervisionReason,
                               SupervisionState)
    from hotline.supervision.models import SupervisionCase
    from hotline.tickets.models import Reply

    rng = random.Random(seed)
    tables = {name: model.__table__ for name, model in (
        ("tickets", Ticket), ("assignments", Assignment), ("assignment_versions", AssignmentVersion),
        ("replies", Reply), ("callbacks", Callback), ("supervision_cases", SupervisionCase),
        ("ticket_events", TicketEvent))}
    start = end - timedelta(days=days)
    day_w = [(0.55 if (start + timedelta(days=d)).weekday() >= 5 else 1.0) for d in range(days)]
    channels, channel_w = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    types, type_w = list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values())
    leaf_w, unit_w = _zipf_weights(len(leaves), 0.8), _zipf_weights(len(handlers), 0.6)
    addresses = [f"{rng.choice(['幸福', '人民', '建设', '解放', '和平', '中山', '滨江', '光明'])}路{i}号" for i in range(5000)]
    addr_w = _zipf_weights(len(addresses), 1.1)
    agent, author = users["callback"].id, users["unit0"].id
    dispatcher, centre = users["dispatcher"].id, users["dispatcher"].unit_id
    next_id = (db.session.scalar(sa.select(sa.func.max(Ticket.id))) or 0) + 1
    next_aid = (db.session.scalar(sa.select(sa.func.max(Assignment.id))) or 0) + 1
    next_case = (db.session.scalar(sa.select(sa.func.max(SupervisionCase.id))) or 0) + 1
    S, A, E = TicketState, AssignmentState, EventAction
    # ids follow time, as in real use (a ticket takes its id when it is recorded, so a
    # month's tickets are a run of ids and their look-ups by ticket id touch one part of
    # each index): every ticket's moment is drawn first, then numbered in time order
    moments = sorted(start + timedelta(days=day, hours=hour, seconds=rng.randrange(3600))
                     for day, hour in zip(rng.choices(range(days), day_w, k=n), rng.choices(range(24), HOURS, k=n)))
    for offset in range(0, n, batch):
        k = min(batch, n - offset)
        ch_of, ty_of = rng.choices(channels, channel_w, k=k), rng.choices(types, type_w, k=k)
        leaf_of, unit_of = rng.choices(leaves, leaf_w, k=k), rng.choices(handlers, unit_w, k=k)
        addr_of = rng.choices(addresses, addr_w, k=k)
        rows = {name: [] for name in tables}
        tickets, assigns, versions, events = (rows["tickets"], rows["assignments"], rows["assignment_versions"],
                                              rows["ticket_events"])
        for j in range(k):
            tid = next_id + offset + j
            created = moments[offset + j]
            rtype, unit = ty_of[j], unit_of[j]
            district = rng.choice(districts).id if rng.random() < 0.85 else None
            t = dict(id=tid, number=f"12345-{created:%Y%m%d}-{tid:07d}", version=5, channel=ch_of[j].value,
                     request_type=rtype.value, category_id=leaf_of[j].id, urgency=Urgency.NORMAL.value,
                     caller_name="市民", caller_phone=f"13{rng.randrange(10**9):09d}",
                     confidential=rng.random() < 0.03, address=addr_of[j] if rng.random() < 0.9 else "",
                     district_id=district, title=f"{leaf_of[j].name}问题", content="市民反映情况，请尽快处理。",
                     created_at=created, updated_at=created, reopen_count=0, closure=None, closed_at=None,
                     lead_unit_id=None, dispatched_at=None, direct_answer=None, callback_due_at=None,
                     state=S.PENDING_DISPATCH.value)
            tickets.append(t)
            events.append(event(tid, created, E.RECORD, None, S.PENDING_DISPATCH, actor=dispatcher,
                                actor_unit=centre))
            if rng.random() < 0.08:
                answered = created + timedelta(minutes=8)
                t.update(state=S.CLOSED.value, closure=Closure.ANSWERED.value, closed_at=answered,
                         direct_answer="已当场解答。")
                events.append(event(tid, answered, E.ANSWER, S.PENDING_DISPATCH, S.CLOSED, actor=dispatcher,
                                    actor_unit=centre, note="已当场解答。",
                                    payload={"closure": Closure.ANSWERED.value}))
                continue
            dispatched = created + timedelta(minutes=rng.randrange(5, 180))
            if dispatched > end:
                continue
            limit = timedelta(days=HANDLE_DAYS.get(rtype, 7.0))
            signed = _s(dispatched + timedelta(minutes=1, hours=rng.expovariate(1 / 4)))
            late = rng.random() < 0.12
            replied = _s(dispatched + limit * (rng.uniform(1.02, 1.6) if late else rng.uniform(0.15, 0.98)))
            if replied <= signed:  # a unit replies after it signed
                replied = signed + timedelta(minutes=rng.randrange(10, 120))
            reviewed = _s(replied + timedelta(hours=rng.uniform(1, 20)))
            called = _s(reviewed + timedelta(hours=rng.uniform(2, 30)))
            aid = next_aid
            next_aid += 1
            a = dict(id=aid, ticket_id=tid, unit_id=unit.id, role=AssignmentRole.LEAD.value, active=True, round=1,
                     return_overruled=False, dispatched_at=dispatched, sign_due_at=dispatched + timedelta(days=1),
                     handle_due_at=dispatched + limit, handle_due_original_at=dispatched + limit,
                     return_due_at=dispatched + timedelta(days=2), handle_started_at=dispatched,
                     sign_warn_at=dispatched + timedelta(hours=19), handle_warn_at=_s(dispatched + limit * 0.8),
                     escalation_level=1, calendar_confirmed=True, extension_count=0, signed_at=None, replied_at=None,
                     reply_working_days=None, dispatched_by_id=dispatcher)
            assigns.append(a)
            t.update(lead_unit_id=unit.id, dispatched_at=dispatched, state=S.DISPATCHED.value)
            a["state"] = A.DISPATCHED.value
            base = _version_base(a)
            steps = [(dispatched, {**base, "state": A.DISPATCHED.value})]
            events.append(event(tid, dispatched, E.DISPATCH, S.PENDING_DISPATCH, S.DISPATCHED, assignment_id=aid,
                                actor=dispatcher, actor_unit=centre, payload={"lead_unit_id": unit.id}))
            try:
                if signed > end:
                    continue
                a.update(signed_at=signed, signed_by_id=author, state=A.SIGNED.value)
                t["state"] = S.SIGNED.value
                steps.append((signed, {**steps[-1][1], "state": A.SIGNED.value, "signed_at": signed}))
                events.append(event(tid, signed, E.SIGN, S.DISPATCHED, S.SIGNED, assignment_id=aid, actor=author,
                                    actor_unit=unit.id))
                if replied > end:
                    continue
                a.update(replied_at=replied, reply_working_days=_weekdays_between(dispatched, replied),
                         state=A.REPLIED.value)
                t["state"] = S.REPLIED.value
                steps.append((replied, {**steps[-1][1], "state": A.REPLIED.value, "replied_at": replied}))
                events.append(event(tid, replied, E.REPLY, S.SIGNED, S.REPLIED, assignment_id=aid, actor=author,
                                    actor_unit=unit.id))
                rows["replies"].append(dict(ticket_id=tid, assignment_id=aid, unit_id=unit.id, author_id=author,
                                            created_at=replied, result="已办理。", actions_taken="",
                                            contacted_citizen=rng.random() < 0.9, contact_note="",
                                            public_text="已办理。", reviewed_at=reviewed if reviewed <= end else None,
                                            review_ok=True if reviewed <= end else None, review_note=""))
                if reviewed > end:
                    continue
                t.update(state=S.REVIEWED.value, callback_due_at=reviewed + timedelta(days=1))
                events.append(event(tid, reviewed, E.REVIEW_ACCEPT, S.REPLIED, S.REVIEWED, actor=dispatcher,
                                    actor_unit=centre))
                if called > end:
                    continue
                t["callback_due_at"] = None
                reached = rng.random() < 0.92
                sat = rng.choices([Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.UNSATISFIED],
                                  [80, 12, 8])[0] if reached else None
                resolution = ((Resolution.UNRESOLVED if sat is Satisfaction.UNSATISFIED else Resolution.RESOLVED).value
                              if reached else None)
                rows["callbacks"].append(dict(
                    ticket_id=tid, agent_id=agent, created_at=called, round=0, reached=reached, resolution=resolution,
                    satisfaction=sat.value if sat else None, citizen_words="", request_reasonable=None, note="",
                    outcome=(CallbackOutcome.RESOLVED if reached else CallbackOutcome.UNREACHABLE).value))
                cb_payload = {"reached": reached, "satisfaction": sat.value if sat else None, "resolution": resolution}
                if not reached:
                    # the attempts failed: closed as 未联系上
                    events.append(event(tid, called, E.CALLBACK, S.REVIEWED, S.REVIEWED, actor=agent,
                                        actor_unit=centre, payload=cb_payload))
                    events.append(event(tid, called, E.CLOSE, S.REVIEWED, S.CLOSED, actor=agent, actor_unit=centre,
                                        payload={"closure": Closure.UNREACHABLE.value}))
                    t.update(state=S.CLOSED.value, closed_at=called, closure=Closure.UNREACHABLE.value)
                elif sat is not Satisfaction.UNSATISFIED:
                    events.append(event(tid, called, E.CALLBACK, S.REVIEWED, S.CLOSED, actor=agent, actor_unit=centre,
                                        payload={**cb_payload, "closure": Closure.SATISFIED.value}))
                    t.update(state=S.CLOSED.value, closed_at=called, closure=Closure.SATISFIED.value)
                else:
                    # reopened for the same unit on a new deadline, under a supervision case;
                    # redone within the limit, or still being redone
                    redo_due = called + limit
                    redone = _s(called + limit * rng.uniform(0.3, 1.1))
                    recalled = _s(redone + timedelta(hours=rng.uniform(20, 50)))
                    t.update(reopen_count=1, state=S.REOPENED.value)
                    a.update(state=A.SIGNED.value, handle_due_at=redo_due, handle_due_original_at=redo_due,
                             handle_started_at=called, handle_warn_at=_s(called + limit * 0.8))
                    steps.append((called, {**steps[-1][1], "state": A.SIGNED.value, "handle_due_at": redo_due}))
                    events.append(event(tid, called, E.CALLBACK, S.REVIEWED, S.UNSATISFIED, actor=agent,
                                        actor_unit=centre, payload=cb_payload))
                    events.append(event(tid, called, E.REOPEN, S.UNSATISFIED, S.REOPENED, assignment_id=aid,
                                        actor=agent, actor_unit=centre,
                                        payload={"supervision_case_id": next_case, "level": 1, "round": 1,
                                                 "handle_due_at": redo_due.isoformat()}))
                    case = dict(id=next_case, ticket_id=tid, unit_id=unit.id,
                                reason=SupervisionReason.UNSATISFIED.value, state=SupervisionState.OPEN.value, level=1,
                                opened_at=called, opened_by_id=agent, due_at=redo_due, closed_at=None,
                                code=f"DB-{called.year:04d}-{next_case:06d}", urge_count=0, note="")
                    rows["supervision_cases"].append(case)
                    next_case += 1
                    if redone > end:
                        continue
                    a.update(replied_at=redone, reply_working_days=_weekdays_between(dispatched, redone),
                             state=A.REPLIED.value)
                    t["state"] = S.REPLIED.value
                    steps.append((redone, {**steps[-1][1], "state": A.REPLIED.value, "replied_at": redone}))
                    events.append(event(tid, redone, E.REPLY, S.REOPENED, S.REPLIED, assignment_id=aid, actor=author,
                                        actor_unit=unit.id))
                    if recalled > end:
                        continue
                    rows["callbacks"].append(dict(
                        ticket_id=tid, agent_id=agent, created_at=recalled, round=1, reached=True,
                        resolution=Resolution.RESOLVED.value, satisfaction=Satisfaction.BASICALLY.value,
                        citizen_words="", request_reasonable=None, note="", outcome=CallbackOutcome.RESOLVED.value))
                    events.append(event(tid, recalled, E.CALLBACK, S.REPLIED, S.CLOSED, actor=agent,
                                        actor_unit=centre,
                                        payload={"reached": True, "satisfaction": Satisfaction.BASICALLY.value,
                                                 "resolution": Resolution.RESOLVED.value,
                                                 "closure": Closure.SATISFIED.value}))
                    t.update(state=S.CLOSED.value, closure=Closure.SATISFIED.value, closed_at=recalled)
                    accepted = _s(recalled + timedelta(hours=rng.uniform(2, 48)))
                    if accepted <= end:
                        case.update(state=SupervisionState.CLOSED.value, closed_at=accepted, closed_by_id=dispatcher,
                                    close_note="验收销号")
                # closed: the assignment is done from the closing on
                a["state"] = A.DONE.value
                steps.append((t["closed_at"], {**steps[-1][1], "state": A.DONE.value}))
            finally:
                versions.extend(versions_of(steps))
        for t in tickets:
            t["updated_at"] = t["closed_at"] or t["created_at"]
        for name, table in tables.items():  # referenced rows first
            bulk_insert(table, rows[name])
        db.session.commit()
        echo(f"  inserted {offset + k}/{n}")
    return tables
