"""Counting figures per unit in SQL and rolling them up the unit tree."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from hotline.units.models import Unit
from hotline.enums import UnitKind
from hotline.extensions import db
from hotline.reports.metrics import FAMILIES, METRICS, Period


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
                              .where(Unit.active.is_(True)).order_by(Unit.path)).all()
    return [UnitNode(r.id, r.name, r.level, r.path, r.kind.value if hasattr(r.kind, "value") else r.kind)
            for r in rows]


def counts_by_unit(key: str, period: Period) -> dict[int, int]:
    rows = METRICS[key].rows(period).subquery()
    stmt = sa.select(rows.c.unit_id, sa.func.count()).group_by(rows.c.unit_id)
    return {uid: n for uid, n in db.session.execute(stmt) if uid is not None}


def rolled_up(own: dict[int, int], nodes: list[UnitNode]) -> dict[int, int]:
    """Each unit's figure plus everything below it (a street's into its district ...)."""
    by_id = {n.id: n for n in nodes}
    total: dict[int, int] = {}
    for uid, n in own.items():
        node = by_id.get(uid)
        for anc in (node.ancestors if node else [uid]):
            total[anc] = total.get(anc, 0) + n
    return total


def counts_by_family(family: str, keys: list[str], period: Period,
                     aggregates: dict | None = None) -> dict[str, dict[int, int]]:
    """The figures of one family in one scan: COUNT(*) FILTER (WHERE extra) per figure,
    plus any other `aggregates` {name: SQL aggregate} over the same rows."""
    aggregates = aggregates or {}
    base = FAMILIES[family](period)
    unit_col = base.selected_columns[0]
    cols = [sa.func.count().filter(METRICS[k].extra(period)) if METRICS[k].extra is not None else sa.func.count()
            for k in keys] + list(aggregates.values())
    keys = list(keys) + list(aggregates)
    out: dict[str, dict[int, int]] = {k: {} for k in keys}
    for row in db.session.execute(base.with_only_columns(unit_col, *cols).group_by(unit_col)):
        if row[0] is None:
            continue
        for k, n in zip(keys, row[1:]):
            if n:
                out[k][row[0]] = n
    return out


def figures(keys, period: Period, nodes: list[UnitNode] | None = None,
            aggregates: dict[str, dict] | None = None) -> tuple[dict, dict]:
    """({key: {unit_id: own}}, {key: {unit_id: rolled up}}); `aggregates` adds
    {family: {name: SQL aggregate}} computed in that family's scan."""
    nodes = nodes if nodes is not None else unit_nodes()
    aggregates = aggregates or {}
    by_family: dict[str, list[str]] = {}
    for k in keys:
        by_family.setdefault(METRICS[k].family, []).append(k)
    for family in aggregates:
        by_family.setdefault(family, [])
    own: dict[str, dict[int, int]] = {}
    for family, fkeys in by_family.items():
        own.update(counts_by_family(family, fkeys, period, aggregates.get(family)))
    return own, {k: rolled_up(v, nodes) for k, v in own.items()}


def centre_id(nodes: list[UnitNode]) -> int | None:
    return next((n.id for n in nodes if n.kind == UnitKind.CENTRE.value), None)


def drill_condition(key: str, period: Period, unit_id: int | None):
    """Ticket ids behind a figure, for the unit and everything below it (None: city)."""
    rows = METRICS[key].rows(period).subquery()
    stmt = sa.select(rows.c.ticket_id)
    if unit_id:
        unit = db.session.get(Unit, int(unit_id))
        if unit is not None:
            stmt = stmt.where(rows.c.unit_id.in_(sa.select(Unit.id).where(Unit.path.startswith(unit.path))))
    return stmt
