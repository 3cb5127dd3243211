"""Figures per unit and up the unit tree, with the ids behind each number.

`figure_ids` counts each figure per unit (the unit's own) in the database, or lists the
item ids behind it ({key: {unit_id: [item ids]}}) when a snapshot stores them; a unit's
figure in a report is the sum over it and every unit below it, so the drill-down of any
cell is the union of those lists and its length is the number shown.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from datetime import timedelta
from fractions import Fraction

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from hotline.deadlines.services import calendar
from hotline.enums import UnitKind
from hotline.extensions import db
from hotline.reports.definitions import Definitions
from hotline.reports.dashboard import day_of
from hotline.reports.metrics import FAMILIES, METRICS, Period, condition, counted
from hotline.reports.queries import (count_select, count_statements, counts_from, id_statements, ids_from,
                                     report_settings, run_many)
from hotline.units.models import Unit


@dataclass
class UnitNode:
    id: int
    name: str
    level: int
    path: str
    kind: str

    @property
    def ancestors(self) -> list[int]:
        return [int(x) for x in self.path.strip("/").split("/") if x]


def unit_nodes() -> list[UnitNode]:
    rows = db.session.execute(sa.select(Unit.id, Unit.name, Unit.level, Unit.path, Unit.kind)
                              .order_by(Unit.path)).all()
    return [UnitNode(r.id, r.name, r.level, r.path, r.kind.value if hasattr(r.kind, "value") else r.kind)
            for r in rows]


def centre_id(nodes: list[UnitNode]) -> int | None:
    return next((n.id for n in nodes if n.kind == UnitKind.CENTRE.value), None)


def subtree(unit_id: int, nodes: list[UnitNode]) -> set[int]:
    """The unit and every unit below it."""
    return {n.id for n in nodes if unit_id in n.ancestors}


@dataclass
class Figures:
    """Counts per figure per unit (own), the item ids behind them when asked for (then each
    count is the length of its list), the sums of working minutes for the averages, and
    roll-ups on demand."""

    counts: dict[str, dict[int, int]]
    minutes: dict[str, dict[int, int]]
    nodes: list[UnitNode]
    ids: dict[str, dict[int, list[int]]] | None = None

    def own(self, key: str, unit_id: int) -> int:
        return self.counts[key].get(unit_id, 0)

    def _roll(self, per_unit: dict[int, int]) -> dict[int, int]:
        by_id = {n.id: n for n in self.nodes}
        total: dict[int, int] = {}
        for uid, n in per_unit.items():
            node = by_id.get(uid)
            for anc in (node.ancestors if node else [uid]):
                total[anc] = total.get(anc, 0) + n
        return total

    def rolled(self, key: str) -> dict[int, int]:
        return self._roll(self.counts[key])

    def rolled_minutes(self, key: str) -> dict[int, int]:
        return self._roll(self.minutes.get(key, {}))

    def city(self, key: str) -> int:
        return sum(self.counts[key].values())

    def city_minutes(self, key: str) -> int:
        return sum(self.minutes.get(key, {}).values())


#: Averages: (sum of working minutes key, its basis figure, the row's start and end columns)
AVERAGES = {"sign_minutes": ("signed", "at", "signed_at"), "handle_minutes": ("answered", "at", "replied_at")}


@dataclass
class Planned:
    """A set of figures as statements to run (together with others: run_many) and the fold
    of their rows into Figures."""

    statements: list
    fold: Callable[[list], Figures]
    weights: list[int]  # each statement's rough cost (metrics.Family.weight)


def plan_figures(keys, p: Period, d: Definitions, nodes: list[UnitNode] | None = None, *,
                 averages: bool = True, ids: bool = True) -> Planned:
    """The queries of figure_ids(), not yet run."""
    nodes = nodes if nodes is not None else unit_nodes()
    keys = list(keys)
    averages = averages and "received" in keys
    wanted = keys + [b for b, _, _ in AVERAGES.values() if b not in keys and averages]
    if averages and not ids:
        return _plan_counts_with_minutes(wanted, p, d, nodes)
    statements = id_statements(wanted, p, d) if ids else count_statements(wanted, p, d)
    sums = [(name, working_minutes_statement(basis, start, end, p, d))
            for name, (basis, start, end) in AVERAGES.items()] if averages else []

    weights = [_weight(keys) for keys, _ in statements] + [_weight([AVERAGES[name][0]]) for name, _ in sums]

    def fold(results) -> Figures:
        if ids:
            listed = ids_from(wanted, statements, results)
            per_unit = {k: {uid: len(items) for uid, items in v.items()} for k, v in listed.items()}
        else:
            listed, per_unit = None, counts_from(wanted, statements, results)
        minutes = {name: working_minutes_from(rows) for (name, _), rows in zip(sums, results[len(statements):])}
        return Figures(per_unit, minutes, nodes, listed)

    return Planned([stmt for _, stmt in statements] + [stmt for _, stmt in sums], fold, weights)


def _weight(keys: list[str]) -> int:
    """The rough cost of the statement of `keys`' family (one family per statement)."""
    return FAMILIES[METRICS[keys[0]].family].weight


