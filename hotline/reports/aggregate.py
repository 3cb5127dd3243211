"""Figures per unit and up the unit tree, with the ids behind each number.

`figure_ids` turns collected rows into {key: {unit_id: [item ids]}} (the unit's own); a
unit's figure in a report is the number of ids of it and every unit below it, so the
drill-down of any cell is the union of those lists and its length is the number shown.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import sqlalchemy as sa

from hotline.deadlines.services import calendar
from hotline.enums import UnitKind
from hotline.extensions import db
from hotline.reports.definitions import Definitions
from hotline.reports.metrics import Period, collect
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
    """Item ids per figure per unit (own), the sums of working minutes for the averages, and
    roll-ups on demand."""

    ids: dict[str, dict[int, list[int]]]
    minutes: dict[str, dict[int, int]]
    nodes: list[UnitNode]

    def own(self, key: str, unit_id: int) -> int:
        return len(self.ids[key].get(unit_id, ()))

    def rolled(self, key: str) -> dict[int, int]:
        by_id = {n.id: n for n in self.nodes}
        total: dict[int, int] = {}
        for uid, items in self.ids[key].items():
            node = by_id.get(uid)
            for anc in (node.ancestors if node else [uid]):
                total[anc] = total.get(anc, 0) + len(items)
        return total

    def rolled_minutes(self, key: str) -> dict[int, int]:
        by_id = {n.id: n for n in self.nodes}
        total: dict[int, int] = {}
        for uid, m in self.minutes.get(key, {}).items():
            node = by_id.get(uid)
            for anc in (node.ancestors if node else [uid]):
                total[anc] = total.get(anc, 0) + m
        return total

    def city(self, key: str) -> int:
        return sum(len(v) for v in self.ids[key].values())

    def city_minutes(self, key: str) -> int:
        return sum(self.minutes.get(key, {}).values())


#: Averages: (sum of working minutes key, its basis figure, the row's start and end fields)
AVERAGES = {"sign_minutes": ("signed", "at", "signed_at"), "handle_minutes": ("answered", "at", "replied_at")}


def figure_ids(keys, p: Period, d: Definitions, nodes: list[UnitNode] | None = None, *,
               averages: bool = True) -> Figures:
    nodes = nodes if nodes is not None else unit_nodes()
    keys = list(keys)
    averages = averages and "received" in keys
    wanted = keys + [b for b, _, _ in AVERAGES.values() if b not in keys and averages]
    per, _ = collect(wanted, p, d)
    ids = {k: {uid: sorted({r.item_id for r in rows}) for uid, rows in per[k].items()} for k in wanted}
    minutes: dict[str, dict[int, int]] = {}
    if averages:
        cal = calendar()
        for name, (basis, start, end) in AVERAGES.items():
            minutes[name] = {uid: sum(cal.working_minutes_between(getattr(r, start), getattr(r, end)) for r in rows)
                             for uid, rows in per[basis].items()}
    return Figures(ids, minutes, nodes)


def average_hours(minutes: int, n: int) -> Fraction | None:
    return Fraction(minutes, 60 * n) if n else None
