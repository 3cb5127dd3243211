"""Read side of tickets: who may see what, and the lists the pages show."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import joinedload, selectinload

from hotline.auth.models import User
from hotline.categories.models import Category
from hotline.clock import now as clock_now
from hotline.enums import (OPEN_ASSIGNMENT_STATES, AssignmentRole, AssignmentState, Channel, ExtensionState,
                           RequestType, ReturnDecision, Role, SupervisionState, TicketState)
from hotline.errors import PermissionDenied
from hotline.extensions import db
from hotline.supervision.models import SupervisionCase
from hotline.tickets.models import Assignment, ExtensionRequest, Ticket, TicketEvent, TicketReturn
from hotline.tickets.search import text_condition, text_relevance
from hotline.units.models import Unit
from hotline.units.queries import subtree_ids

#: Roles that work for the hotline centre and see every ticket.
CENTRE_ROLES = (Role.OPERATOR, Role.DISPATCHER, Role.CALLBACK_AGENT, Role.SUPERVISOR, Role.MANAGER, Role.LEADER,
                Role.ADMIN)


def sees_all(user: User) -> bool:
    return user.has_role(*CENTRE_ROLES)


def can_see_caller(user: User, ticket: Ticket) -> bool:
    """Confidential tickets hide the caller from unit staff."""
    return not ticket.confidential or sees_all(user)


def unit_scope_condition(user: User):
    """Tickets with an active assignment to the user's unit or any unit below it (as the
    lead, co-handling or handling unit)."""
    ids = subtree_ids(user.unit)
    return Ticket.id.in_(sa.select(Assignment.ticket_id).where(
        Assignment.active, sa.or_(Assignment.unit_id.in_(ids), Assignment.handler_unit_id.in_(ids))))


def visible_tickets(user: User):
    stmt = sa.select(Ticket)
    if not sees_all(user):
        stmt = stmt.where(unit_scope_condition(user))
    return stmt


def get_visible_ticket(user: User, ticket_id: int) -> Ticket:
    """The ticket, or the same refusal (403) whether it is missing or not the user's to see,
    so ticket ids cannot be probed."""
    stmt = visible_tickets(user).where(Ticket.id == ticket_id).options(
        selectinload(Ticket.assignments), selectinload(Ticket.events).joinedload(TicketEvent.actor))
    ticket = db.session.scalars(stmt).first()
    if ticket is None:
        raise PermissionDenied("NOT_VISIBLE", "工单不存在或您无权查看")
    return ticket


def earlier_tickets(user: User, ticket: Ticket, limit: int = 20) -> list[Ticket]:
    """The caller's other tickets that this user may see (never confidential ones for units)."""
    stmt = visible_tickets(user).where(Ticket.caller_phone == ticket.caller_phone, Ticket.id != ticket.id)
    if not sees_all(user):
        stmt = stmt.where(Ticket.confidential.is_(False))
    return list(db.session.scalars(stmt.order_by(Ticket.created_at.desc()).limit(limit)))


# --- queues -----------------------------------------------------------------------------
DUE_SOON = timedelta(hours=24)

#: queue key -> (label, roles that work it)
QUEUES = {
    "pending_dispatch": ("待派单", (Role.DISPATCHER, Role.OPERATOR)),
    "sent_back": ("退回受理待修改", (Role.OPERATOR,)),
    "returned": ("退单待处理", (Role.DISPATCHER,)),
    "extensions": ("延期待审批", (Role.DISPATCHER,)),
    "to_sign": ("待签收", (Role.UNIT_STAFF, Role.DISPATCHER, Role.SUPERVISOR)),
    "handling": ("办理中", (Role.UNIT_STAFF, Role.DISPATCHER, Role.SUPERVISOR)),
    "due_soon": ("即将超期", (Role.UNIT_STAFF, Role.DISPATCHER, Role.SUPERVISOR, Role.MANAGER)),
    "overdue": ("已超期", (Role.UNIT_STAFF, Role.DISPATCHER, Role.SUPERVISOR, Role.MANAGER)),
    "to_review": ("待审核", (Role.DISPATCHER, Role.UNIT_STAFF)),
    "to_callback": ("待回访", (Role.CALLBACK_AGENT, Role.DISPATCHER)),
    "callback_overdue": ("回访超期", (Role.CALLBACK_AGENT, Role.MANAGER)),
    "unsatisfied": ("不满意待重办", (Role.DISPATCHER, Role.SUPERVISOR, Role.CALLBACK_AGENT)),
    "supervised": ("督办中", (Role.SUPERVISOR, Role.UNIT_STAFF, Role.MANAGER, Role.DISPATCHER)),
    "pending_signoff": ("待签批", (Role.LEADER,)),
}


