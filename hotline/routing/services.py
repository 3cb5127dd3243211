"""Which unit a ticket should go to: the most specific routing rule for its category
(or an ancestor category) and district."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from hotline.admin.models import Setting
from hotline.categories.models import Category
from hotline.units.models import Unit
from hotline.extensions import db
from hotline.routing.models import RoutingRule


@dataclass
class Suggestion:
    rule: RoutingRule | None
    lead: Unit | None
    co_units: list[Unit] = field(default_factory=list)

    @property
    def certain(self) -> bool:
        return bool(self.rule and self.rule.certain and self.lead and self.lead.active)

    @property
    def explanation(self) -> str:
        if self.rule is None:
            return "没有匹配的派单规则，请人工选择承办单位"
        where = self.rule.district.name if self.rule.district else "全市"
        kind = "确定规则" if self.rule.certain else "建议规则"
        return f"依据{kind}：{self.rule.category.full_name} × {where} → {self.rule.lead_unit.name}"


def _category_chain(category_id: int) -> list[int]:
    """The category and its ancestors, nearest first."""
    chain, seen = [], set()
    cat = db.session.get(Category, category_id)
    while cat is not None and cat.id not in seen:
        chain.append(cat.id)
        seen.add(cat.id)
        cat = cat.parent
    return chain


def suggest(category_id: int, district_id: int | None) -> Suggestion:
    chain = _category_chain(category_id)
    if not chain:
        return Suggestion(None, None)
    rules = db.session.scalars(sa.select(RoutingRule).where(
        RoutingRule.active.is_(True), RoutingRule.category_id.in_(chain),
        sa.or_(RoutingRule.district_id.is_(None), RoutingRule.district_id == district_id))).all()
    if not rules:
        return Suggestion(None, None)
    depth = {cid: i for i, cid in enumerate(chain)}
    rules.sort(key=lambda r: (depth[r.category_id], r.district_id is None))
    rule = rules[0]
    cos = [u for u in (db.session.get(Unit, uid) for uid in rule.co_unit_ids or []) if u is not None and u.active]
    return Suggestion(rule, rule.lead_unit, cos)


AUTO_DISPATCH_KEY = "auto_dispatch"


def auto_dispatch_enabled() -> bool:
    """The admin's setting: dispatch tickets whose routing rule is certain on intake."""
    row = db.session.get(Setting, AUTO_DISPATCH_KEY)
    return row is not None and row.value == "1"
