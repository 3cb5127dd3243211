"""Which unit a ticket should go to: the most specific routing rule for its category
(or an ancestor category) and district.

The rules, the category tree and the units' active flags come from the per-process
reference cache (hotline.refcache): choosing a rule is a walk up the cached category
chain with two dictionary look-ups per level, no SQL. Only a caller that acts on the
choice (dispatch, the pages' and API's explanation) loads the rule and units as ORM
objects, by id.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hotline import refcache
from hotline.extensions import db
from hotline.routing.models import RoutingRule
from hotline.units.models import Unit


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
    """The category and its ancestors, nearest first (from the cached tree)."""
    cats = refcache.categories()
    chain, seen = [], set()
    cat = cats.get(category_id)
    while cat is not None and cat.id not in seen:
        chain.append(cat.id)
        seen.add(cat.id)
        cat = cats.get(cat.parent_id) if cat.parent_id is not None else None
    return chain


def matching_rule(category_id: int, district_id: int | None) -> refcache.RuleRef | None:
    """The most specific active rule: the nearest category in the chain first, and at the
    same category a rule for the district before one for any district."""
    rules = refcache.routing_rules()
    if not rules:
        return None
    for cid in _category_chain(category_id):
        rule = (rules.get((cid, district_id)) if district_id is not None else None) or rules.get((cid, None))
        if rule is not None:
            return rule
    return None


def certain_match(category_id: int, district_id: int | None) -> refcache.RuleRef | None:
    """The matching rule when it is certain and its lead unit active (auto-dispatch may
    use it), without loading anything."""
    rule = matching_rule(category_id, district_id)
    if rule is None or not rule.certain:
        return None
    lead = refcache.unit(rule.lead_unit_id)
    return rule if lead is not None and lead.active else None


def suggest(category_id: int, district_id: int | None) -> Suggestion:
    ref = matching_rule(category_id, district_id)
    if ref is None:
        return Suggestion(None, None)
    rule = db.session.get(RoutingRule, ref.id)
    if rule is None:  # deleted since the snapshot was read
        return Suggestion(None, None)
    units = refcache.units()
    cos = [db.session.get(Unit, uid) for uid in rule.co_unit_ids or [] if uid in units and units[uid].active]
    return Suggestion(rule, rule.lead_unit, [u for u in cos if u is not None])


AUTO_DISPATCH_KEY = "auto_dispatch"


def auto_dispatch_enabled() -> bool:
    """The admin's setting: dispatch tickets whose routing rule is certain on intake."""
    return refcache.setting_text(AUTO_DISPATCH_KEY) == "1"