def _assignment_exists(user: User, *conds):
    """EXISTS an active assignment of this ticket (in the user's scope) matching conds."""
    stmt = sa.select(Assignment.id).where(Assignment.ticket_id == Ticket.id, Assignment.active, *conds)
    if not sees_all(user):
        ids = subtree_ids(user.unit)
        stmt = stmt.where(sa.or_(Assignment.unit_id.in_(ids), Assignment.handler_unit_id.in_(ids)))
    return sa.exists(stmt)


def _open_assignment_conditions(key: str, now):
    """The condition on one active assignment that puts its ticket in an assignment queue
    (None: the queue is not one of those)."""
    open_states = (AssignmentState.DISPATCHED, AssignmentState.SIGNED)
    if key == "to_sign":
        return Assignment.state == AssignmentState.DISPATCHED
    if key == "handling":
        return Assignment.state == AssignmentState.SIGNED
    if key == "due_soon":
        return sa.and_(Assignment.state.in_(open_states), Assignment.handle_due_at >= now,
                       Assignment.handle_due_at < now + DUE_SOON)
    if key == "overdue":
        return sa.and_(Assignment.state.in_(open_states), sa.or_(
            Assignment.handle_due_at < now,
            sa.and_(Assignment.state == AssignmentState.DISPATCHED, Assignment.sign_due_at < now)))
    return None


def queue_condition(user: User, key: str):
    now = clock_now()
    if key == "pending_dispatch":
        return Ticket.state == TicketState.PENDING_DISPATCH
    if key == "sent_back":
        return Ticket.state == TicketState.SENT_BACK
    if key == "returned":
        return sa.exists(sa.select(TicketReturn.id).where(
            TicketReturn.ticket_id == Ticket.id, TicketReturn.decision == ReturnDecision.PENDING))
    if key == "extensions":
        return sa.exists(sa.select(ExtensionRequest.id).where(
            ExtensionRequest.ticket_id == Ticket.id, ExtensionRequest.state == ExtensionState.PENDING))
    on_assignment = _open_assignment_conditions(key, now)
    if on_assignment is not None:
        return _assignment_exists(user, on_assignment)
    if key == "to_review":
        return Ticket.state == TicketState.REPLIED
    if key == "to_callback":
        return Ticket.state == TicketState.REVIEWED
    if key == "callback_overdue":
        return sa.and_(Ticket.state == TicketState.REVIEWED, Ticket.callback_due_at < now)
    if key == "unsatisfied":
        return Ticket.state == TicketState.UNSATISFIED
    if key == "pending_signoff":
        return Ticket.state == TicketState.PENDING_SIGNOFF
    if key == "supervised":
        return sa.exists(sa.select(SupervisionCase.id).where(
            SupervisionCase.ticket_id == Ticket.id, SupervisionCase.state == SupervisionState.OPEN))
    raise KeyError(key)


def queues_for(user: User) -> list[str]:
    return [k for k, (_, roles) in QUEUES.items() if user.has_role(*roles)]


def _queue_count(user: User, key: str, now):
    """One queue's count as a scalar subquery, read from the side that is small: the open
    assignments (partial indexes) for the units' queues, the pending returns, extension
    requests and open cases for theirs, the ticket state index for the others. An open
    assignment's ticket is never closed (closing finishes them), so those counts need no
    ticket row. (`Assignment.active` plain, not `IS TRUE`: PostgreSQL proves the partial
    indexes' `WHERE active AND …` only from the plain form.)"""
    scoped = not sees_all(user)
    ids = subtree_ids(user.unit) if scoped else None
    on_assignment = _open_assignment_conditions(key, now)
    if on_assignment is not None:
        stmt = sa.select(sa.func.count(sa.distinct(Assignment.ticket_id))).where(
            Assignment.active, on_assignment)
        if scoped:
            stmt = stmt.where(sa.or_(Assignment.unit_id.in_(ids), Assignment.handler_unit_id.in_(ids)))
        return stmt.scalar_subquery()
    stmt = sa.select(sa.func.count()).select_from(Ticket).where(
        Ticket.state != TicketState.CLOSED, queue_condition(user, key))
    if key in ("returned", "extensions", "supervised"):
        row = {"returned": (TicketReturn.ticket_id, TicketReturn.decision == ReturnDecision.PENDING),
               "extensions": (ExtensionRequest.ticket_id, ExtensionRequest.state == ExtensionState.PENDING),
               "supervised": (SupervisionCase.ticket_id, SupervisionCase.state == SupervisionState.OPEN)}[key]
        stmt = sa.select(sa.func.count()).select_from(Ticket).where(
            Ticket.state != TicketState.CLOSED, Ticket.id.in_(sa.select(row[0]).where(row[1])))
    if scoped:
        stmt = stmt.where(unit_scope_condition(user))
    return stmt.scalar_subquery()


