"""Dashboard figures for managers: volume by day, request type, channel, category and
district; the overdue trend; the week's hot topics.

Each figure is a GROUP BY in the database (no ticket is loaded into Python) over the
very WHERE clause that `search_tickets` builds for the ticket list, and carries the
search parameters of that list. So a figure and the list it drills down to cannot
disagree: they are the same filter. The per-day, per-category, per-district and hot-topic
counts are the grouping sets of one scan of the window on PostgreSQL (the filter, with a
unit's subtree, evaluated once), one GROUP BY each on SQLite.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import FunctionElement

from hotline.categories.models import Category
from hotline.units.models import Unit
from hotline.auth.models import User
from hotline.clock import now as clock_now
from hotline.enums import Channel, RequestType
from hotline.extensions import db
from hotline.tickets.models import Assignment, Ticket
from hotline.tickets.queries import missed_handle_deadline, search_tickets

#: How far back the "hot topics" look, ending on the period's last day.
HOT_DAYS = 7
TOP_N = 10
DEFAULT_DAYS = 30
MAX_DAYS = 732

OVERDUE_DEFINITION = (
    "超期趋势：按主办单位当前办理时限的到期日统计——办理时限已过、到期时仍未反馈（仍在办理或待签收）"
    "或在时限之后才反馈的工单数；每张工单计一次，计入其时限到期的那一天。"
    "按统计区间内的到期日计，不论工单何时受理；重办的工单按重办后的新时限计。")


class day_of(FunctionElement):
    """The calendar day of a timestamp, as a DATE, on SQLite and on PostgreSQL.

    Times are naive local times (see hotline.clock), so the day needs no time zone.
    """

    type = sa.Date()
    name = "day_of"
    inherit_cache = True


@compiles(day_of)
def _day_of_default(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(day_of, "sqlite")
def _day_of_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True)
class Window:
    """The period [date_from, date_to] (whole days, both included) and an optional unit."""

    date_from: date
    date_to: date
    unit_id: int | None = None

    @classmethod
    def last_days(cls, today: date, days: int = DEFAULT_DAYS, unit_id: int | None = None) -> Window:
        return cls(today - timedelta(days=days - 1), today, unit_id)

    @property
    def days(self) -> list[date]:
        return [self.date_from + timedelta(days=i) for i in range((self.date_to - self.date_from).days + 1)]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date_from, datetime.min.time())

    @property
    def end(self) -> datetime:
        return datetime.combine(self.date_to + timedelta(days=1), datetime.min.time())

    def params(self, **extra) -> dict:
        """Search parameters of the tickets received in the window (and the unit)."""
        out = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}
        if self.unit_id:
            out["unit_id"] = self.unit_id
        out.update(extra)
        return out

    def unit_params(self, **extra) -> dict:
        out = {"unit_id": self.unit_id} if self.unit_id else {}
        out.update(extra)
        return out


@dataclass
class Figure:
    """One number on the dashboard and the search parameters of the tickets behind it."""

    label: str
    value: int
    params: dict = field(default_factory=dict)


@dataclass
class Dashboard:
    window: Window
    hot_window: Window
    total: int
    by_day: list[Figure]
    by_type: list[Figure]
    by_channel: list[Figure]
    by_top_category: list[Figure]
    top_categories: list[Figure]
    by_district: list[Figure]
    overdue_by_day: list[Figure]
    overdue_total: int
    hot_categories: list[Figure]
    hot_addresses: list[Figure]
    overdue_definition: str = OVERDUE_DEFINITION


def _where(user: User, window: Window):
    """The ticket list's WHERE clause for the window: same filter, same tickets."""
    stmt = search_tickets(user, date_from=window.date_from, date_to=window.date_to, unit_id=window.unit_id)
    return stmt.whereclause


@dataclass
class Tallies:
    """Ticket counts of the window: per day (with its counts per request type and channel),
    per category (with its count over the hot window) and per district."""

    by_day: dict  # day -> (n, {request type: n}, {channel: n})
    by_category: dict  # category id -> n
    by_district: dict  # district id (None: not given) -> n
    hot_categories: dict  # category id -> n, over the hot window (the window's last days)