def _plan_counts_with_minutes(wanted: list[str], p: Period, d: Definitions, nodes) -> Planned:
    """The counts, with the averages' working minutes taken from the same rows in the same
    statement: the family the averages are of (the lead dispatches) is read once into a
    materialized CTE, and its counts per unit and its two sums of working minutes per
    (unit, first day, last day) come back as the parts of one UNION ALL, padded to one
    shape (part, unit, first day, last day, values…). Three reads of the family become one."""
    family = METRICS[next(iter(AVERAGES.values()))[0]].family
    assert all(METRICS[basis].family == family for basis, _, _ in AVERAGES.values())
    others = count_statements([k for k in wanted if METRICS[k].family != family], p, d)
    own_keys = [k for k in wanted if METRICS[k].family == family]
    rows = sa.select(*counted(family, p, d).c).cte(f"{family}_rows").prefix_with("MATERIALIZED")
    width = max(len(own_keys), 4)
    no_day, no_value = sa.cast(sa.null(), sa.Date), sa.cast(sa.null(), sa.BigInteger)

    def padded(part: int, unit, days, values):
        values = list(values) + [no_value] * (width - len(values))
        return [sa.literal(part).label("part"), unit.label("unit_id"), *days,
                *(v.label(f"v{i}") for i, v in enumerate(values))]

    counts = count_select(own_keys, rows.c, p, d)
    parts = [counts.with_only_columns(*padded(0, rows.c.unit_id, [no_day, no_day], list(counts.selected_columns)[1:]))]
    for i, (basis, start, end) in enumerate(AVERAGES.values(), start=1):
        minutes = working_minutes_statement(basis, start, end, p, d, rows.c)
        cols = list(minutes.selected_columns)
        parts.append(minutes.with_only_columns(*padded(i, rows.c.unit_id, cols[1:3], cols[3:])))
    combined = sa.union_all(*parts)
    names = list(AVERAGES)

    def fold(results) -> Figures:
        per_unit = counts_from(wanted, others, results[:len(others)])
        for k in own_keys:
            per_unit[k] = {}
        minutes: dict[str, list] = {name: [] for name in names}
        for row in results[-1]:
            part, unit_id, first, last, *values = row
            if part == 0:
                for k, n in zip(own_keys, values):
                    if n:
                        per_unit[k][unit_id] = n
            else:
                minutes[names[part - 1]].append((unit_id, first, last, *values[:4]))
        return Figures(per_unit, {name: working_minutes_from(r) for name, r in minutes.items()}, nodes, None)

    weights = [_weight(keys) for keys, _ in others] + [_weight(own_keys)]
    return Planned([stmt for _, stmt in others] + [combined], fold, weights)


def run_planned(*plans: Planned) -> list[Figures]:
    """Every query of the plans at once (queries.run_many: one snapshot, several
    connections), folded plan by plan."""
    report_settings()
    results = run_many([stmt for plan in plans for stmt in plan.statements],
                       [w for plan in plans for w in plan.weights])
    out, at = [], 0
    for plan in plans:
        out.append(plan.fold(results[at:at + len(plan.statements)]))
        at += len(plan.statements)
    return out


def figure_ids(keys, p: Period, d: Definitions, nodes: list[UnitNode] | None = None, *,
               averages: bool = True, ids: bool = True) -> Figures:
    """The figures of `keys`: with `ids`, the item ids behind each (a snapshot's, a
    drill-down's) and the counts their lengths; without, the counts alone, counted in the
    database over the same rows by the same predicates."""
    return run_planned(plan_figures(keys, p, d, nodes, averages=averages, ids=ids))[0]


# --- working minutes of a figure's rows, summed in the database ---------------------------
class seconds_of_day(FunctionElement):
    """Seconds since midnight of a timestamp (with its fraction), on PostgreSQL and SQLite."""

    type = sa.Float()
    name = "seconds_of_day"
    inherit_cache = True