def assignment_queue_total(user: User, key: str, filters: dict) -> int | None:
    """The number of tickets in an assignment queue (待签收, 办理中, 即将超期, 已超期) as the
    home page counts it, from the open assignments alone: the same tickets the queue's
    list selects when no search filter (`filters`, search_tickets' keywords; the sort
    order narrows nothing) narrows it. None for the other queues or a narrowed list."""
    if any(v is not None and v is not False and v != "" for k, v in filters.items() if k != "sort"):
        return None
    now = clock_now()
    if _open_assignment_conditions(key, now) is None:
        return None
    return db.session.scalar(sa.select(_queue_count(user, key, now)))


def queue_counts(user: User) -> dict[str, int]:
    """One statement: a scalar subquery per queue the user works."""
    keys = queues_for(user)
    if not keys:
        return {}
    now = clock_now()
    row = db.session.execute(sa.select(*[_queue_count(user, k, now).label(k) for k in keys])).one()
    return dict(zip(keys, row))


# --- search -----------------------------------------------------------------------------
#: What a ticket list shows beside each ticket (its lead unit, its assignments).
LIST_OPTIONS = (joinedload(Ticket.lead_unit), selectinload(Ticket.assignments))

SORTS = {
    "created_desc": Ticket.id.desc(),
    "relevance": Ticket.id.desc(),  # without a keyword; with one, see below
    "created_asc": Ticket.id.asc(),
    "updated_desc": Ticket.updated_at.desc(),
    "state": Ticket.state.asc(),
}


def missed_handle_deadline(now):
    """Lead assignments (主办) whose handle deadline (办理时限) has passed without a reply in
    time: still open after it, or replied after it. The dashboard's overdue trend counts
    these by the day of the deadline; `search_tickets(overdue_on=day)` lists them."""
    return sa.and_(Assignment.role == AssignmentRole.LEAD, Assignment.active.is_(True),
                   Assignment.handle_due_at < now,
                   sa.or_(Assignment.state.in_(OPEN_ASSIGNMENT_STATES),
                          Assignment.replied_at > Assignment.handle_due_at))