def tallies(user: User, window: Window, hot: Window) -> Tallies:
    """The window's tickets (the ticket list's filter) counted per day (and per type and
    channel within it), per category, per district, and per category over the hot window
    (its last days: the same filter with a later start).

    The groups are (day, request type, channel), category and district, with two counts
    each (all, and those of the hot window): two aggregates per row and grouping set
    instead of one per type and channel; the per-day, per-type and per-channel figures
    are sums of the first set's few thousand rows."""
    where = _where(user, window)
    day = day_of(Ticket.created_at).label("day")
    aggs = [sa.func.count(), sa.func.count().filter(Ticket.created_at >= hot.start)]
    sets = {"day": (day, Ticket.request_type, Ticket.channel), "category": (Ticket.category_id,),
            "district": (Ticket.district_id,)}
    rows: dict[str, list] = {name: [] for name in sets}
    if db.session.get_bind().dialect.name == "postgresql":
        # one scan: grouping sets; GROUPING(category, district) tells the set of a row
        cols = [day, Ticket.request_type, Ticket.channel, Ticket.category_id, Ticket.district_id]
        which = {0b11: "day", 0b01: "category", 0b10: "district"}
        stmt = (sa.select(sa.func.grouping(Ticket.category_id, Ticket.district_id), *cols, *aggs).where(where)
                .group_by(sa.func.grouping_sets(*(sa.tuple_(*c) for c in sets.values()))))
        for g, d, rt, ch, cat, dist, n, n_hot in db.session.execute(stmt):
            name = which[g]
            rows[name].append({"day": (d, rt, ch), "category": (cat,), "district": (dist,)}[name] + (n, n_hot))
    else:
        for name, cols in sets.items():
            rows[name] = [tuple(r) for r in db.session.execute(sa.select(*cols, *aggs).where(where).group_by(*cols))]
    by_day: dict = {}
    for d, rt, ch, n, _ in rows["day"]:
        total, types, channels = by_day.setdefault(d, [0, dict.fromkeys(RequestType, 0), dict.fromkeys(Channel, 0)])
        by_day[d][0] = total + n
        types[rt] += n
        channels[ch] += n
    return Tallies({d: tuple(v) for d, v in by_day.items()}, {r[0]: r[1] for r in rows["category"]},
                   {r[0]: r[1] for r in rows["district"]}, {r[0]: r[2] for r in rows["category"] if r[2]})


def volume(window: Window, t: Tallies) -> tuple[list[Figure], list[Figure], list[Figure], int]:
    """Tickets per day, per request type and per channel (the sums of the daily counts)."""
    per_day = {d: n for d, (n, _, _) in t.by_day.items()}
    types = {rt: sum(v[1][rt] for v in t.by_day.values()) for rt in RequestType}
    channels = {ch: sum(v[2][ch] for v in t.by_day.values()) for ch in Channel}
    by_day = [Figure(d.isoformat(), per_day.get(d, 0), window.params(date_from=d.isoformat(), date_to=d.isoformat()))
              for d in window.days]
    by_type = [Figure(rt.label, types[rt], window.params(request_type=rt.value)) for rt in RequestType]
    by_channel = [Figure(ch.label, channels[ch], window.params(channel=ch.value)) for ch in Channel]
    return by_day, by_type, by_channel, sum(per_day.values())


def top_level(full_name: str) -> str:
    """城乡建设 › 物业管理 › 电梯故障 → 城乡建设"""
    return full_name.split(" › ", 1)[0]


