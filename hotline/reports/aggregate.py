"""Counting figures per unit in SQL and rolling them up the unit tree."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from hotline.admin.models import Unit
from hotline.enums import UnitKind
from hotline.extensions import db
from hotline.reports.metrics import METRICS, Period


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


def figures(keys, period: Period, nodes: list[UnitNode] | None = None) -> tuple[dict, dict]:
    """({key: {unit_id: own}}, {key: {unit_id: rolled up}})."""
    nodes = nodes if nodes is not None else unit_nodes()
    own = {k: counts_by_unit(k, period) for k in keys}
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