def search_tickets(user: User, *, number=None, phone=None, text=None, category_id=None, unit_id=None,
                   state=None, date_from=None, date_to=None, queue=None, sort="created_desc",
                   request_type=None, channel=None, district_id=None, address=None, category_root=None,
                   category_exact=False, overdue_on=None, text_index=True):
    """The ticket list behind the search page, the CSV export and every dashboard figure.

    The later keyword filters serve the dashboard's drill-down: `district_id=0` means no
    district; `category_exact` drops the subcategories of `category_id`; `category_root`
    is a top-level category name; `overdue_on` a day on which a lead unit's handle
    deadline was missed (see missed_handle_deadline). `text_index=False` matches the
    keywords by the substring condition alone (see keyword_search)."""
    if queue is not None and _open_assignment_conditions(queue, clock_now()) is not None:
        stmt = sa.select(Ticket)  # the queue's assignment is in the user's scope: visible
    else:
        stmt = visible_tickets(user)
    if number:
        stmt = stmt.where(Ticket.number.startswith(number.strip()) if len(number.strip()) < 21
                          else Ticket.number == number.strip())
    if phone:
        stmt = stmt.where(Ticket.caller_phone == phone.strip())
        if not sees_all(user):
            stmt = stmt.where(Ticket.confidential.is_(False))
    words = text.split()[:5] if text else []
    for word in words:
        stmt = stmt.where(text_condition(word, indexed=text_index))
    if category_id:
        cat = db.session.get(Category, int(category_id))
        if cat is not None and category_exact:
            stmt = stmt.where(Ticket.category_id == cat.id)
        elif cat is not None:
            sub = sa.select(Category.id).where(sa.or_(Category.id == cat.id,
                                                      Category.full_name.startswith(cat.full_name + " › ")))
            stmt = stmt.where(Ticket.category_id.in_(sub))
    if unit_id:
        unit = db.session.get(Unit, int(unit_id))
        if unit is not None:
            stmt = stmt.where(Ticket.id.in_(sa.select(Assignment.ticket_id).where(
                Assignment.active, Assignment.unit_id.in_(subtree_ids(unit)))))
    if state:
        stmt = stmt.where(Ticket.state == TicketState(state))
    if date_from:
        stmt = stmt.where(Ticket.created_at >= date_from)
    if date_to:
        stmt = stmt.where(Ticket.created_at < date_to + timedelta(days=1))
    if queue:
        stmt = stmt.where(queue_condition(user, queue))
    if request_type:
        stmt = stmt.where(Ticket.request_type == RequestType(request_type))
    if channel:
        stmt = stmt.where(Ticket.channel == Channel(channel))
    if district_id is not None and district_id != "":
        district = int(district_id)
        stmt = stmt.where(Ticket.district_id.is_(None) if district == 0 else Ticket.district_id == district)
    if address:
        stmt = stmt.where(Ticket.address == address)
    if category_root:
        root = category_root.strip()
        stmt = stmt.where(Ticket.category_id.in_(sa.select(Category.id).where(
            sa.or_(Category.full_name == root, Category.full_name.startswith(root + " › ")))))
    if overdue_on:
        day = datetime.combine(overdue_on, datetime.min.time())
        stmt = stmt.where(sa.exists(sa.select(Assignment.id).where(
            Assignment.ticket_id == Ticket.id, missed_handle_deadline(clock_now()),
            Assignment.handle_due_at >= day, Assignment.handle_due_at < day + timedelta(days=1))))
    stmt = stmt.options(*LIST_OPTIONS)
    if words and sort in (None, "", "relevance"):
        # relevance (a word in the title before one in the content or the address), then date
        return stmt.order_by(text_relevance(words).desc(), Ticket.created_at.desc(), Ticket.id.desc())
    return stmt.order_by(SORTS.get(sort, SORTS["created_desc"]))


# --- one page of a list ---------------------------------------------------------------
#: Totals above this are shown as "超过 10 000 条" (counting a million matches exactly
#: would cost more than the page itself).
TOTAL_CAP = 10_000


class TicketPage:
    """One page of a ticket list: its tickets, the total (counted up to TOTAL_CAP), and
    the arguments of the previous and next pages. Lists in id order (newest or oldest
    first) page by the last id seen (keyset: page 500 costs what page 1 costs); the other
    orders by offset."""

    def __init__(self, items, *, page, per_page, total, capped, prev_args, next_args):
        self.items, self.page, self.per_page = items, page, per_page
        self.total, self.capped = total, capped
        self.prev_args, self.next_args = prev_args, next_args
        self.has_prev, self.has_next = prev_args is not None, next_args is not None

    @property
    def pages(self) -> int | None:
        """The number of pages, None when the total is capped."""
        return None if self.capped else max((self.total + self.per_page - 1) // self.per_page, 1)


def capped_count(stmt, cap: int = TOTAL_CAP) -> int:
    """The number of rows `stmt` selects, counting no further than cap + 1."""
    sub = stmt.order_by(None).limit(cap + 1).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(sub))


#: A keyword search looks at the newest 2 × cap tickets first (the sample); from the matches
#: there it may count in a window of up to WINDOW_FACTOR × cap newest tickets (a walk
#: costs about a microsecond a ticket here), and it walks for a newest-first page when at
#: least 1 / WALK_DENSITY of the sample matched (page 1 then within ~ 50 × WALK_DENSITY rows).
WINDOW_FACTOR = 50
WALK_DENSITY = 100