def by_category(window: Window, t: Tallies) -> tuple[list[Figure], list[Figure]]:
    """Per top-level category (all its subcategories together) and the ten most frequent
    categories as filed. The database counts per category; the top-level figure adds up
    those few per-category counts."""
    rows = list(t.by_category.items())
    names = dict(db.session.execute(sa.select(Category.id, Category.full_name)
                                    .where(Category.id.in_([r[0] for r in rows]))).all())
    tops: dict[str, int] = {}
    for cid, count in rows:
        tops[top_level(names[cid])] = tops.get(top_level(names[cid]), 0) + count
    roots = dict(db.session.execute(sa.select(Category.full_name, Category.id)
                                    .where(Category.full_name.in_(list(tops)))).all())
    by_top = [Figure(name, count, window.params(**({"category_id": roots[name]} if name in roots
                                                   else {"category_root": name})))
              for name, count in sorted(tops.items(), key=lambda kv: (-kv[1], kv[0]))]
    leaves = sorted(rows, key=lambda r: (-r[1], names[r[0]]))[:TOP_N]
    top = [Figure(names[cid], count, window.params(category_id=cid, category_exact="1")) for cid, count in leaves]
    return by_top, top


def by_district(window: Window, t: Tallies) -> list[Figure]:
    rows = list(t.by_district.items())
    names = dict(db.session.execute(sa.select(Unit.id, Unit.name)
                                    .where(Unit.id.in_([r[0] for r in rows if r[0] is not None]))).all())
    out = [Figure(names[did] if did is not None else "未填写区县", count, window.params(district_id=did or 0))
           for did, count in rows]
    return sorted(out, key=lambda f: (-f.value, f.label))


def overdue_trend(user: User, window: Window, now: datetime | None = None) -> tuple[list[Figure], int]:
    """Per day of the window: tickets whose lead unit's handle deadline fell that day and
    was missed (see OVERDUE_DEFINITION and missed_handle_deadline)."""
    now = now or clock_now()
    due_day = day_of(Assignment.handle_due_at).label("day")
    stmt = (sa.select(due_day, sa.func.count(sa.distinct(Assignment.ticket_id)))
            .where(missed_handle_deadline(now), Assignment.handle_due_at >= window.start,
                   Assignment.handle_due_at < window.end)
            .group_by(due_day))
    scope = search_tickets(user, unit_id=window.unit_id).whereclause
    if scope is not None:
        stmt = stmt.join(Ticket, Ticket.id == Assignment.ticket_id).where(scope)
    per_day = dict(db.session.execute(stmt).all())
    figures = [Figure(d.isoformat(), per_day.get(d, 0), window.unit_params(overdue_on=d.isoformat()))
               for d in window.days]
    return figures, sum(per_day.values())


def hot_window(window: Window) -> Window:
    """The last HOT_DAYS days of the window."""
    return Window(max(window.date_from, window.date_to - timedelta(days=HOT_DAYS - 1)), window.date_to,
                  window.unit_id)


def hot_topics(user: User, hot: Window, t: Tallies) -> tuple[list[Figure], list[Figure]]:
    """The most frequent categories and addresses of the hot window."""
    names = dict(db.session.execute(sa.select(Category.id, Category.full_name)
                                    .where(Category.id.in_([c for c in t.hot_categories if c is not None]))).all())
    cats = sorted(((cid, names[cid], n) for cid, n in t.hot_categories.items() if cid in names),
                  key=lambda r: (-r[2], r[1]))[:TOP_N]
    n = sa.func.count().label("n")
    addresses = db.session.execute(
        sa.select(Ticket.address, n).where(_where(user, hot), Ticket.address != "")
        .group_by(Ticket.address).order_by(n.desc(), Ticket.address).limit(TOP_N)).all()
    return ([Figure(name, count, hot.params(category_id=cid, category_exact="1")) for cid, name, count in cats],
            [Figure(addr, count, hot.params(address=addr)) for addr, count in addresses])


def build_dashboard(user: User, window: Window, now: datetime | None = None) -> Dashboard:
    hot = hot_window(window)
    t = tallies(user, window, hot)
    by_day, by_type, by_channel, total = volume(window, t)
    by_top, top = by_category(window, t)
    overdue, overdue_total = overdue_trend(user, window, now)
    hot_cats, hot_addresses = hot_topics(user, hot, t)
    return Dashboard(window=window, hot_window=hot, total=total, by_day=by_day, by_type=by_type,
                     by_channel=by_channel, by_top_category=by_top, top_categories=top,
                     by_district=by_district(window, t), overdue_by_day=overdue, overdue_total=overdue_total,
                     hot_categories=hot_cats, hot_addresses=hot_addresses)