@compiles(seconds_of_day)
def _sod_pg(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM CAST({compiler.process(element.clauses, **kw)} AS TIME))"


@compiles(seconds_of_day, "sqlite")
def _sod_sqlite(element, compiler, **kw):
    col = compiler.process(element.clauses, **kw)
    return (f"(CAST(substr({col}, 12, 2) AS INTEGER) * 3600 + CAST(substr({col}, 15, 2) AS INTEGER) * 60"
            f" + CAST(substr({col}, 18) AS REAL))")


class whole_minutes(FunctionElement):
    """floor(seconds / 60) of a non-negative number of seconds, as an integer."""

    type = sa.Integer()
    name = "whole_minutes"
    inherit_cache = True


@compiles(whole_minutes)
def _wm_pg(element, compiler, **kw):
    return f"CAST(floor(({compiler.process(element.clauses, **kw)}) / 60) AS INTEGER)"


@compiles(whole_minutes, "sqlite")
def _wm_sqlite(element, compiler, **kw):
    return f"CAST(({compiler.process(element.clauses, **kw)}) / 60 AS INTEGER)"


def working_minutes_statement(basis: str, start: str, end: str, p: Period, d: Definitions, c=None) -> sa.Select:
    """The sums working_minutes_from() needs, over the rows of figure `basis` with a
    `start` and an `end` moment: {unit_id: the sum of WorkCalendar.working_minutes_between
    (start, end)}, exactly, without a row in Python.

    The calendar counts, per working day between the two moments, the whole minutes of
    their overlap with the working hours. So a row spanning several days is its first
    day's minutes (from the start to closing time) + its last day's (opening time to the
    end) + a full day per working day between; a row within one day, the minutes between
    the two. The database sums those parts per (unit, first day, last day); the calendar
    then says which of those days are working days."""
    cal = calendar()
    c = c if c is not None else counted(METRICS[basis].family, p, d).c
    lo, hi = (t.hour * 3600 + t.minute * 60 + t.second for t in (cal.day_start, cal.day_end))

    def clamp(moment):
        sec = seconds_of_day(moment)
        return sa.case((sec < lo, lo), (sec > hi, hi), else_=sec)

    s, e = clamp(c[start]), clamp(c[end])
    first_day, last_day = day_of(c[start]).label("first_day"), day_of(c[end]).label("last_day")
    cond = condition(basis, c, p, d)
    return (sa.select(c.unit_id, first_day, last_day, sa.func.count(),
                      sa.func.sum(whole_minutes(hi - s)), sa.func.sum(whole_minutes(e - lo)),
                      sa.func.sum(whole_minutes(sa.case((e > s, e - s), else_=0))))
            .where(c.unit_id.is_not(None), c[end].is_not(None), *([cond] if cond is not None else []))
            .group_by(c.unit_id, first_day, last_day))


def working_minutes(basis: str, start: str, end: str, p: Period, d: Definitions) -> dict[int, int]:
    """{unit_id: working minutes from `start` to `end`} summed over the rows of figure `basis`."""
    return working_minutes_from(db.session.connection().execute(working_minutes_statement(basis, start, end, p, d)))


def working_minutes_from(rows) -> dict[int, int]:
    """{unit_id: working minutes} from working_minutes_statement()'s rows."""
    rows = [r for r in rows if r[2] >= r[1]]
    if not rows:
        return {}
    cal = calendar()
    full = cal.minutes_per_day
    # working days before each day of the rows' span, so a row's days between are a subtraction
    lo, hi = min(r[1] for r in rows), max(r[2] for r in rows)
    workday = [cal.is_workday(lo + timedelta(days=i)) for i in range((hi - lo).days + 1)]
    before = [0]
    for w in workday:
        before.append(before[-1] + w)
    out: dict[int, int] = {}
    for unit_id, first, last, n, head, tail, within in rows:
        f, t = (first - lo).days, (last - lo).days
        if f == t:
            minutes = within if workday[f] else 0
        else:
            between = before[t] - before[f + 1]  # working days strictly between first and last
            minutes = (head if workday[f] else 0) + (tail if workday[t] else 0) + full * n * between
        out[unit_id] = out.get(unit_id, 0) + int(minutes)
    return out


def average_hours(minutes: int, n: int) -> Fraction | None:
    return Fraction(minutes, 60 * n) if n else None