def keyword_search(user: User, filters: dict, indexed, *, queue=None, cap: int) -> tuple:
    """(statement, total counted no further than cap + 1) of a search with keywords;
    `indexed` is search_tickets' statement for `filters` (the gram index's way).

    A word in a tenth of the tickets matches a hundred thousand of a million: the GIN
    index of grams hands over every candidate (a bitmap that grows with the table, about
    200 ms for 中山路 at 1M) before a count can stop at the cap or a page can take the
    newest 50. A walk down the id index testing the substring costs what it reads, not
    what the table holds. So the newest tickets are looked at first:

    - the total: when the newest tickets alone hold more than `cap` matches, so does the
      list; the window counted is sized from the sample's matches (1.5 × cap of them
      expected), and only up to WINDOW_FACTOR × cap tickets; otherwise the word is rare
      enough for the index, which counts;
    - the rows: a list newest first (by date, or by relevance given up for the date over
      more than `cap`) of a word common among the newest tickets is that walk, the same
      rows (the substring condition is the rule, the grams only its index); otherwise
      the index finds them.
    """
    def count_newest(rows: int) -> int:
        return capped_count(walk.where(Ticket.id > newest - rows), cap)

    newest = db.session.scalar(sa.select(sa.func.max(Ticket.id))) or 0
    walk = search_tickets(user, queue=queue, text_index=False, **filters)
    sample = 2 * cap
    seen = count_newest(sample)
    total = seen if seen > cap else None
    if total is None and seen:
        window = -(-3 * cap * sample // (2 * seen))  # where 1.5 × cap matches are expected
        if window <= WINDOW_FACTOR * cap:
            counted = count_newest(window)
            total = counted if counted > cap else None
    if total is None:
        total = capped_count(indexed, cap)
    sort = filters.get("sort") or "relevance"  # search_tickets' default with keywords
    newest_first = sort == "created_desc" or (sort == "relevance" and total > cap)
    return (walk if newest_first and seen * WALK_DENSITY >= sample else indexed), total


def tickets_by_id(ids: list[int]) -> list[Ticket]:
    """The tickets of `ids` in that order, loaded as the lists show them (LIST_OPTIONS)."""
    if not ids:
        return []
    loaded = {t.id: t for t in db.session.scalars(
        sa.select(Ticket).where(Ticket.id.in_(ids)).options(*LIST_OPTIONS)).unique()}
    return [loaded[i] for i in ids]


def ticket_page(stmt, *, page: int, per_page: int, keyset: str | None, after: int | None = None,
                before: int | None = None, by_date_when_capped: bool = False,
                total: int | None = None, cap: int | None = None) -> TicketPage:
    """A page of `stmt` (ordered). `keyset` is "desc" or "asc" when the order is the ticket
    id's (then `after` / `before` name the last / first id of the neighbouring page), None
    to page by offset. A relevance order over more than `cap` matches is given up for
    the newest first (`by_date_when_capped`): ranking a million matches costs seconds.
    `total`: the number of rows of `stmt` when the caller knows it, counted no further
    than `cap` + 1 (default TOTAL_CAP)."""
    cap = TOTAL_CAP if cap is None else cap
    if total is None:
        total = capped_count(stmt, cap)
    capped = total > cap
    if capped and by_date_when_capped:
        stmt, keyset = stmt.order_by(None).order_by(Ticket.id.desc()), "desc"
    page = max(page, 1)
    # The page's ids first (the filters, the order, the offset read from indexes, mostly
    # index only), then those tickets' rows: the rows of the tickets skipped by an offset,
    # or passed over by a scan in id order, are never read.
    ids_stmt = stmt.with_only_columns(Ticket.id)
    if keyset is not None and (after is not None or before is not None):
        newer = Ticket.id > (before if before is not None else after)
        older = Ticket.id < (before if before is not None else after)
        if before is not None:  # the page before `before`: read backwards, then turn round
            cond, order = (newer, Ticket.id.asc()) if keyset == "desc" else (older, Ticket.id.desc())
        else:
            cond, order = (older, Ticket.id.desc()) if keyset == "desc" else (newer, Ticket.id.asc())
        ids = db.session.scalars(ids_stmt.where(cond).order_by(None).order_by(order).limit(per_page + 1)).all()
        more = len(ids) > per_page
        ids = ids[:per_page]
        if before is not None:
            ids.reverse()
        more_before = more if before is not None else True
        more_after = more if before is None else True
    else:
        ids = db.session.scalars(ids_stmt.limit(per_page + 1).offset((page - 1) * per_page)).all()
        more_after = len(ids) > per_page
        ids = ids[:per_page]
        more_before = page > 1
    rows = tickets_by_id(ids)
    if page > 1 and not rows:
        abort(404)  # past the last page
    more_before = more_before and page > 1 and bool(rows)
    more_after = more_after and bool(rows)
    if keyset is not None:
        prev_args = {"page": page - 1, "before": rows[0].id} if more_before else None
        next_args = {"page": page + 1, "after": rows[-1].id} if more_after else None
    else:
        prev_args = {"page": page - 1} if more_before else None
        next_args = {"page": page + 1} if more_after else None
    if prev_args is not None and prev_args["page"] == 1:
        prev_args = {"page": 1}
    return TicketPage(rows, page=page, per_page=per_page, total=min(total, cap), capped=capped,
                      prev_args=prev_args, next_args=next_args)
